import { readdirSync } from 'node:fs';
import { type AnyStateMachine, StateMachine } from 'xstate';

/** Every machine exported by machines/*.machine.ts, in file order. */
export async function loadMachines(): Promise<AnyStateMachine[]> {
  const dir = new URL('../machines/', import.meta.url);
  const machines: AnyStateMachine[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.machine.ts'))
    .sort()) {
    const module = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) if (value instanceof StateMachine) machines.push(value);
  }
  return machines;
}
