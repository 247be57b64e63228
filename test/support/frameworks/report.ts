/**
 * The compatibility report (`.artifacts/compatibility.md`, copied to docs/compatibility.md by
 * `npm run docs`): the matrix of server kinds × checks, directly and through mcp-shepherd,
 * what the test asserts of it, and each server's quirks.
 */
import { type Cell, type CompatibilityResults, checks, type MatrixCheckId } from './matrix.js';
import type { Observed } from './probe.js';
import type { FrameworkServer } from './types.js';

export interface ServerRun {
  name: string;
  /** Absent when the server did not start. */
  server?: Omit<FrameworkServer, 'restart' | 'close'>;
  results?: CompatibilityResults;
  observed?: Observed;
  /** Why it could not be run at all. */
  error?: string;
  ms: number;
}

/** A broken assertion: a cell that must pass through the proxy and does not. */
export interface Violation {
  server: string;
  check: MatrixCheckId;
  rule: 1 | 2;
  proxy: Cell;
}

/**
 * The test's two assertions: (1) through the proxy every check passes that passes directly;
 * (2) through the proxy the restart check passes for every server that keeps sessions, and the
 * cut check for every one that keeps sessions and is resumable (a server that gives its events
 * no ids has nothing to resume a cut stream from, for anyone).
 */
