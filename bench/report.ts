/**
 * `npx tsx bench/report.ts [bench/results/<date>.json]`: a run's figures as the Markdown of
 * docs/benchmarks.md ("Latest figures"), so the docs quote a real run, typed by nobody.
 * `npx tsx bench/report.ts --compare <before.json> <after.json>`: the figures a change
 * moved, side by side (docs/benchmarks.md, "What the profiles showed").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir } from './support/processes.js';

/** The value at a dotted path of parsed JSON, for printing. */
function at(value: unknown, path: string): string {
  let current: unknown = value;
  for (const key of path.split('.')) current = (current as Record<string, unknown> | undefined)?.[key];
  if (current === undefined || current === null) return '–';
  return typeof current === 'number' ? String(current) : String(current);
}

const latestFull = () => {
  const files = readdirSync(join(benchDir, 'results'))
    .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
    .sort();
  const last = files.at(-1);
  if (!last) throw new Error('no full run in bench/results/');
  return join(benchDir, 'results', last);
};

/** The figures that say what the proxy costs, as [label, dotted path under results]. */
const COMPARED: ReadonlyArray<[string, string]> = [
  ['rpc c32: throughput, proxy / direct', 'rpc.figures.c32.proxyThroughputVsDirect'],
  ['rpc c32: proxy CPU per request (µs)', 'rpc.figures.c32.proxy.cpuUsPerRequest'],
  ['rpc c1: proxy CPU per request (µs)', 'rpc.figures.c1.proxy.cpuUsPerRequest'],
  ['rpc c1: added latency p50 (ms)', 'rpc.figures.c1.addedLatencyMs.proxy.p50'],
  ['sse: events/s, proxy / direct', 'sse.figures.proxyVsDirect'],
  ['sse: proxy CPU per event (µs)', 'sse.figures.proxy.cpuUsPerEvent'],
  ['sessions: sessions/s, proxy / direct', 'sessions.figures.sessionsPerSecond.proxyVsDirect'],
  ['sessions: proxy CPU per session opened (ms)', 'sessions.figures.proxyCpuMsPerSessionOpened'],
  ['sessions: heap per open session (KB)', 'sessions.figures.perSessionKB.heap'],
  ['sessions hold: sessions held at once', 'sessions.figures.hold.sessions'],
  ['sessions hold: RSS per session (KB)', 'sessions.figures.hold.perSessionKB.rss'],
  ['resume: median cut to next event (ms)', 'resume.figures.cutToNextEventMs.p50'],
  ['stdio: throughput, mcp-shepherd / mcp-proxy', 'stdio.figures.shepherdVsMcpProxy'],
  ['stdio: CPU per request (µs)', 'stdio.figures.mcp-shepherd.cpuUsPerRequest'],
];

if (process.argv[2] === '--compare') {
  const [before, after] = [process.argv[3], process.argv[4]].map((f) => {
    if (!f) throw new Error('usage: bench/report.ts --compare <before.json> <after.json>');
    return { name: f.split('/').at(-1) as string, run: JSON.parse(readFileSync(f, 'utf8')) as unknown };
  }) as [{ name: string; run: unknown }, { name: string; run: unknown }];
  const commit = (run: unknown) => at(run, 'source.commit');
  process.stdout.write(
    `| figure | before (\`${before.name}\`, ${commit(before.run)}) | after (\`${after.name}\`, ${commit(after.run)}) |\n| --- | --- | --- |\n` +
      COMPARED.map(
        ([label, path]) => `| ${label} | ${at(before.run, `results.${path}`)} | ${at(after.run, `results.${path}`)} |`,
      ).join('\n') +
      '\n',
  );
  process.exit(0);
}

const file = process.argv[2] ?? latestFull();
const run = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const r = (path: string) => at(run, `results.${path}`);
const lines: string[] = [];
const out = (line = '') => lines.push(line);

