/**
 * Clients that leave without saying goodbye, and traffic that is subtly wrong: each case gets
 * its exact answer, and a healthy SDK client beside it, with its GET stream open, keeps every
 * notification the server sends it and goes on answering.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../src/demo/demo-server.js';
import type { ShepherdOptions } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { startPeer } from '../support/peer-process.js';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { openSession, send, toolCall } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

const clientScript = new URL('../support/sdk-client-process.mjs', import.meta.url).pathname;

/** A healthy SDK client with its GET stream open, and the notifications it got on it. */
async function startBystander(fixture: ProxyFixture) {
  const before = new Set(fixture.upstream.sessions.keys());
  const client = new Client({ name: 'bystander', version: '1.0.0' });
  const received: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    received.push(String(n.params.data));
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url)));
  const upstreamId = [...fixture.upstream.sessions.keys()].find((id) => !before.has(id)) ?? '';
  await waitFor(() => fixture.upstream.openGetStreams > 0, 'the bystander GET stream upstream');
  let sent = 0;
  return {
    client,
    /** One more notification on its GET stream, then a call: all it was sent arrived, once, in order. */
    async check() {
      const expected = Array.from({ length: ++sent }, (_, i) => `note-${i + 1}`);
      await waitFor(() => fixture.upstream.sessions.has(upstreamId), 'the bystander upstream session');
      await fixture.upstream.notify(upstreamId, `note-${sent}`);
      await waitFor(() => received.length >= sent, `notification ${sent} at the bystander`);
      expect(received).toEqual(expected);
      const echoed = await client.callTool({ name: 'echo', arguments: { text: `still here ${sent}` } });
      expect(echoed.content).toEqual([{ type: 'text', text: `still here ${sent}` }]);
    },
  };
}

type Bystander = Awaited<ReturnType<typeof startBystander>>;

function expectError(
  response: { status: number; messages: unknown[] },
  status: number,
  code: string,
  text: RegExp,
  jsonRpcCode = -32000,
) {
  expect(response.status).toBe(status);
  expect(response.messages[0]).toMatchObject({ jsonrpc: '2.0', error: { code: jsonRpcCode, data: { code } } });
  expect((response.messages[0] as { error: { message: string } }).error.message).toMatch(text);
}

