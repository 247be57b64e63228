/**
 * `npm run conformance`: the official MCP conformance suite, directly and through mcp-shepherd.
 *
 * Server scenarios run against four set-ups in one run:
 *   direct         the conformance upstream (full: polls, refuses foreign hosts) on its own
 *   proxy          mcp-shepherd (the real command line, default options) in front of it
 *   proxy-polling  mcp-shepherd --sse-poll-ms 100 in front of the plain upstream, which
 *                  neither polls nor checks Host/Origin: what passes here, the proxy provides
 *   plain          the plain upstream on its own (shows what the proxy adds)
 * Client scenarios run the official SDK client through mcp-shepherd against the suite's own
 * test servers (and once without it, as the baseline). The 2026-07-28 client scenarios
 * (era-bridge.ts, the suite's 0.2.0-alpha line) run the SDK 2.x client directly as the
 * baseline and the SDK 1.x client through mcp-shepherd, which bridges it to the suite's
 * 2026-07-28 test servers. The 2026-07-28 server scenarios (era-bridge-server.ts) run against
 * mcp-shepherd in front of a 2025 session server (era-bridge-upstream.ts): the other direction.
 *
 * Prints one line per scenario and `conformance: direct P/T passed, via proxy P/T passed`,
 * writes .artifacts/conformance.md (`npm run docs` copies it to docs/), and exits 1 when the proxy fails anything that passes directly,
 * a scenario the proxy must provide fails, a client scenario fails through the proxy, or a
 * 2026-07-28 client scenario that passes directly fails through the proxy (unless it is in
 * BRIDGE_PENDING; one listed there that passes fails the run too), or a 2026-07-28 server
 * scenario fails through the proxy (unless it is in SERVER_BRIDGE_PENDING, likewise) or the
 * 2025 upstream behind them fails its own check.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { main as shepherd } from '../src/cli.js';
import { BRIDGE_PENDING, runClients2026, SPEC_2026 } from './era-bridge.js';
import { printServers2026, runServers2026, SERVER_BRIDGE_PENDING, servers2026Problems } from './era-bridge-server.js';
import { node22 } from './node22.js';
import { renderReport } from './report.js';
import { Suite, suiteVersion, type Verdict } from './suite.js';
import { startConformanceUpstream, type UpstreamKind } from './upstream.js';

interface Setup {
  name: 'direct' | 'proxy' | 'proxy-polling' | 'plain';
  label: string;
  upstream: UpstreamKind;
  /** mcp-shepherd's arguments, when it is in the path. */
  proxy?: string[];
}

export const SETUPS: Setup[] = [
  { name: 'direct', label: 'direct', upstream: 'full' },
  { name: 'proxy', label: 'via proxy', upstream: 'full', proxy: [] },
  {
    name: 'proxy-polling',
    label: 'via proxy --sse-poll-ms 100, plain upstream',
    upstream: 'plain',
    proxy: ['--sse-poll-ms', '100'],
  },
  { name: 'plain', label: 'plain upstream, direct', upstream: 'plain' },
];

/** Issue #6: these pass through the proxy even when the upstream does not do them itself. */
export const PROVIDED_BY_PROXY = ['dns-rebinding-protection', 'server-sse-polling', 'server-sse-multiple-streams'];
export const CLIENT_SCENARIOS = ['initialize', 'tools_call', 'sse-retry'];

/** Ignored by git, so a run leaves the working tree as it was; `npm run docs` refreshes docs/conformance.md from it. */
const ARTIFACTS = new URL('../.artifacts/', import.meta.url);
const REPORT = new URL('conformance.md', ARTIFACTS);

const log = (line: string) => process.stderr.write(`${line}\n`);

async function runSetup(suite: Suite, setup: Setup): Promise<Map<string, Verdict>> {
  const upstream = await startConformanceUpstream(setup.upstream);
  const proxy = setup.proxy
    ? await shepherd(['--upstream', upstream.urlVia(), '--port', '0', '--log-level', 'error', ...setup.proxy])
    : undefined;
  try {
    const url = proxy?.url ?? upstream.urlVia();
    log(`running the server scenarios: ${setup.label} (${url})`);
    return await suite.servers(url);
  } finally {
    await proxy?.stop('done');
    await upstream.close();
  }
}

