/**
 * The checks of the compatibility matrix, run against one framework server on two paths:
 * `direct` (the SDK 1.x client → TCP relay → server) and `proxy` (the same client →
 * mcp-shepherd → TCP relay → server); the embedding test adds `embedded` (the same client
 * with mcp-shepherd's client transport → TCP relay → server). The relay is what a check cuts.
 * Every check has a bounded time and ends as pass, fail (with what went wrong) or n/a (the
 * framework lacks the feature); a check never throws.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { createClientTransport, createShepherd, type ShepherdClientTransport } from '../../../src/index.js';
import { createLogger } from '../../../src/log.js';
import { TcpRelay } from '../tcp-relay.js';
import { type FrameworkServer, sleep, type ToolCall } from './types.js';

export type Path = 'direct' | 'proxy' | 'embedded';
export const paths: Path[] = ['direct', 'proxy'];

/** The compatibility matrix's checks. */
export type MatrixCheckId = 'echo' | 'progress' | 'elicitation' | 'cut' | 'restart' | 'isolation' | 'elicit-early';
/** The embedding test adds its own (test/support/frameworks/resilience.ts). */
export type CheckId = MatrixCheckId | 'cut-twice' | 'stall' | 'retry-after';

export interface Cell {
  status: 'pass' | 'fail' | 'n/a';
  /** What went wrong (fail), why not (n/a), or a count worth reporting (pass). */
  detail?: string;
  ms: number;
}

export interface Check<Id extends CheckId = CheckId> {
  id: Id;
  title: string;
  /** The check's bound; it fails when it takes longer. */
  timeoutMs: number;
  /** Why it does not apply to this server, if it does not. */
  notApplicable?(server: FrameworkServer): string | undefined;
  run(world: World): Promise<Omit<Cell, 'ms'>>;
}

/** What a check works with: the server, the relay in front of it, and where its clients connect. */
export interface World {
  server: FrameworkServer;
  relay: TcpRelay;
  /** Connects a fresh client (closed by the harness when the check ends). */
  connect(name: string): Promise<Peer>;
}

export interface Peer {
  client: Client;
  transport: StreamableHTTPClientTransport | ShepherdClientTransport;
  /** Elicitation requests its handler answered. */
  elicitations: number;
}

class CheckTimeout extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const message = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');

/** The text of a tool result's first content block, or why there is none. */
function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  const first = content?.[0];
  if (first?.type !== 'text' || first.text === undefined) return `(no text content: ${JSON.stringify(result)})`;
  return first.text;
}

export async function call(peer: Peer, tool: ToolCall, onprogress?: (progress: Progress) => void): Promise<string> {
  const result = await peer.client.callTool(
    { name: tool.name, arguments: tool.arguments },
    undefined,
    onprogress ? { onprogress } : {},
  );
  if (result.isError) throw new Error(`tool error: ${textOf(result)}`);
  return textOf(result);
}

export const fail = (detail: string) => ({ status: 'fail' as const, detail });
export const pass = (detail?: string) =>
  detail === undefined ? { status: 'pass' as const } : { status: 'pass' as const, detail };
export const answered = (tool: ToolCall, text: string) =>
  tool.expect(text) ? pass() : fail(`unexpected answer ${JSON.stringify(text)}`);
export const sequence = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
export const same = (a: number[], b: number[]) => a.length === b.length && a.every((value, i) => value === b[i]);

export const noProgress = (server: FrameworkServer) =>
  server.supports.progress ? undefined : 'no progress notifications for session-era clients (see its quirks)';
const noElicitation = (server: FrameworkServer) =>
  server.supports.elicitation ? undefined : 'no elicitation for session-era clients (see its quirks)';

/** The client's answer to any form: `ok: true`, and a value for every other required field. */
function answerForm(schema: { properties?: Record<string, { type?: string; format?: string }>; required?: string[] }) {
  const content: Record<string, string | number | boolean> = {};
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (key !== 'ok' && !schema.required?.includes(key)) continue;
    if (property.type === 'boolean') content[key] = true;
    else if (property.type === 'number' || property.type === 'integer') content[key] = 1;
    else content[key] = property.format === 'email' ? 'shepherd@example.com' : 'shepherd';
  }
  return content;
}

