/**
 * `npx tsx bench/profile-top.ts <file.cpuprofile> [count]`: where a V8 CPU profile of the
 * proxy spent its busy time (idle excluded): by package or source file, by function (self
 * time), and by function including its callees.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { repoDir } from './support/processes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, countArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-top.ts <file.cpuprofile> [count]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const count = Number(countArg ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const isIdle = (id: number) => byId.get(id)?.callFrame.functionName === '(idle)';
const busyUs = [...selfUs].reduce((sum, [id, us]) => (isIdle(id) ? sum : sum + us), 0);

const path = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  return url.startsWith('/') ? relative(repoDir, url) : url;
};
const fn = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${path(n) || '(native)'}`;
/** node_modules/<package>, node:<module>, or the repository file. */
const area = (n: ProfileNode) => {
  const p = path(n);
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p);
  if (inModules) return inModules[1] as string;
  return p || n.callFrame.functionName || '(native)';
};

function tally(key: (n: ProfileNode) => string, inclusive: boolean): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (isIdle(id)) continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = inclusive ? parentOf.get(at) : undefined) {
      const node = byId.get(at);
      if (!node) break;
      const k = key(node);
      if (seen.has(k) || (inclusive && node.callFrame.functionName === '(root)')) continue;
      seen.add(k);
      totals.set(k, (totals.get(k) ?? 0) + us);
    }
  }
  return totals;
}

const print = (title: string, totals: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(
      `${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`,
    );
  }
};
process.stdout.write(`${file}: ${(busyUs / 1e6).toFixed(2)} s busy (idle excluded)\n`);
print('self time by package or file', tally(area, false));
print('self time by function', tally(fn, false));
print('inclusive time by function', tally(fn, true));
