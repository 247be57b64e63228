/**
 * The SDK 1.x `Client` side by side with two transports, against real servers behind a TCP
 * relay the checks cut, freeze and make answer 503: the SDK's own
 * `StreamableHTTPClientTransport` (`direct`) and mcp-shepherd's client transport
 * (`embedded`). With mcp-shepherd's every check completes with every message once; what the
 * SDK's own transport loses is recorded in .artifacts/embedding.md (`npm run docs` copies it
 * to docs/embedding-figures.md), not asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cell, Path, ServerResults } from '../support/frameworks/matrix.js';
import { runServer } from '../support/frameworks/matrix.js';
import { resilienceChecks } from '../support/frameworks/resilience.js';
import { startSdk400 } from '../support/frameworks/sdk1.js';
import { startServerEverything } from '../support/frameworks/server-everything.js';

const ARTIFACTS = new URL('../../.artifacts/', import.meta.url);
const PATHS: Path[] = ['direct', 'embedded'];
/**
 * Short bounds, so the checks take seconds: a stall is seen after 0.4-0.8 s of silence, a
 * resume that brings nothing for its call is tried again after 1.5 s (server-everything's
 * event store, docs/compatibility.md).
 */
const EMBEDDED = {
  connection: {
    heartbeatTimeoutMs: 400,
    stallGraceMs: 200,
    resumeSilenceMs: 1_500,
    maxSilentResumes: 4,
    backoff: { baseMs: 100, jitter: 0 },
  },
};

const servers = [
  { name: 'sdk-400', start: startSdk400 },
  { name: 'server-everything', start: startServerEverything },
];
const results = new Map<string, { version: string; results: ServerResults; ms: number }>();

const cellText = (cell: Cell | undefined) =>
  cell === undefined
    ? '–'
    : `${cell.status === 'pass' ? 'pass' : `**${cell.status.toUpperCase()}**`} (${(cell.ms / 1000).toFixed(1)} s)`;

function report(): string {
  const lines = [
    "# Embedded sessions: the SDK client with its own transport and with mcp-shepherd's",
    '',
    '<!-- Written by test/integration/client-transport.resilience.test.ts into .artifacts/embedding.md and copied here by `npm run docs`; do not edit by hand. -->',
    '',
    `Run on ${new Date().toISOString().slice(0, 10)} with Node ${process.version}.`,
    '',
    "The SDK 1.x `Client` (fresh for every check), once with the SDK's own `StreamableHTTPClientTransport` (default options: it resumes a cut stream with GET + `Last-Event-ID` after 1 s, at most twice) and once with `createClientTransport(url, options)` from mcp-shepherd (heartbeat 0.4 s, stall grace 0.2 s, resume silence 1.5 s), each through a TCP relay in front of the server that the check cuts, freezes, or makes answer the next connections itself.",
    '',
    '| server | check | SDK transport | mcp-shepherd transport |',
    '| --- | --- | --- | --- |',
  ];
  const details: string[] = [];
  for (const [name, run] of results) {
    for (const check of resilienceChecks) {
      const row = run.results[check.id] ?? {};
      lines.push(`| ${name} | ${check.title} | ${cellText(row.direct)} | ${cellText(row.embedded)} |`);
      for (const path of PATHS) {
        const cell = row[path];
        if (cell?.status === 'fail') {
          const who = path === 'direct' ? 'SDK transport' : 'mcp-shepherd transport';
          details.push(`- ${name}, ${check.title}, ${who}: ${cell.detail ?? ''}`);
        }
      }
    }
  }
  const lost = [...results.values()].flatMap((run) =>
    resilienceChecks.filter((check) => run.results[check.id]?.direct?.status === 'fail'),
  ).length;
  const total = results.size * resilienceChecks.length;
  lines.push('', `The SDK's own transport lost ${lost} of ${total} cases; mcp-shepherd's lost ${lostEmbedded()}.`);
  if (details.length > 0) lines.push('', '## What went wrong', '', ...details);
  lines.push('', '## Servers', '');
  for (const [name, run] of results) lines.push(`- ${name}: ${run.version} (${(run.ms / 1000).toFixed(1)} s)`);
  return `${lines.join('\n')}\n`;
}

function lostEmbedded(): number {
  return [...results.values()].flatMap((run) =>
    resilienceChecks.filter((check) => run.results[check.id]?.embedded?.status !== 'pass'),
  ).length;
}

beforeAll(async () => {
  await Promise.all(
    servers.map(async (entry) => {
      const started = Date.now();
      const server = await entry.start();
      try {
        const run = await runServer(server, { checks: resilienceChecks, paths: PATHS, embedded: EMBEDDED });
        results.set(entry.name, { version: server.version, results: run, ms: Date.now() - started });
      } finally {
        await server.close();
      }
    }),
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(new URL('embedding.md', ARTIFACTS), report());
}, 120_000);

describe('the SDK client with mcp-shepherd as its transport', () => {
  for (const entry of servers) {
    for (const check of resilienceChecks) {
      it(`${entry.name}: ${check.title}`, () => {
        const cell = results.get(entry.name)?.results[check.id]?.embedded;
        expect(cell?.status, cell?.detail).toBe('pass');
      });
    }
  }
});