export const checks: Check<MatrixCheckId>[] = [
  {
    id: 'echo',
    title: 'a. tools/call echo',
    timeoutMs: 4000,
    run: async ({ server, connect }) => {
      const peer = await connect('echo');
      const tool = server.tools.echo('hello');
      return answered(tool, await call(peer, tool));
    },
  },
  {
    id: 'progress',
    title: 'b. progress (count n=3)',
    timeoutMs: 4000,
    notApplicable: noProgress,
    run: async ({ server, connect }) => {
      const peer = await connect('progress');
      const tool = server.tools.count(3, 20);
      const progress: number[] = [];
      const text = await call(peer, tool, (p) => progress.push(p.progress));
      if (!same(progress, [1, 2, 3])) return fail(`progress ${JSON.stringify(progress)}, expected [1,2,3]`);
      return answered(tool, text);
    },
  },
  {
    id: 'elicitation',
    title: 'c. elicitation (confirm)',
    timeoutMs: 5000,
    notApplicable: noElicitation,
    run: async ({ server, connect }) => {
      const peer = await connect('elicitation');
      const tool = server.tools.confirm();
      const text = await withTimeout(call(peer, tool), 3500, 'waiting for the answer').catch((error: unknown) => {
        throw new Error(`${message(error)}; the client got ${peer.elicitations} elicitation requests`);
      });
      if (peer.elicitations !== 1) return fail(`the client answered ${peer.elicitations} elicitation requests`);
      return answered(tool, text);
    },
  },
  {
    id: 'cut',
    title: 'd. cut mid-call (count n=5, cut after 2nd progress)',
    timeoutMs: 6000,
    notApplicable: noProgress,
    run: async ({ server, relay, connect }) => {
      const peer = await connect('cut');
      const tool = server.tools.count(5, 100);
      const progress: number[] = [];
      let cut = 0;
      let text: string;
      try {
        const counting = call(peer, tool, (p) => {
          progress.push(p.progress);
          if (progress.length === 2 && cut === 0) cut = relay.cutAll();
        });
        text = await withTimeout(counting, 4500, 'waiting for the result');
      } catch (error) {
        throw new Error(`progress ${JSON.stringify(progress)}, ${cut} connections cut, then: ${message(error)}`);
      }
      if (cut === 0) return fail(`never cut: progress ${JSON.stringify(progress)}`);
      if (!same(progress, sequence(5))) return fail(`progress ${JSON.stringify(progress)}, expected [1,2,3,4,5]`);
      return answered(tool, text);
    },
  },
  {
    id: 'restart',
    title: 'e. upstream restart between two calls',
    timeoutMs: 8000,
    run: async ({ server, connect }) => {
      const peer = await connect('restart');
      const before = server.tools.echo('before');
      const first = await call(peer, before);
      if (!before.expect(first)) return fail(`before the restart: unexpected answer ${JSON.stringify(first)}`);
      await server.restart();
      // A real restart is never instantaneous: let both sides see their old connections closed,
      // so that the next call tests the lost session, not a keep-alive socket that just died.
      await sleep(250);
      const after = server.tools.echo('after');
      try {
        return answered(after, await call(peer, after));
      } catch (error) {
        throw new Error(`after the restart: ${message(error)}`);
      }
    },
  },
  {
    id: 'isolation',
    title: 'f. two clients at once kept apart',
    timeoutMs: 5000,
    notApplicable: noProgress,
    run: async ({ server, connect }) => {
      const [a, b] = await Promise.all([connect('isolation-a'), connect('isolation-b')]);
      const counts = [3, 4];
      const seen: Array<Array<{ progress: number; total: number | undefined }>> = [[], []];
      const texts = await Promise.all(
        [a, b].map((peer, i) =>
          call(peer, server.tools.count(counts[i] ?? 0, 50), (p) =>
            seen[i]?.push({ progress: p.progress, total: p.total }),
          ),
        ),
      );
      for (const [i, n] of counts.entries()) {
        const mine = seen[i] ?? [];
        const foreign = mine.filter((p) => p.total !== n);
        if (foreign.length > 0) return fail(`client ${i + 1} (n=${n}) got progress of n=${foreign[0]?.total}`);
        if (
          !same(
            mine.map((p) => p.progress),
            sequence(n),
          )
        ) {
          return fail(`client ${i + 1} (n=${n}) got progress ${JSON.stringify(mine.map((p) => p.progress))}`);
        }
        const tool = server.tools.count(n, 50);
        if (!tool.expect(texts[i] ?? '')) return fail(`client ${i + 1} (n=${n}) got ${JSON.stringify(texts[i])}`);
      }
      return pass();
    },
  },
  {
    id: 'elicit-early',
    title: 'g. elicitation right after connecting (5 clients)',
    timeoutMs: 6000,
    notApplicable: noElicitation,
    run: async ({ server, connect }) => {
      const outcomes = await Promise.allSettled(
        sequence(5).map(async (i) => {
          const peer = await connect(`early-${i}`);
          const tool = server.tools.confirm();
          const text = await withTimeout(call(peer, tool), 4000, `waiting for the answer`).catch((error: unknown) => {
            throw new Error(`client ${i}: ${message(error)}; it got ${peer.elicitations} elicitation requests`);
          });
          if (!tool.expect(text)) throw new Error(`unexpected answer ${JSON.stringify(text)}`);
        }),
      );
      const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
      const firstError = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (ok === 5) return pass('5/5 answered');
      return fail(`${ok}/5 answered; first error: ${message(firstError?.reason)}`);
    },
  },
];

