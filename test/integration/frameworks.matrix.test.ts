/**
 * The compatibility matrix (issue #19, "In front of real servers"): real MCP server frameworks
 * from npm (test/support/frameworks/), each checked directly with the official SDK 1.x client
 * and through mcp-shepherd, with a TCP relay in front of the server that the checks cut. The
 * whole matrix runs once, a few servers at a time; it is written to .artifacts/compatibility.md
 * (`npm run docs` copies it to docs/compatibility.md) whatever the outcome, then asserted:
 *
 * 1. through the proxy every check passes that passes directly;
 * 2. through the proxy the restart check passes for every server that keeps sessions, and the
 *    cut check for every server that keeps sessions and is resumable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { frameworks } from '../support/frameworks/index.js';
import { type CompatibilityResults, checks, runServer } from '../support/frameworks/matrix.js';
import { probe } from '../support/frameworks/probe.js';
import { renderReport, type ServerRun, violations } from '../support/frameworks/report.js';

const ARTIFACTS = new URL('../../.artifacts/', import.meta.url);
/** Servers run at once; each runs its checks one after the other. */
const CONCURRENCY = 3;
/** The slowest kinds first, so that the others fill in around them. */
const ORDER = ['fastmcp', 'server-everything'];

const runs = new Map<string, ServerRun>();

async function runOne(entry: (typeof frameworks)[number]): Promise<ServerRun> {
  const started = Date.now();
  const failed = (what: string, error: unknown): ServerRun => ({
    name: entry.name,
    error: `${what}: ${error instanceof Error ? error.message : String(error)}`,
    ms: Date.now() - started,
  });
  let server: Awaited<ReturnType<typeof entry.start>>;
  try {
    server = await entry.start();
  } catch (error) {
    return failed('did not start', error);
  }
  let run: ServerRun;
  try {
    const observed = await probe(server);
    // Every matrix check on both paths: the full row.
    const results = (await runServer(server)) as CompatibilityResults;
    const { restart: _restart, close: _close, ...info } = server;
    run = { name: entry.name, server: info, observed, results, ms: Date.now() - started };
  } catch (error) {
    run = failed('the matrix broke off', error);
  }
  try {
    await server.close();
  } catch (error) {
    run = { ...run, error: `did not close: ${error instanceof Error ? error.message : String(error)}` };
  }
  return run;
}

beforeAll(async () => {
  const started = Date.now();
  const queue = [...frameworks].sort((a, b) => (ORDER.indexOf(a.name) + 1 || 99) - (ORDER.indexOf(b.name) + 1 || 99));
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) runs.set(entry.name, await runOne(entry));
    }),
  );
  const ordered = frameworks.map((f) => runs.get(f.name)).filter((run): run is ServerRun => run !== undefined);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(
    new URL('compatibility.md', ARTIFACTS),
    renderReport(ordered, {
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      ms: Date.now() - started,
    }),
  );
}, 120_000);

describe.each(frameworks.map((f) => f.name))('%s', (name) => {
  const run = () => {
    const found = runs.get(name);
    if (!found?.server || !found.results || found.error) throw new Error(`${name}: ${found?.error ?? 'no result'}`);
    return found;
  };
  const describeViolations = (rule: 1 | 2) =>
    violations(run())
      .filter((v) => v.rule === rule)
      .map(
        (v) =>
          `${checks.find((c) => c.id === v.check)?.title} through the proxy: ${v.proxy.status} ${v.proxy.detail ?? ''}`,
      );

  it('starts and runs every check on both paths', () => {
    const { results } = run();
    for (const check of checks) {
      expect(results?.[check.id]?.direct?.status).toMatch(/^(pass|fail|n\/a)$/);
      expect(results?.[check.id]?.proxy?.status).toMatch(/^(pass|fail|n\/a)$/);
    }
  });

  it('(1) through the proxy, passes every check that passes directly', () => {
    expect(describeViolations(1)).toEqual([]);
  });

  it('(2) through the proxy, survives the cut (resumable servers) and the restart (servers that keep sessions)', () => {
    expect(describeViolations(2)).toEqual([]);
  });
});
