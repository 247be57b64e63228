/**
 * Faults between mcp-shepherd and its upstream, injected through a loopback TCP relay and
 * the demo server's request hook, with the real SDK 1.x client downstream. Each test checks
 * that the client gets every message exactly once, in order, or the documented error.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { UpstreamGonePolicy } from '../../machines/session.types.js';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait.js';

let upstream: DemoServer | undefined;
let relay: TcpRelay | undefined;
let shepherd: Shepherd | undefined;

afterEach(async () => {
  await shepherd?.close();
  await relay?.close();
  await upstream?.close();
  shepherd = undefined;
  relay = undefined;
  upstream = undefined;
});

async function setUp(options: { onUpstreamGone?: UpstreamGonePolicy; heartbeatTimeoutMs?: number } = {}) {
  upstream = await DemoServer.start();
  relay = await TcpRelay.start(upstream.port);
  shepherd = createShepherd({
    upstream: { url: upstream.urlVia(relay.port) },
    logger: createLogger('silent'),
    connection: {
      backoff: { baseMs: 50, jitter: 0 },
      ...(options.heartbeatTimeoutMs ? { heartbeatTimeoutMs: options.heartbeatTimeoutMs, stallGraceMs: 100 } : {}),
    },
    ...(options.onUpstreamGone ? { onUpstreamGone: options.onUpstreamGone } : {}),
  });
  const { url } = await shepherd.listen({ port: 0 });
  const client = new Client({ name: 'fault-client', version: '1.0.0' });
  const notes: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    notes.push(String(n.params.data));
  });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport, notes, upstream, relay };
}

const upstreamSessionIds = (server: DemoServer) => [...server.sessions.keys()];

describe('upstream faults are invisible to the client', () => {
  it('a cut mid-stream: every progress notification once, in order, then the result', async () => {
    const { client, relay } = await setUp();
    const progress: number[] = [];
    const call = client.callTool({ name: 'count', arguments: { n: 20, delayMs: 15 } }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        if (p.progress === 5) relay.cutAll();
      },
    });
    const result = await call;
    expect(result.content).toEqual([{ type: 'text', text: 'counted to 20' }]);
    expect(progress).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('a cut of the standalone stream: notifications sent while it was down arrive once, in order', async () => {
    const { notes, upstream, relay } = await setUp();
    await waitFor(() => upstream.openGetStreams === 1, 'the upstream GET stream');
    const [id] = upstreamSessionIds(upstream);
    await upstream.notify(id as string, 'n1');
    await waitFor(() => notes.length === 1, 'n1');
    relay.cutAll();
    await upstream.notify(id as string, 'n2');
    await upstream.notify(id as string, 'n3');
    await waitFor(() => notes.length === 3, 'n2, n3 after the resume');
    await upstream.notify(id as string, 'n4');
    await waitFor(() => notes.length === 4, 'n4');
    expect(notes).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('a stalled stream is detected by the heartbeat, aborted and resumed', async () => {
    const { notes, upstream, relay } = await setUp({ heartbeatTimeoutMs: 300 });
    await waitFor(() => upstream.openGetStreams === 1, 'the upstream GET stream');
    const [id] = upstreamSessionIds(upstream);
    // A first event gives the stream a resume point (this upstream sends no priming event).
    await upstream.notify(id as string, 's0');
    await waitFor(() => notes.length === 1, 's0');
    relay.freezeAll();
    await upstream.notify(id as string, 's1'); // written into the frozen connection: never arrives there
    await waitFor(() => notes.length === 2, 's1, replayed after the stall was detected and the stream resumed');
    await upstream.notify(id as string, 's2');
    await waitFor(() => notes.length === 3, 's2');
    expect(notes).toEqual(['s0', 's1', 's2']);
  });

  it('503 with Retry-After: the POST is sent again after the wait and answered once', async () => {
    const { client, transport, upstream } = await setUp();
    const waits: Array<{ delayMs?: number | undefined; delaySource?: string | undefined }> = [];
    shepherd?.runtime.session(transport.sessionId as string)?.on('session.stream.status', (e) => {
      if (e.state === 'waiting') waits.push({ delayMs: e.status.delayMs, delaySource: e.status.delaySource });
    });
    let refused = 0;
    let calls = 0;
    upstream.beforeRequest = (_req, res, body) => {
      if ((body as { method?: string } | undefined)?.method !== 'tools/call') return false;
      calls++;
      if (refused > 0) return false;
      refused++;
      res.writeHead(503, { 'retry-after': '1' }).end();
      return true;
    };
    const result = await client.callTool({ name: 'echo', arguments: { text: 'after 503' } });
    expect(result.content).toEqual([{ type: 'text', text: 'after 503' }]);
    expect(calls).toBe(2);
    // The wait the connection chose is the server's Retry-After, not its own backoff.
    expect(waits).toEqual([{ delayMs: 1000, delaySource: 'retry-after' }]);
  });

  it('upstream restarted (reinitialize, the default): the client keeps its session and its call succeeds', async () => {
    const { client, transport, upstream } = await setUp();
    const before = transport.sessionId;
    const [old] = upstreamSessionIds(upstream);
    await upstream.forget(old as string);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'after restart' } });
    expect(result.content).toEqual([{ type: 'text', text: 'after restart' }]);
    expect(transport.sessionId).toBe(before);
    const [fresh] = upstreamSessionIds(upstream);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(old);
  });

  it('upstream restarted (propagate): the client gets 404 and must re-initialize', async () => {
    const { client, upstream } = await setUp({ onUpstreamGone: 'propagate' });
    const [old] = upstreamSessionIds(upstream);
    await upstream.forget(old as string);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow(/404|Session not found/);
    expect(shepherd?.listSessions()).toEqual([]);
  });
});
