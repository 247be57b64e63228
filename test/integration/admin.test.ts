/**
 * The admin listener against a real session: the official SDK client through mcp-shepherd to
 * the demo server, with a TCP relay to cut. Auth, the sessions API (redaction, DELETE), the
 * live event stream, and /metrics scraped around a scripted lifecycle: create, reconnect,
 * expire, each counter moved by exactly the right amount.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, createAdminServer } from '../../src/admin/admin-server.js';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type SessionDetail, type SessionView, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-secret';
let upstream: DemoServer | undefined;
let relay: TcpRelay | undefined;
let shepherd: Shepherd | undefined;
let admin: AdminServer | undefined;

afterEach(async () => {
  await admin?.close();
  await shepherd?.close();
  await relay?.close();
  await upstream?.close();
  admin = shepherd = relay = upstream = undefined;
});

async function setUp(options: { token?: string; maxLifetimeMs?: number } = {}) {
  upstream = await DemoServer.start();
  relay = await TcpRelay.start(upstream.port);
  shepherd = createShepherd({
    upstream: { url: upstream.urlVia(relay.port) },
    logger: createLogger('silent'),
    connection: { backoff: { baseMs: 50, jitter: 0 } },
    ...(options.maxLifetimeMs ? { limits: { maxLifetimeMs: options.maxLifetimeMs } } : {}),
  });
  const { url } = await shepherd.listen({ port: 0 });
  admin = createAdminServer(shepherd, { token: options.token, updateIntervalMs: 20 });
  const adminUrl = (await admin.listen({ port: 0 })).url;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, adminUrl), {
      headers: options.token ? { authorization: `Bearer ${TOKEN}`, ...headers } : headers,
    });
  return { url, adminUrl, get, upstream, relay, shepherd };
}

async function connect(url: string) {
  const client = new Client({ name: 'admin-test-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport, sessionId: transport.sessionId as string };
}

/** One sample of a Prometheus text exposition, 0 when absent. */
function sample(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function sum(metrics: string, name: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((total, l) => total + Number(l.split(' ').at(-1)), 0);
}

describe('admin listener auth', () => {
  it('requires the bearer token (header or ?token=) everywhere but the health probes', async () => {
    const { adminUrl } = await setUp({ token: TOKEN });
    const status = async (path: string, init: RequestInit = {}) => (await fetch(new URL(path, adminUrl), init)).status;

    const refused = await fetch(new URL('/sessions', adminUrl));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/Authorization: Bearer/);
    expect(await status('/sessions', { headers: { authorization: 'Bearer wrong' } })).toBe(401);
    expect(await status('/sessions', { headers: { authorization: `Basic ${TOKEN}` } })).toBe(401);
    expect(await status('/metrics')).toBe(401);
    expect(await status('/')).toBe(401);
    expect(await status('/sessions', { headers: { authorization: `Bearer ${TOKEN}` } })).toBe(200);
    expect(await status(`/sessions?token=${TOKEN}`)).toBe(200);
    expect(await status(`/metrics?token=${TOKEN}`)).toBe(200);
    expect(await status('/healthz')).toBe(200);
    expect(await status('/readyz')).toBe(200);
  });

  it('/readyz turns 503 once the proxy drains; /healthz stays 200', async () => {
    const { get, shepherd } = await setUp();
    expect((await get('/readyz')).status).toBe(200);
    await shepherd.runtime.drain();
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'drained', sessions: 0 });
    expect((await get('/healthz')).status).toBe(200);
  });

  it('without a token everything is open (it listens on loopback by default)', async () => {
    const { get } = await setUp();
    expect((await get('/sessions')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
  });
});

