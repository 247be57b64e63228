/**
 * A machine's definition as JSON for diagrams: XState's `toJSON()` plus the eventless
 * (`always`) transitions it leaves out, in the same shape as its `on` transitions, so that
 * `idle → busy` or `terminating → deletingUpstream` appear in the live page and in
 * docs/machines/*.json alike.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

interface JsonNode {
  states?: Record<string, JsonNode>;
  always?: unknown[];
}

function guardName(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return undefined;
}

function addAlways(node: AnyStateNode, json: JsonNode): void {
  if (node.always && node.always.length > 0) {
    json.always = node.always.map((transition) => {
      const guard = guardName(transition.guard);
      return {
        ...(guard !== undefined ? { guard } : {}),
        source: `#${node.id}`,
        target: (transition.target ?? []).map((target) => `#${target.id}`),
        eventType: '',
      };
    });
  }
  for (const [key, child] of Object.entries(node.states)) {
    const childJson = json.states?.[key];
    if (childJson) addAlways(child, childJson);
  }
}

export function machineDefinition(machine: AnyStateMachine): unknown {
  const json = machine.toJSON() as JsonNode;
  addAlways(machine.root, json);
  return json;
}