async function main(): Promise<number> {
  const node = node22(log);
  const suite = new Suite(node);
  const scenarios = await suite.serverScenarios();
  const results = new Map<string, Map<string, Verdict>>();
  for (const setup of SETUPS) results.set(setup.name, await runSetup(suite, setup));
  const verdict = (setup: string, scenario: string): Verdict =>
    results.get(setup)?.get(scenario) ?? { passed: false, reason: 'the suite saved no result' };

  const client = (direct: boolean) =>
    `${process.execPath} --import tsx conformance/client.ts${direct ? ' --direct' : ''}`;
  const clients: { scenario: string; direct: Verdict; proxy: Verdict }[] = [];
  for (const scenario of CLIENT_SCENARIOS) {
    log(`running the client scenario ${scenario}`);
    clients.push({
      scenario,
      direct: await suite.client(scenario, client(true)),
      proxy: await suite.client(scenario, client(false)),
    });
  }

  const clients2026 = await runClients2026(node, log);
  const servers2026 = await runServers2026(node, log);

  const problems: string[] = [];
  const mark = (v: Verdict) => (v.passed ? 'pass' : 'FAIL');
  for (const scenario of scenarios) {
    const cells = SETUPS.map((setup) => `${setup.name} ${mark(verdict(setup.name, scenario))}`.padEnd(20));
    process.stdout.write(`${`${scenario.padEnd(32)} ${cells.join(' ')}`.trimEnd()}\n`);
    const direct = verdict('direct', scenario).passed;
    for (const setup of ['proxy', 'proxy-polling'] as const) {
      const result = verdict(setup, scenario);
      if (result.passed) continue;
      if (direct) problems.push(`${scenario} passes directly but fails ${setup}: ${result.reason}`);
      else if (PROVIDED_BY_PROXY.includes(scenario)) problems.push(`${scenario} fails ${setup}: ${result.reason}`);
    }
  }
  for (const { scenario, direct, proxy } of clients) {
    process.stdout.write(`client ${scenario.padEnd(25)} direct ${mark(direct).padEnd(13)} proxy ${mark(proxy)}\n`);
    if (!proxy.passed) problems.push(`client scenario ${scenario} fails through the proxy: ${proxy.reason}`);
  }
  for (const { scenario, direct, proxy } of clients2026) {
    process.stdout.write(
      `client@${SPEC_2026} ${scenario.padEnd(30)} direct ${mark(direct).padEnd(13)} proxy ${mark(proxy)}\n`,
    );
    const pending = BRIDGE_PENDING.get(scenario);
    if (pending !== undefined && proxy.passed) {
      problems.push(`client scenario ${scenario} at ${SPEC_2026} passes through the proxy: take it off BRIDGE_PENDING`);
    } else if (pending === undefined && direct.passed && !proxy.passed) {
      problems.push(
        `client scenario ${scenario} at ${SPEC_2026} passes directly but fails through the proxy: ${proxy.reason}`,
      );
    } else if (!direct.passed) {
      log(`note: client scenario ${scenario} at ${SPEC_2026} fails directly (SDK 2.x): ${direct.reason}`);
    }
  }

  printServers2026(servers2026, (line) => process.stdout.write(`${line}\n`));
  problems.push(...servers2026Problems(servers2026));

  const count = (setup: string) => scenarios.filter((s) => verdict(setup, s).passed).length;
  const total = scenarios.length;
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(
    REPORT,
    renderReport({
      suiteVersion: suiteVersion(),
      nextSuiteVersion: suiteVersion('next'),
      date: new Date().toISOString().slice(0, 10),
      setups: SETUPS,
      scenarios,
      verdict,
      clients,
      providedByProxy: PROVIDED_BY_PROXY,
      clients2026,
      bridgePending: BRIDGE_PENDING,
      servers2026,
      serverBridgePending: SERVER_BRIDGE_PENDING,
    }),
  );
  log('wrote .artifacts/conformance.md (`npm run docs` copies it to docs/conformance.md)');
  for (const problem of problems) log(`PROBLEM ${problem}`);
  const clientsPassed = clients.filter((c) => c.proxy.passed).length;
  const passed2026 = (where: 'direct' | 'proxy') => clients2026.filter((c) => c[where].passed).length;
  const servers2026Passed = servers2026.rows.filter((r) => r.proxy.passed).length;
  process.stdout.write(
    `conformance clients: via proxy ${clientsPassed}/${clients.length} passed\n` +
      `conformance clients at ${SPEC_2026} (era bridge): direct (SDK 2.x) ${passed2026('direct')}/${clients2026.length} passed, via proxy (SDK 1.x) ${passed2026('proxy')}/${clients2026.length} passed\n` +
      `conformance servers at ${SPEC_2026} (era bridge, 2025 upstream): via proxy ${servers2026Passed}/${servers2026.rows.length} passed\n` +
      `conformance: direct ${count('direct')}/${total} passed, via proxy ${count('proxy')}/${total} passed\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`conformance: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(2);
  },
);
