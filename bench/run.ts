/**
 * `npm run bench [-- --quick] [-- --scenario rpc,sse] [-- --cpu-prof]`
 *
 * Runs the scenarios one after the other, each against baselines measured in the same run,
 * writes every figure to bench/results/<date>[-quick][-<scenarios>].json and prints one JSON
 * line last on stdout: { "<scenario>": <headline ratio>, ... }. Progress goes to stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cluster } from './scenarios/cluster.js';
import { resume } from './scenarios/resume.js';
import { rpc } from './scenarios/rpc.js';
import { sessions } from './scenarios/sessions.js';
import { sse } from './scenarios/sse.js';
import { stdio } from './scenarios/stdio.js';
import { describeMachine, describeSource } from './support/machine.js';
import { benchDir, openFileLimits } from './support/processes.js';
import type { Scenario, ScenarioResult } from './support/scenario.js';

const SCENARIOS: readonly Scenario[] = [rpc, sse, sessions, resume, stdio, cluster];

const usage = `npm run bench -- [--quick] [--scenario name[,name...]] [--cpu-prof]
  --quick      fewer rounds, shorter windows, smaller counts (about 2½ minutes in all)
  --scenario   only these: ${SCENARIOS.map((s) => s.name).join(', ')}
  --cpu-prof   the proxy writes a V8 CPU profile (see bench/profile-top.ts)
`;

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** 10 000 open streams need file descriptors: raise the soft limit to the hard one, by re-exec. */
function reexecWithRaisedFileLimit(): void {
  const { soft, hard } = openFileLimits();
  if (soft >= hard || process.env.BENCH_NOFILE_RAISED) return;
  log(`raising the open-files soft limit from ${soft} to ${hard} (the hard limit)`);
  const command = `ulimit -n ${hard} && exec "$0" "$@"`;
  const result = spawnSync('bash', ['-c', command, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_NOFILE_RAISED: '1' },
  });
  process.exit(result.status ?? 1);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const wanted = (values.scenario ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const unknown = wanted.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}\n${usage}`);
    return 2;
  }
  reexecWithRaisedFileLimit();
  const chosen = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  const quick = values.quick === true;
  const logDir = mkdtempSync(join(tmpdir(), 'mcp-shepherd-bench-'));
  const cpuProfDir = values['cpu-prof'] ? join(logDir, 'profiles') : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir);
  const machine = describeMachine();
  log(`${quick ? 'quick' : 'full'} run of ${chosen.map((s) => s.name).join(', ')}; logs in ${logDir}`);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadAverageAtStart}`);

  const started = Date.now();
  const results: Record<string, ScenarioResult | { error: string }> = {};
  const summary: Record<string, number | null> = {};
  const extra: Record<string, number> = {};
  for (const scenario of chosen) {
    log(`${scenario.name}: start`);
    const t0 = Date.now();
    try {
      const result = await scenario.run({ quick, logDir, cpuProfDir, log });
      results[scenario.name] = result;
      summary[scenario.name] = result.headline.ratio;
      Object.assign(extra, result.summary);
      log(
        `${scenario.name}: ${result.headline.ratio} (${result.headline.means}) in ${Math.round((Date.now() - t0) / 1000)} s`,
      );
      for (const t of result.targets) log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured}`);
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      results[scenario.name] = { error: message };
      summary[scenario.name] = null;
      log(`${scenario.name}: FAILED ${message}`);
    }
  }

  Object.assign(summary, extra);
  const date = new Date().toISOString().slice(0, 10);
  const suffix = `${quick ? '-quick' : ''}${wanted.length > 0 ? `-${chosen.map((s) => s.name).join('-')}` : ''}`;
  const file = join(benchDir, 'results', `${date}${suffix}.json`);
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    quick,
    durationS: Math.round((Date.now() - started) / 1000),
    machine,
    source: describeSource(),
    summary,
    results,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`figures written to ${file}`);
  const failed = Object.values(results).some((r) => 'error' in r);
  if (cpuProfDir) log(`CPU profiles in ${cpuProfDir} (npx tsx bench/profile-top.ts <file>)`);
  else if (!failed) rmSync(logDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
