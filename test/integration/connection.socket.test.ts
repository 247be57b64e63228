/**
 * The real connection actor (undici + eventsource-parser) against a loopback server that
 * misbehaves on command. Time is the TestClock: the test moves it by exactly the delay the
 * connection chose, so the delays are asserted, never slept.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionInput } from '../../machines/connection.types.js';
import { type Probe, probeConnection } from '../support/connection-probe.js';
import { json, ScriptedServer, type SseFrame, sse, status } from '../support/scripted-server.js';
import { waitFor } from '../support/wait.js';

const msg = (n: number) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { n } });
const ev = (id: string, n = Number(id.replace(/\D/g, ''))): SseFrame => ({ id, data: msg(n) });

let server: ScriptedServer;
let probe: Probe | undefined;

beforeEach(async () => {
  server = await ScriptedServer.start();
});
afterEach(async () => {
  probe?.stop();
  probe = undefined;
  await server.close();
});

function connect(extra: Partial<ConnectionInput> = {}, now?: () => number): Probe {
  probe = probeConnection(
    {
      id: 'get',
      url: server.url,
      headers: { 'Mcp-Session-Id': 'upstream-session', 'MCP-Protocol-Version': '2025-11-25' },
      random: () => 0.5, // no jitter: delays are exactly base * factor^(attempt-1)
      ...extra,
    },
    now ? { now } : {},
  );
  return probe;
}

describe('connection over real sockets', () => {
  it('opens with the session headers and delivers events in order', async () => {
    server.enqueue(sse([ev('e1'), ev('e2')], 'hold'));
    const p = connect();
    await p.until(() => p.deliveries.length === 2, 'two events');
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    expect(request?.headers.accept).toBe('text/event-stream');
    expect(request?.headers['mcp-session-id']).toBe('upstream-session');
    expect(request?.headers['mcp-protocol-version']).toBe('2025-11-25');
    expect(request?.headers['last-event-id']).toBeUndefined();
    expect(p.ids()).toEqual(['e1', 'e2']);
    expect(p.deliveries[0]?.event.message).toEqual(JSON.parse(msg(1)));
  });

  it('resumes with Last-Event-ID after a drop mid-event, without a gap or a duplicate', async () => {
    // The third event is cut in half: it must not be delivered, and must come again.
    server.enqueue(sse([ev('e1'), ev('e2')], 'drop', `id: e3\ndata: {"jsonrpc":"2.0",`));
    server.enqueue(sse([ev('e3'), ev('e4')], 'hold'));
    const p = connect();
    const waiting = await p.nextStatus('waiting');
    expect(waiting).toMatchObject({ reason: 'dropped', attempt: 1, delayMs: 1000, delaySource: 'backoff' });
    expect(server.requests).toHaveLength(1);
    p.clock.advance(1000);
    const resume = await server.waitForRequests(2);
    expect(resume.headers['last-event-id']).toBe('e2');
    await p.until(() => p.deliveries.length === 4, 'four events');
    expect(p.ids()).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('treats a graceful close after `retry:` as polling: waits exactly the hint, then resumes', async () => {
    // SEP-1699: a priming event (id, empty data) and a retry field, then the server closes.
    server.enqueue(sse([{ retry: 200, id: 'p1', data: '' }, ev('e1')], 'close'));
    server.enqueue(sse([ev('e2')], 'hold'));
    const p = connect();
    const waiting = await p.nextStatus('waiting');
    expect(waiting).toMatchObject({ reason: 'server-closed', attempt: 0, delayMs: 200, delaySource: 'retry-hint' });
    p.clock.advance(199);
    expect(server.requests).toHaveLength(1);
    p.clock.advance(1);
    expect((await server.waitForRequests(2)).headers['last-event-id']).toBe('e1');
    await p.until(() => p.ids().includes('e2'), 'e2');
    // The priming event is the connection's resume point, not something for its parent.
    expect(p.ids()).toEqual(['e1', 'e2']);
  });

  it('resumes from a priming event that came alone', async () => {
    server.enqueue(sse([{ retry: 100, id: 'p1', data: '' }], 'close'));
    server.enqueue(sse([ev('e1')], 'hold'));
    const p = connect();
    await p.nextStatus('waiting');
    p.clock.advance(100);
    expect((await server.waitForRequests(2)).headers['last-event-id']).toBe('p1');
    await p.until(() => p.ids().includes('e1'), 'e1');
    expect(p.ids()).toEqual(['e1']);
  });

  it('waits what Retry-After says on 503 (seconds form)', async () => {
    server.enqueue(status(503, { 'retry-after': '3' }), sse([ev('e1')], 'hold'));
    const p = connect();
    const waiting = await p.nextStatus('waiting');
    expect(waiting).toMatchObject({ reason: 'http-status', status: 503, delayMs: 3000, delaySource: 'retry-after' });
    p.clock.advance(3000);
    await p.until(() => p.ids().includes('e1'), 'e1');
  });

  it('waits what Retry-After says on 429 (HTTP-date form), capped at five minutes', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    server.enqueue(
      status(429, { 'retry-after': new Date(now + 7000).toUTCString() }),
      status(429, { 'retry-after': new Date(now + 3_600_000).toUTCString() }),
      sse([ev('e1')], 'hold'),
    );
    const p = connect({}, () => now);
    expect(await p.nextStatus('waiting')).toMatchObject({ status: 429, delayMs: 7000, delaySource: 'retry-after' });
    p.clock.advance(7000);
    expect(await p.nextStatus('waiting')).toMatchObject({ attempt: 2, delayMs: 300_000 });
    p.clock.advance(300_000);
    await p.until(() => p.ids().includes('e1'), 'e1');
  });

  it('ends as expired on 404 and makes no further request', async () => {
    server.enqueue(status(404, { 'content-type': 'application/json' }, '{"error":"unknown session"}'));
    const p = connect();
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'expired', reason: 'session-not-found', status: 404 });
    expect(p.clock.pending()).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('fails on another 4xx and on a wrong content type, with the reason', async () => {
    server.enqueue(status(403, { 'content-type': 'text/plain' }, 'forbidden origin'));
    const p = connect();
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'failed', reason: 'http-status', status: 403 });
    expect(p.output?.detail).toContain('forbidden origin');
    p.stop();

    server.enqueue(status(200, { 'content-type': 'text/html' }, '<html>'));
    const q = connect();
    await q.until(() => q.output !== undefined, 'output');
    expect(q.output).toMatchObject({ state: 'failed', reason: 'content-type', status: 200 });
  });

  it('detects a stalled stream, aborts it after the grace period and resumes', async () => {
    server.enqueue(sse([ev('e1')], 'hold'), sse([ev('e2')], 'hold'));
    const p = connect({ options: { heartbeatTimeoutMs: 10_000, stallGraceMs: 5_000, healthyAfterMs: 60_000 } });
    await p.until(() => p.ids().includes('e1'), 'e1');
    const first = server.requests[0];
    // e1 arrived in the first heartbeat period; the second one is silent: a stall.
    p.clock.advance(10_000);
    expect(p.statuses.at(-1)).toMatchObject({ state: 'open' });
    p.clock.advance(10_000);
    expect(p.statuses.at(-1)).toMatchObject({ state: 'stalled' });
    p.clock.advance(5_000);
    expect(p.statuses.at(-1)).toMatchObject({ state: 'waiting', reason: 'stalled', delayMs: 1000 });
    await first?.closed; // the stalled request was aborted
    p.clock.advance(1000);
    expect((await server.waitForRequests(2)).headers['last-event-id']).toBe('e1');
    await p.until(() => p.ids().includes('e2'), 'e2');
    expect(p.ids()).toEqual(['e1', 'e2']);
  });

  it('keeps a stream alive through `:` comments', async () => {
    let stream: ServerResponse | undefined;
    server.enqueue((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      stream = res;
    });
    const p = connect({ options: { heartbeatTimeoutMs: 10_000, healthyAfterMs: 60_000 } });
    await p.nextStatus('open');
    p.clock.advance(9_000);
    expect(p.clock.pending()).toContain(1_000); // the heartbeat is one second from firing
    stream?.write(': keep-alive\n\n');
    await waitFor(() => p.context()?.active === true, 'the comment to count as activity');
    // The heartbeat finds the stream active and starts over: ten seconds from now again.
    p.clock.advance(1_000);
    expect(p.clock.pending()).toContain(10_000);
    const before = p.statuses.length;
    p.clock.advance(9_999);
    expect(p.statuses.slice(before).map((s) => s.state)).not.toContain('stalled');
    p.clock.advance(1);
    expect(p.statuses.at(-1)?.state).toBe('stalled');
  });

  it('drops an event the server repeats after Last-Event-ID', async () => {
    server.enqueue(sse([ev('e1'), ev('e2')], 'drop'), sse([ev('e2'), ev('e3')], 'hold'));
    const p = connect();
    await p.nextStatus('waiting');
    p.clock.advance(1000);
    await p.until(() => p.ids().includes('e3'), 'e3');
    expect(p.ids()).toEqual(['e1', 'e2', 'e3']);
  });

  it('gives up after maxAttempts consecutive failures', async () => {
    server.enqueue(status(502), status(502), status(502));
    const p = connect({ options: { backoff: { maxAttempts: 2 } } });
    expect(await p.nextStatus('waiting')).toMatchObject({ attempt: 1, delayMs: 1000 });
    p.clock.advance(1000);
    expect(await p.nextStatus('waiting')).toMatchObject({ attempt: 2, delayMs: 2000 });
    p.clock.advance(2000);
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'failed', reason: 'attempts-exhausted', status: 502 });
    expect(server.requests).toHaveLength(3);
  });

  it('completes a POST stream once the response arrives, resuming it with GET if cut', async () => {
    const response = { jsonrpc: '2.0', id: 7, result: { content: [] } };
    server.enqueue(
      sse([{ id: 'p0', data: '' }, ev('n1')], 'drop'),
      sse([{ id: 'r1', data: JSON.stringify(response) }], 'hold'),
    );
    const p = connect({
      id: 'post',
      method: 'POST',
      body: '{"jsonrpc":"2.0","id":7,"method":"tools/call"}',
      headers: { 'content-type': 'application/json', 'Mcp-Session-Id': 'upstream-session' },
      awaitResponses: [7],
    });
    await p.nextStatus('waiting');
    const [post] = server.requests;
    expect(post?.method).toBe('POST');
    expect(post?.headers.accept).toBe('application/json, text/event-stream');
    expect(post?.body).toContain('tools/call');
    p.clock.advance(1000);
    const resume = await server.waitForRequests(2);
    expect(resume.method).toBe('GET');
    expect(resume.headers['last-event-id']).toBe('n1');
    expect(resume.headers['content-type']).toBeUndefined();
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'closed', reason: 'completed' });
    expect(p.ids()).toEqual(['n1', 'r1']);
    await resume.closed; // the finished stream's request is released
  });

  it('accepts a JSON answer to a POST as a one-message stream', async () => {
    server.enqueue(json({ jsonrpc: '2.0', id: 1, result: {} }));
    const p = connect({ id: 'post', method: 'POST', body: '{}', awaitResponses: [1] });
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'closed', reason: 'completed' });
    expect(p.deliveries.map((d) => d.event.message)).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });

  it('does not send a POST again after a network error (it may have been processed)', async () => {
    server.enqueue((_req, res) => res.socket?.destroy());
    const p = connect({ id: 'post', method: 'POST', body: '{}', awaitResponses: [1] });
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'failed', reason: 'not-resumable' });
    expect(server.requests).toHaveLength(1);
  });

  it('stops cleanly: the request is aborted and no timer is left', async () => {
    server.enqueue(sse([ev('e1')], 'hold'));
    const p = connect();
    await p.until(() => p.ids().length === 1, 'e1');
    p.send({ type: 'connection.stop' });
    await p.until(() => p.output !== undefined, 'output');
    expect(p.output).toMatchObject({ state: 'closed', reason: 'stopped', lastEventId: 'e1' });
    await server.requests[0]?.closed;
    expect(p.clock.pending()).toEqual([]);
  });
});