/** One server's row: every check that ran, on every path it ran on. */
export type ServerResults = Partial<Record<CheckId, Partial<Record<Path, Cell>>>>;
/** The compatibility matrix's row: its checks, directly and through the proxy. */
export type CompatibilityResults = Record<MatrixCheckId, Record<'direct' | 'proxy', Cell>>;

/** What runs: which checks on which paths, and the embedded transport's options. */
export interface MatrixPlan {
  checks: Check[];
  paths: Path[];
  embedded?: Omit<Parameters<typeof createClientTransport>[1], 'logger'>;
}

async function closePeer(peer: Peer): Promise<void> {
  // DELETE the session where there is one, so the server does not keep it; never wait long.
  await withTimeout(peer.transport.terminateSession(), 1000, 'terminating').catch(() => {});
  await withTimeout(peer.client.close(), 1000, 'closing').catch(() => {});
}

/** Runs one check on one path: fresh clients and, through the proxy, a fresh mcp-shepherd. */
async function runCheck(
  check: Check,
  server: FrameworkServer,
  relay: TcpRelay,
  path: Path,
  plan: MatrixPlan,
): Promise<Cell> {
  const started = Date.now();
  const reason = check.notApplicable?.(server);
  if (reason !== undefined) return { status: 'n/a', detail: reason, ms: 0 };
  const upstreamUrl = `http://127.0.0.1:${relay.port}/mcp`;
  const shepherd =
    path === 'proxy' ? createShepherd({ upstream: { url: upstreamUrl }, logger: createLogger('silent') }) : undefined;
  const peers: Peer[] = [];
  let running: Promise<unknown> | undefined;
  try {
    const url = shepherd ? (await shepherd.listen({ port: 0 })).url : upstreamUrl;
    const connect = async (name: string): Promise<Peer> => {
      const client = new Client(
        { name: `matrix-${name}`, version: '1.0.0' },
        { capabilities: { elicitation: { form: {} } } },
      );
      const transport =
        path === 'embedded'
          ? createClientTransport(upstreamUrl, { ...plan.embedded, logger: createLogger('silent') })
          : new StreamableHTTPClientTransport(new URL(url));
      const peer: Peer = { client, transport, elicitations: 0 };
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        peer.elicitations += 1;
        const schema = 'requestedSchema' in request.params ? request.params.requestedSchema : {};
        return { action: 'accept', content: answerForm(schema as Parameters<typeof answerForm>[0]) };
      });
      peers.push(peer);
      await client.connect(transport);
      return peer;
    };
    const checking = check.run({ server, relay, connect });
    running = checking;
    const outcome = await withTimeout(checking, check.timeoutMs, `(${check.title})`);
    return { ...outcome, ms: Date.now() - started };
  } catch (error) {
    return { status: 'fail', detail: message(error), ms: Date.now() - started };
  } finally {
    await Promise.all(peers.map(closePeer));
    // A check that timed out may still be at work (a restart, say): let it end before the next one.
    if (running) await withTimeout(running, 10_000, 'settling').catch(() => {});
    if (shepherd) await withTimeout(shepherd.close(), 3000, 'closing mcp-shepherd').catch(() => {});
  }
}

/** Every check on every path against one server (started here, closed at the end). */
export async function runServer(server: FrameworkServer, plan: MatrixPlan = { checks, paths }): Promise<ServerResults> {
  const relay = await TcpRelay.start(server.port);
  const results: ServerResults = {};
  try {
    for (const check of plan.checks) {
      const row: Partial<Record<Path, Cell>> = {};
      for (const path of plan.paths) row[path] = await runCheck(check, server, relay, path, plan);
      results[check.id] = row;
    }
  } finally {
    await relay.close();
  }
  return results;
}