describe('sessions API', () => {
  it('lists a session with its streams, shows it redacted, and DELETE ends it like a client would', async () => {
    const { url, get, adminUrl, upstream } = await setUp({ token: TOKEN });
    const { client, sessionId } = await connect(url);
    await client.callTool({ name: 'echo', arguments: { text: 'secret-payload' } });
    await waitFor(() => upstream.openGetStreams === 1, 'the upstream GET stream');

    const list = (await (await get('/sessions')).json()) as SessionView[];
    expect(list).toHaveLength(1);
    const [view] = list;
    expect(view?.id).toBe(sessionId);
    expect(view?.state).toEqual({ live: { active: expect.any(String) } });
    expect(view?.protocolVersion).toBe('2025-11-25');
    expect(view?.streams).toContainEqual(
      expect.objectContaining({ stream: 0, kind: 'get', attempts: 0, reconnects: 0 }),
    );
    // Streams read to their end are evicted from the log, so only the count's shape is certain here.
    expect(view?.eventLog).toEqual({ events: expect.any(Number), bytes: expect.any(Number) });
    expect(view?.expiresInMs).toBeGreaterThan(0);

    const detailResponse = await get(`/sessions/${sessionId}`);
    const text = await detailResponse.text();
    expect(text).not.toContain('secret-payload');
    expect(text).not.toContain('admin-test-client'); // the initialize body
    const detail = JSON.parse(text) as SessionDetail;
    const { config } = detail.context as { config: { initialize: { body: string } } };
    expect(config.initialize.body).toMatch(/^\[redacted \d+ bytes\]$/);
    expect(Object.keys(detail.streamContexts)).toContain('0');

    const deleted = await fetch(new URL(`/sessions/${sessionId}`, adminUrl), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(deleted.status).toBe(200);
    expect(upstream.deleted).toHaveLength(1);
    expect(await (await get('/sessions')).json()).toEqual([]);
    expect((await get(`/sessions/${sessionId}`)).status).toBe(404);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow(/404|not found/i);
  });

  it('streams the session list on /events when sessions come and go', async () => {
    const { url, adminUrl } = await setUp();
    const response = await fetch(new URL('/events', adminUrl));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    const lists: SessionView[][] = [];
    let buffer = '';
    const reading = (async () => {
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) return;
        buffer += chunk.value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith('event: sessions\n')) {
            lists.push(JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as SessionView[]);
          }
          end = buffer.indexOf('\n\n');
        }
      }
    })();
    await waitFor(() => lists.length === 1, 'the list on connect');
    expect(lists[0]).toEqual([]);
    const { sessionId, transport } = await connect(url);
    await waitFor(() => lists.at(-1)?.[0]?.id === sessionId, 'the new session in a later message');
    await transport.terminateSession();
    await waitFor(() => lists.at(-1)?.length === 0, 'the ended session gone from the list');
    await reader?.cancel();
    await reading;
  });
});

describe('/metrics with an HTTP session and a stdio session alive', () => {
  it('answers 200 and counts both sessions, their streams and the process', async () => {
    const { url, get, shepherd } = await setUp();
    const { client } = await connect(url);
    await client.callTool({ name: 'echo', arguments: { text: 'http' } });
    // The same runtime holds a session to a stdio server (an embedder's second upstream).
    const server = new URL('../support/misbehaving-stdio-server.mjs', import.meta.url).pathname;
    const created = shepherd.runtime.createSession(
      {
        requestId: 0,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'embedder', version: '1' } },
        }),
      },
      { upstream: { url: 'stdio:misbehaving', process: { command: process.execPath, args: [server] } } },
    );
    if (!created.ok) throw created.error;
    await waitFor(() => shepherd.runtime.inspect(created.sessionId)?.protocolVersion !== undefined, 'stdio initialize');
    created.handle.send({ type: 'session.listen', key: 'embedder-get' });
    await waitFor(
      () =>
        shepherd.runtime
          .inspectAll()
          .every((s) => s.streams.some((stream) => stream.stream === 0 && stream.state === 'open')),
      'both standalone streams open',
    );

    const response = await get('/metrics');
    expect(response.status).toBe(200);
    const metrics = await response.text();
    expect(sum(metrics, 'mcp_shepherd_sessions')).toBe(2);
    expect(sample(metrics, 'mcp_shepherd_streams_open', 'side="upstream"')).toBe(2);
    expect(sample(metrics, 'mcp_shepherd_streams_open', 'side="client"')).toBe(2);
    expect(sample(metrics, 'mcp_shepherd_stdio_processes', 'state="ready"')).toBe(1);

    const views = (await (await get('/sessions')).json()) as SessionView[];
    const stdio = views.find((v) => v.id === created.sessionId);
    expect(stdio?.host).toMatchObject({ machine: 'process', state: { running: 'ready' }, restarts: 0 });
    expect(stdio?.streams).toEqual([expect.objectContaining({ stream: 0, machine: 'connection', kind: 'get' })]);
    expect(views.find((v) => v.id !== created.sessionId)?.host).toBeUndefined();
    await client.close();
  });
});