/** Raw bytes on one connection: what came back, and whether the server closed it. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  return { socket, text: () => text, closed: () => closed };
}

/** The body of a chunked HTTP response. */
function dechunk(text: string): string {
  let body = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return body;
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A log destination the test can read. */
function logLines() {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createLogger('info', destination),
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function withProxy(options: Partial<ShepherdOptions>) {
  const fixture = await startProxy(options);
  const bystander = await startBystander(fixture);
  return { fixture, bystander, url: fixture.url, upstream: fixture.upstream };
}

describe('a client that leaves without DELETE', () => {
  let fixture: ProxyFixture;
  let bystander: Bystander;
  beforeAll(async () => {
    ({ fixture, bystander } = await withProxy({ limits: { idleTimeoutMs: 1_000, maxSessions: 2 } }));
  });
  afterAll(() => fixture.close());

  it('is expired after the idle timeout though the proxy keeps its upstream GET, DELETEd upstream, its slot freed', async () => {
    const peer = await startPeer(clientScript, [fixture.url], /ready \S+/);
    const proxyIds = () => fixture.shepherd.listSessions().map((s) => s.id);
    await waitFor(() => proxyIds().length === 2, 'the vanishing client session');
    const upstreamIds = [...fixture.upstream.sessions.keys()];
    // Attached, it is busy: an idle timeout and a half later it is still there.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(proxyIds()).toHaveLength(2);

    peer.child.kill('SIGKILL');
    // Gone within the idle timeout, plus time to notice the closed socket and to DELETE.
    await waitFor(() => proxyIds().length === 1, 'the vanished client session to expire', 2_500);
    const gone = upstreamIds.filter((id) => !fixture.upstream.sessions.has(id));
    expect(gone).toHaveLength(1);
    expect(fixture.upstream.deleted).toContain(gone[0]);
    // The bystander kept its session (its client is attached) and a new client fits again.
    await bystander.check();
    // At most two sessions: a third fits only because the vanished one freed its slot.
    const another = await openSession(fixture.url);
    expect(another.sessionId).toMatch(/^[\w-]{20,}$/);
    await peer.stop();
  }, 20_000);
});

describe('subtly wrong traffic', () => {
  let fixture: ProxyFixture;
  let bystander: Bystander;
  let url: string;
  let upstream: DemoServer;
  let nextId = 500;
  const logs = logLines();
  beforeAll(async () => {
    ({ fixture, bystander, url, upstream } = await withProxy({
      maxBodyBytes: 64 * 1024,
      headersTimeoutMs: 500,
      requestTimeoutMs: 1_000,
      logger: logs.logger,
    }));
  });
  afterAll(() => fixture.close());

  it('a chunked body over the limit gets 413 with Connection: close, and the connection ends', async () => {
    const session = await openSession(url);
    const raw = rawConnection(url);
    const { host } = new URL(url);
    raw.socket.write(
      [
        'POST /mcp HTTP/1.1',
        `Host: ${host}`,
        'Content-Type: application/json',
        'Accept: application/json, text/event-stream',
        `Mcp-Session-Id: ${session.sessionId}`,
        'Transfer-Encoding: chunked',
        '',
        '',
      ].join('\r\n'),
    );
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 6; i++) raw.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    // The answer comes while the body is still being sent, and the server closes after it.
    await waitFor(raw.closed, 'the server to close the connection', 3_000);
    const [head = '', ...rest] = raw.text().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).toContain('connection: close');
    const body = head.toLowerCase().includes('transfer-encoding: chunked') ? dechunk(rest.join('\r\n\r\n')) : rest[0];
    expect(JSON.parse(body ?? '')).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32000,
        message: 'Payload Too Large: the body exceeds 65536 bytes (maxBodyBytes).',
        data: { code: 'SHEPHERD_BODY_TOO_LARGE' },
      },
    });
    // The session the body was for is unharmed.
    const answer = await send(url, 'POST', toolCall(nextId++, 'after 413'), session.headers);
    expect(answer.status).toBe(200);
    await bystander.check();
  });

  it('a Last-Event-ID naming a stream never opened, or a position never reached, gets 400 with the reason', async () => {
    const session = await openSession(url, '2025-11-25');
    const call = await send(url, 'POST', toolCall(nextId++), session.headers);
    const primingId = /^id: (\S+)$/m.exec(call.text)?.[1] ?? '';
    const [tag, stream, seq] = primingId.split('.');
    expect(Number(stream)).toBeGreaterThan(1);
    const resume = (lastEventId: string) =>
      send(url, 'GET', undefined, { ...session.headers, accept: 'text/event-stream', 'last-event-id': lastEventId });
    expectError(
      await resume(`${tag}.999.${seq}`),
      400,
      'SHEPHERD_BAD_LAST_EVENT_ID',
      /^Bad Request: Last-Event-ID names stream 999, which this session never opened: it did not issue that id\.$/,
    );
    expectError(
      await resume(`${tag}.${stream}.999999`),
      400,
      'SHEPHERD_BAD_LAST_EVENT_ID',
      /has not reached: it did not issue that id/,
    );
    await bystander.check();
  });

  it('the batch rule follows the negotiated version, whatever MCP-Protocol-Version says', async () => {
    const session = await openSession(url, '2025-06-18');
    const batch = [toolCall(nextId++), toolCall(nextId++)];
    expectError(
      await send(url, 'POST', batch, { ...session.headers, 'mcp-protocol-version': '2025-03-26' }),
      400,
      'SHEPHERD_BATCH_NOT_ALLOWED',
      /^Invalid Request: JSON-RPC batches are not allowed in protocol version 2025-06-18\.$/,
      -32600,
    );
    // By default a supported but different header is served by the negotiated rules.
    const served = await send(url, 'POST', toolCall(nextId, 'other header'), {
      ...session.headers,
      'mcp-protocol-version': '2025-11-25',
    });
    expect(served.status).toBe(200);
    expect(served.messages).toContainEqual(expect.objectContaining({ id: nextId++ }));
    await bystander.check();
  });

  it('an upstream JSON answer that is not JSON becomes a JSON-RPC error, logged and counted', async () => {
    const session = await openSession(url);
    upstream.beforeRequest = (_req, res, body) => {
      if ((body as { params?: { arguments?: { text?: string } } })?.params?.arguments?.text !== 'broken') return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end('this is not json');
      return true;
    };
    const id = nextId++;
    const answer = await send(url, 'POST', toolCall(id, 'broken'), session.headers);
    expect(answer.status).toBe(502);
    expect(answer.text).not.toContain('this is not json');
    expectError(
      answer,
      502,
      'SHEPHERD_UPSTREAM_UNAVAILABLE',
      /the upstream sent output that is not JSON-RPC \(not JSON \(16 bytes\)\)/,
    );
    expect(answer.messages[0]).toMatchObject({ id });
    const warned = logs.lines().filter((line) => line.msg === 'upstream sent output that is not JSON-RPC');
    expect(warned).toEqual([expect.objectContaining({ sessionId: session.sessionId, problem: 'not JSON (16 bytes)' })]);
    expect(await fixture.shepherd.metrics.render()).toMatch(/^mcp_shepherd_upstream_invalid_messages_total 1$/m);
    // The session stays usable.
    const after = await send(url, 'POST', toolCall(nextId++, 'fine'), session.headers);
    expect(after.status).toBe(200);
    upstream.beforeRequest = undefined;
    await bystander.check();
  });

  it('non-JSON-RPC SSE data never reaches the client: dropped before a real answer, an error without one', async () => {
    const session = await openSession(url);
    upstream.beforeRequest = (_req, res, body) => {
      const { id, params } = body as { id: number; params?: { arguments?: { text?: string } } };
      const text = params?.arguments?.text;
      if (text !== 'junk-then-answer' && text !== 'junk-only') return false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: garbage\n\n');
      res.write('data: {"not":"json-rpc"}\n\n');
      const result = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'real answer' }] } };
      res.end(text === 'junk-then-answer' ? `data: ${JSON.stringify(result)}\n\n` : '');
      return true;
    };
    const answered = await send(url, 'POST', toolCall(nextId, 'junk-then-answer'), session.headers);
    expect(answered.status).toBe(200);
    expect(answered.text).not.toContain('garbage');
    expect(answered.text).not.toContain('json-rpc"');
    expect(answered.messages).toEqual([
      { jsonrpc: '2.0', id: nextId++, result: { content: [{ type: 'text', text: 'real answer' }] } },
    ]);
    const id = nextId++;
    const unanswered = await send(url, 'POST', toolCall(id, 'junk-only'), session.headers);
    expect(unanswered.text).not.toContain('garbage');
    expect(unanswered.messages).toEqual([
      expect.objectContaining({
        id,
        error: expect.objectContaining({
          message: expect.stringMatching(/the upstream sent output that is not JSON-RPC \(not JSON \(7 bytes\)\)/),
        }),
      }),
    ]);
    upstream.beforeRequest = undefined;
    await bystander.check();
  });

  it('a client that never finishes its headers, or its body, is cut off; a long SSE answer is not', async () => {
    const session = await openSession(url);
    const { host } = new URL(url);
    const headersOnly = rawConnection(url);
    headersOnly.socket.write(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\n`);
    const bodyless = rawConnection(url);
    bodyless.socket.write(
      [
        'POST /mcp HTTP/1.1',
        `Host: ${host}`,
        'Content-Type: application/json',
        'Accept: application/json, text/event-stream',
        `Mcp-Session-Id: ${session.sessionId}`,
        'Content-Length: 100',
        '',
        '{"jsonrpc":',
      ].join('\r\n'),
    );
    await waitFor(headersOnly.closed, 'the connection without headers to be closed', 3_000);
    await waitFor(bodyless.closed, 'the connection without its body to be closed', 4_000);
    expect(bodyless.text()).toMatch(/^HTTP\/1\.1 408 /);
    // The bystander's GET stream has been open for longer than the request timeout.
    await bystander.check();
  });
});

describe('--protocol-version-mismatch reject', () => {
  let fixture: ProxyFixture;
  let bystander: Bystander;
  beforeAll(async () => {
    ({ fixture, bystander } = await withProxy({ protocolVersionMismatch: 'reject' }));
  });
  afterAll(() => fixture.close());

  it('answers 400 naming both versions to a header that is not the negotiated one', async () => {
    const session = await openSession(fixture.url, '2025-06-18');
    const response = await send(fixture.url, 'POST', toolCall(1), {
      ...session.headers,
      'mcp-protocol-version': '2025-11-25',
    });
    expectError(
      response,
      400,
      'SHEPHERD_PROTOCOL_VERSION_MISMATCH',
      /^Bad Request: MCP-Protocol-Version 2025-11-25 is not the version this session negotiated \(2025-06-18\); send 2025-06-18\.$/,
    );
    const right = await send(fixture.url, 'POST', toolCall(2), session.headers);
    expect(right.status).toBe(200);
    await bystander.check();
  });
});