out(
  `Run of ${at(run, 'date').slice(0, 16).replace('T', ' ')} UTC (${at(run, 'durationS')} s), \`${file.split('/').at(-1)}\`:`,
);
out(
  `${at(run, 'machine.cpuModel')}, ${at(run, 'machine.cores')} cores, ${at(run, 'machine.memoryGiB')} GiB, Node ${at(run, 'machine.node')}, ` +
    `load average ${at(run, 'machine.loadAverageAtStart')} at the start (the machine is shared); commit ${at(run, 'source.commit')}` +
    `${(run.source as { uncommitted?: string[] } | undefined)?.uncommitted?.length ? ' with uncommitted changes in src/ or machines/' : ''}.`,
);
out();
out(`Summary line: \`${JSON.stringify(run.summary)}\``);
out();
out('| target | measured | met |');
out('| --- | --- | --- |');
for (const scenario of Object.values(run.results as Record<string, { targets?: unknown[]; error?: string }>)) {
  for (const t of (scenario.targets ?? []) as Array<{ target: string; measured: string; met: boolean }>) {
    out(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  }
}
out();
out('rpc (medians over rounds; latency in ms; CPU in µs per request of the process in the path):');
out();
out('| concurrency | subject | requests/s | p50 | p99 | added p50 | added p99 | CPU/request |');
out('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const c of ['c1', 'c32']) {
  for (const s of ['direct', 'nginx', 'proxy']) {
    const added =
      s === 'direct'
        ? ['–', '–']
        : [r(`rpc.figures.${c}.addedLatencyMs.${s}.p50`), r(`rpc.figures.${c}.addedLatencyMs.${s}.p99`)];
    const cpu = s === 'direct' ? '–' : r(`rpc.figures.${c}.${s}.cpuUsPerRequest`);
    out(
      `| ${c.slice(1)} | ${s} | ${r(`rpc.figures.${c}.${s}.throughput`)} | ${r(`rpc.figures.${c}.${s}.p50`)} | ${r(`rpc.figures.${c}.${s}.p99`)} | ${added[0]} | ${added[1]} | ${cpu} |`,
    );
  }
}
out();
out(
  `sse (${r('sse.figures.notifications')} notifications): direct ${r('sse.figures.direct.eventsPerSecond')} events/s, ` +
    `nginx ${r('sse.figures.nginx.eventsPerSecond')}, proxy ${r('sse.figures.proxy.eventsPerSecond')} ` +
    `(proxy CPU ${r('sse.figures.proxy.cpuUsPerEvent')} µs per event).`,
);
out();
out(
  `sessions (${r('sessions.figures.sessions')}, ${r('sessions.figures.parallel')} at a time): direct ${r('sessions.figures.sessionsPerSecond.direct')}/s, ` +
    `proxy ${r('sessions.figures.sessionsPerSecond.proxy')}/s; proxy CPU ${r('sessions.figures.proxyCpuMsPerSessionOpened')} ms per session opened; ` +
    `${r('sessions.figures.perSessionKB.rss')} KB RSS and ${r('sessions.figures.perSessionKB.heap')} KB heap per open session; ` +
    `proxy baseline RSS ${r('sessions.figures.proxyMemoryMB.baseline.rss')} MB / heap ${r('sessions.figures.proxyMemoryMB.baseline.heapUsed')} MB, ` +
    `after the last close ${r('sessions.figures.proxyMemoryMB.afterClose.rss')} MB / ${r('sessions.figures.proxyMemoryMB.afterClose.heapUsed')} MB. ` +
    `Hold: ${r('sessions.figures.hold.sessions')} sessions open at once (no client stream), ` +
    `${r('sessions.figures.hold.perSessionKB.rss')} KB RSS and ${r('sessions.figures.hold.perSessionKB.heap')} KB heap per session, ` +
    `opened in ${r('sessions.figures.hold.openSeconds')} s, closed in ${r('sessions.figures.hold.closeSeconds')} s.`,
);
out();
out(
  `resume (${r('resume.figures.cuts')} cuts, retry hint ${r('resume.figures.retryHintMs')} ms): cut to next event ` +
    `min ${r('resume.figures.cutToNextEventMs.min')}, p50 ${r('resume.figures.cutToNextEventMs.p50')}, ` +
    `p90 ${r('resume.figures.cutToNextEventMs.p90')}, max ${r('resume.figures.cutToNextEventMs.max')} ms; ` +
    `${r('resume.figures.lost')} lost, ${r('resume.figures.duplicated')} duplicated, ${r('resume.figures.outOfOrder')} out of order.`,
);
out();
out(`stdio (concurrency ${r('stdio.figures.concurrency')}; CPU in µs per request, bridge and its servers):`);
out();
out('| bridge | requests/s | p50 ms | p99 ms | CPU/request |');
out('| --- | --- | --- | --- | --- |');
for (const b of ['mcp-shepherd', 'mcp-proxy', 'supergateway']) {
  out(
    `| ${b} | ${r(`stdio.figures.${b}.throughput`)} | ${r(`stdio.figures.${b}.p50`)} | ${r(`stdio.figures.${b}.p99`)} | ${r(`stdio.figures.${b}.cpuUsPerRequest`)} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