describe('/metrics during a scripted session', () => {
  it('create, reconnect, expire: each counter moves by exactly the right amount', async () => {
    const { url, get, upstream, relay, shepherd } = await setUp({ maxLifetimeMs: 1500 });
    const scrape = async () => (await get('/metrics')).text();
    const before = await scrape();
    expect(sample(before, 'mcp_shepherd_sessions_created_total')).toBe(0);

    const { client, sessionId } = await connect(url);
    await client.callTool({ name: 'echo', arguments: { text: 'one' } });
    await waitFor(() => upstream.openGetStreams === 1, 'the upstream GET stream');
    const created = await scrape();
    expect(sample(created, 'mcp_shepherd_sessions_created_total')).toBe(1);
    expect(sum(created, 'mcp_shepherd_sessions')).toBe(1);
    expect(sample(created, 'mcp_shepherd_streams_open', 'side="upstream"')).toBe(1);
    expect(sample(created, 'mcp_shepherd_streams_open', 'side="client"')).toBe(1);
    expect(sum(created, 'mcp_shepherd_reconnects_total')).toBe(0);
    // initialize answer + echo answer (the demo server sends no priming events on its own)
    expect(sample(created, 'mcp_shepherd_events_relayed_total')).toBe(2);
    expect(shepherd.runtime.inspect(sessionId)?.streams.map((s) => s.stream)).toEqual([0]);
    expect(sample(created, 'mcp_shepherd_request_duration_seconds_count', 'method="POST",status="200"')).toBe(2);

    // Cut the upstream GET stream once: one reconnect, and the stream is open again.
    relay.cutAll();
    await waitFor(() => shepherd.listSessions()[0]?.streams.find((s) => s.stream === 0)?.reconnects === 1, 'reconnect');
    const reconnected = await scrape();
    expect(sum(reconnected, 'mcp_shepherd_reconnects_total')).toBe(1);
    expect(reconnected).toMatch(/mcp_shepherd_reconnects_total\{reason="(dropped|network-error)"\} 1/);
    expect(sample(reconnected, 'mcp_shepherd_sessions_created_total')).toBe(1);

    // The lifetime ends the session: one expiry, reason lifetime, nothing left open.
    await waitFor(() => shepherd.listSessions().length === 0, 'the lifetime expiry', 5000);
    const expired = await scrape();
    expect(sample(expired, 'mcp_shepherd_sessions_expired_total', 'reason="lifetime"')).toBe(1);
    expect(sum(expired, 'mcp_shepherd_sessions_expired_total')).toBe(1);
    expect(sum(expired, 'mcp_shepherd_sessions_terminated_total')).toBe(0);
    expect(sum(expired, 'mcp_shepherd_sessions')).toBe(0);
    expect(sample(expired, 'mcp_shepherd_streams_open', 'side="upstream"')).toBe(0);
    expect(sample(expired, 'mcp_shepherd_sessions_created_total')).toBe(1);
    expect(sum(expired, 'mcp_shepherd_reconnects_total')).toBe(1);
    await client.close();
  });
});