export function violations(run: ServerRun): Violation[] {
  const { server, results } = run;
  if (!server || !results) return [];
  const found: Violation[] = [];
  for (const check of checks) {
    const { direct, proxy } = results[check.id];
    if (proxy.status === 'pass') continue;
    const rule2 =
      (check.id === 'restart' && server.keepsSessions) ||
      (check.id === 'cut' && server.keepsSessions && server.resumable);
    if (rule2) found.push({ server: run.name, check: check.id, rule: 2, proxy });
    else if (direct.status === 'pass') found.push({ server: run.name, check: check.id, rule: 1, proxy });
  }
  return found;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const shorten = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/**
 * A markdown table with its columns padded, as the formatter (Biome) writes it, so that the
 * committed copy passes `npm run lint`. Cells are kept to printable ASCII so that their width
 * is their length.
 */
function table(headers: string[], rows: string[][]): string[] {
  const clean = (cell: string) => escapeCell(cell).replace(/[^\x20-\x7e]/g, '?');
  const body = [headers, ...rows].map((row) => row.map(clean));
  const widths = headers.map((_, i) => Math.max(3, ...body.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${widths.map((width, i) => (row[i] ?? '').padEnd(width)).join(' | ')} |`;
  const [head = [], ...rest] = body;
  return [line(head), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rest.map(line)];
}

function mark(cell: Cell): string {
  if (cell.status === 'pass') return 'pass';
  if (cell.status === 'n/a') return 'n/a';
  return '**FAIL**';
}

function detailed(cell: Cell): string {
  const detail = cell.detail ? `: ${shorten(cell.detail)}` : '';
  return `${mark(cell)}${detail}`;
}

const CHECK_TEXT: Record<MatrixCheckId, string> = {
  echo: '`tools/call` echo answers its text.',
  progress: "`count` n=3: three `notifications/progress` reach the caller's `onprogress` (1, 2, 3), then the result.",
  elicitation:
    "`confirm`: the server's elicitation request is answered by the client's handler and the answer comes back.",
  cut: '`count` n=5, 100 ms apart; after the 2nd progress notification the relay cuts every connection once. Passes when the call still resolves with its result and every progress notification arrived exactly once.',
  restart:
    'echo, then the server restarts (same port, every session lost, as a process restart), then echo again on the same client: it must answer.',
  isolation:
    'two clients call `count` at once (n=3 and n=4): each gets only its own progress (checked by `total`) and its own result.',
  'elicit-early': 'five fresh clients each connect and at once call `confirm`; all five must get their answer.',
};

export function renderReport(runs: ServerRun[], meta: { date: string; node: string; ms: number }): string {
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(
    '# Compatibility with MCP server frameworks',
    '',
    '<!-- Written by test/integration/frameworks.matrix.test.ts into .artifacts/compatibility.md and copied here by `npm run docs`; do not edit by hand. -->',
    '',
    `Run on ${meta.date} with Node ${meta.node}; the whole matrix took ${(meta.ms / 1000).toFixed(1)} s.`,
    '',
    'Each server kind is a real MCP server framework installed from npm, started by the test on a loopback port (test/support/frameworks/), with a TCP relay in front of it that the test can cut (test/support/tcp-relay.ts). Each check runs on two paths, with fresh clients each time:',
    '',
    '- **direct**: the official SDK 1.x `Client` + `StreamableHTTPClientTransport` (default options: it resumes a broken stream with GET + `Last-Event-ID` after 1 s) → relay → server;',
    '- **proxy**: the same client → mcp-shepherd (`createShepherd({ upstream: { url } })`, default options, a fresh one per check) → relay → server.',
    '',
    'Every check is bounded (a few seconds) and ends **pass**, **FAIL** (with the error) or **n/a** (the framework does not offer the feature to session-era clients).',
    '',
  );
  const yes = (value: boolean) => (value ? 'yes' : 'no');
  push(
    ...table(
      ['server', 'package', 'keeps sessions', 'resumable (SSE ids)', 'GET stream'],
      runs.map(({ name, server: s, error }) =>
        s
          ? [name, s.version, yes(s.keepsSessions), yes(s.resumable), yes(s.supports.standaloneStream)]
          : [name, shorten(error ?? 'did not run'), '', '', ''],
      ),
    ),
  );

  push('', '## Matrix', '', 'Each cell: direct / proxy.', '');
  push(
    ...table(
      ['server', ...checks.map((c) => c.title.split(' ')[0]?.replace('.', '') ?? c.id)],
      runs.map(({ name, results }) => [
        name,
        ...checks.map((c) => (results ? `${mark(results[c.id].direct)} / ${mark(results[c.id].proxy)}` : 'not run')),
      ]),
    ),
  );
  push('', 'The checks:', '');
  for (const check of checks) push(`- **${check.title}**: ${CHECK_TEXT[check.id]}`);

  const broken = runs.flatMap(violations);
  push(
    '',
    '## What the test asserts',
    '',
    '1. Through the proxy, every check passes that passes directly.',
    '2. Through the proxy, the restart check (e) passes for every server that keeps sessions, and the cut check (d) for every server that keeps sessions and is resumable: a server whose SSE events carry no ids leaves nothing to resume a cut stream from, for the proxy as for any client.',
    '',
  );
  if (broken.length === 0) push('Both hold in this run.');
  else {
    push(`In this run they are broken by ${broken.length} cell${broken.length === 1 ? '' : 's'}:`, '');
    push(
      ...table(
        ['server', 'check', 'rule', 'through the proxy'],
        broken.map((v) => [
          v.server,
          checks.find((c) => c.id === v.check)?.title ?? v.check,
          `(${v.rule})`,
          detailed(v.proxy),
        ]),
      ),
    );
  }

  push('', '## Every cell', '');
  push(
    ...table(
      ['server', 'check', 'direct', 'proxy'],
      runs.flatMap(({ name, results }) =>
        results
          ? checks.map((check) => [
              name,
              check.title,
              detailed(results[check.id].direct),
              detailed(results[check.id].proxy),
            ])
          : [],
      ),
    ),
  );

  push('', '## The servers and their quirks', '');
  for (const run of runs) {
    push(`### ${run.name}`, '');
    if (!run.server) {
      push(`Not run: \`${escapeCell(run.error ?? 'no result')}\``, '');
      continue;
    }
    push(`${run.server.version}.`, '');
    if (run.error) push(`**${escapeCell(run.error)}**`, '');
    for (const note of run.server.notes) push(`- ${note}`);
    const o = run.observed;
    if (o) {
      push(
        '',
        'Seen on the wire (bare HTTP, straight to the server):',
        '',
        `- initialize (2025-11-25): ${escapeCell(o.initialize)}; session id ${o.sessionId}`,
        `- an unknown \`Mcp-Session-Id\`: POST → ${code(o.unknownSession.post)}; GET → ${code(o.unknownSession.get)}; DELETE → ${code(o.unknownSession.delete)}`,
        `- GET with its session: ${code(o.get)}`,
        `- SSE event ids on a tools/call stream: ${o.eventIds}`,
        `- elicitation request: ${escapeCell(o.elicitation)}`,
      );
      for (const error of o.errors) push(`- probe error: ${escapeCell(error)}`);
    }
    push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
