/**
 * Prints `<machine>: N/T transitions covered` for every machine under machines/, from what
 * the generated model tests recorded (coverage/transitions/<id>.json), and exits non-zero
 * when any transition of any machine is not covered or a machine has no model test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadMachines } from './load-machines.js';
import { allTransitions } from './machine-graph.js';

const coverageDir = new URL('../coverage/transitions/', import.meta.url);
const machines = await loadMachines();

let ok = machines.length > 0;
for (const machine of machines) {
  const keys = allTransitions(machine).map((t) => t.key);
  const file = new URL(`${machine.id}.json`, coverageDir);
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { covered: string[] }).covered : [];
  const covered = new Set(recorded);
  const missing = allTransitions(machine).filter((t) => !covered.has(t.key));
  console.log(`${machine.id}: ${keys.length - missing.length}/${keys.length} transitions covered`);
  for (const t of missing) console.log(`  not covered: ${t.label}`);
  if (missing.length > 0) ok = false;
}
if (machines.length === 0) console.log('no machines found under machines/');
process.exit(ok ? 0 : 1);
