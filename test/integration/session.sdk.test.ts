import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventId } from '../../machines/event-id.js';
import type { SessionActorRef } from '../../machines/session.machine.js';
import type { SessionEmitted } from '../../machines/session.types.js';
import { DemoServer } from '../../src/demo/demo-server.js';
import { SupervisorRuntime, type SupervisorRuntimeOptions } from '../../src/session/supervisor-runtime.js';
import { connectingSockets, heapAfterGc } from '../support/leaks.js';
import { Recorder } from '../support/recorder.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { TestClock } from '../support/test-clock.js';
import { waitFor } from '../support/wait.js';

const initialize = (id = 0) => ({
  requestId: id,
  body: JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
  }),
});

let upstream: DemoServer;
let relay: TcpRelay;
let clock: TestClock;
let runtime: SupervisorRuntime | undefined;

beforeEach(async () => {
  upstream = await DemoServer.start();
  relay = await TcpRelay.start(upstream.port);
  clock = new TestClock();
});
afterEach(async () => {
  runtime?.stop();
  runtime = undefined;
  await relay.close();
  await upstream.close();
});

function start(options: Partial<SupervisorRuntimeOptions> = {}): SupervisorRuntime {
  runtime = new SupervisorRuntime({
    upstream: { url: upstream.urlVia(relay.port) },
    clock,
    connection: { backoff: { jitter: 0 } },
    ...options,
  });
  return runtime;
}

/** Creates a session and waits for its initialize to complete. */
async function open(rt: SupervisorRuntime) {
  const created = rt.createSession(initialize());
  if (!created.ok) throw created.error;
  const session = rt.session(created.sessionId) as SessionActorRef;
  const events = new Recorder<SessionEmitted>();
  session.on('*', (event: SessionEmitted) => events.push(event));
  await events.until((all) => all.some((e) => e.type === 'session.initialized'), 'initialized');
  const upstreamSessionId = session.getSnapshot().context.upstreamSessionId as string;
  return { sessionId: created.sessionId, session, events, upstreamSessionId };
}

/** Resumes with Last-Event-ID and waits for the session's answer to it. */
let resumes = 0;
async function resume(session: SessionActorRef, events: Recorder<SessionEmitted>, lastEventId: string) {
  const key = `resume-${resumes++}`;
  session.send({ type: 'session.resume', key, lastEventId });
  await events.until(
    (all) => all.some((e) => (e.type === 'session.resumed' || e.type === 'session.refused') && e.key === key),
    'the answer to the resume',
  );
  return events.items.find(
    (e) => (e.type === 'session.resumed' || e.type === 'session.refused') && e.key === key,
  ) as Extract<SessionEmitted, { type: 'session.resumed' | 'session.refused' }>;
}

const messagesOn = (events: SessionEmitted[], stream: number) =>
  events.flatMap((e) =>
    e.type === 'session.event' && e.stream === stream
      ? [(e.message as { params?: { data?: string } }).params?.data]
      : [],
  );

async function listen(session: SessionActorRef, events: Recorder<SessionEmitted>) {
  session.send({ type: 'session.listen', key: 'get' });
  await events.until(
    (all) => all.some((e) => e.type === 'session.stream.status' && e.stream === 0 && e.state === 'open'),
    'standalone stream open',
  );
}

describe('sessions over real sockets, SDK upstream', () => {
  it('initializes upstream, keeps the upstream id private, and numbers events with its own ids', async () => {
    const rt = start();
    const { session, sessionId, events, upstreamSessionId } = await open(rt);
    expect(upstreamSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sessionId).not.toBe(upstreamSessionId);
    expect(sessionId).toMatch(/^[\x21-\x7e]{16,}$/);
    expect(session.getSnapshot().context.protocolVersion).toBe('2025-06-18');
    const result = events.items.find((e) => e.type === 'session.event');
    expect(result).toMatchObject({ stream: 1, message: { id: 0, result: { protocolVersion: '2025-06-18' } } });
    expect(parseEventId((result as { eventId: string }).eventId)).toMatchObject({ stream: 1, seq: 1 });

    session.send({
      type: 'session.request',
      key: 'call',
      requestIds: [1],
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'hi' } },
      }),
    });
    await events.until(
      (all) => all.some((e) => e.type === 'session.stream.ended' && e.stream === 2),
      'tools/call stream ended',
    );
    const answer = events.items.find((e) => e.type === 'session.event' && e.stream === 2);
    expect(answer).toMatchObject({ message: { id: 1, result: { content: [{ type: 'text', text: 'hi' }] } } });
    expect(events.items.find((e) => e.type === 'session.stream.ended' && e.stream === 2)).toMatchObject({
      state: 'closed',
      reason: 'completed',
      unanswered: [],
    });
  });

  it('keeps two sessions apart: neither sees the other’s events', async () => {
    const rt = start();
    const a = await open(rt);
    const b = await open(rt);
    await listen(a.session, a.events);
    await listen(b.session, b.events);
    await upstream.notify(a.upstreamSessionId, 'for-a');
    await upstream.notify(b.upstreamSessionId, 'for-b');
    await a.events.until((all) => messagesOn(all, 0).length === 1, 'a notified');
    await b.events.until((all) => messagesOn(all, 0).length === 1, 'b notified');
    expect(messagesOn(a.events.items, 0)).toEqual(['for-a']);
    expect(messagesOn(b.events.items, 0)).toEqual(['for-b']);
    // An id from session a means nothing to session b.
    const idFromA = a.events.items.find((e) => e.type === 'session.event' && e.stream === 0) as { eventId: string };
    expect(await resume(b.session, b.events, idFromA.eventId)).toMatchObject({
      type: 'session.refused',
      code: 'foreign',
    });
  });

  it('resumes after the upstream connection is cut: every missed event exactly once, in order', async () => {
    const rt = start();
    const { session, sessionId, events, upstreamSessionId } = await open(rt);
    await listen(session, events);
    await upstream.notify(upstreamSessionId, 'n1');
    await upstream.notify(upstreamSessionId, 'n2');
    await events.until((all) => messagesOn(all, 0).length === 2, 'n1, n2');

    relay.cutAll();
    const dropped = await events.until(
      (all) => all.some((e) => e.type === 'session.stream.status' && e.stream === 0 && e.state === 'waiting'),
      'stream waiting',
    );
    expect(dropped).toBeUndefined();
    await upstream.notify(upstreamSessionId, 'n3'); // sent while the stream is down: stored upstream
    clock.advance(1000); // the backoff delay, no jitter
    await upstream.notify(upstreamSessionId, 'n4');
    await events.until((all) => messagesOn(all, 0).length === 4, 'n3, n4');
    expect(messagesOn(events.items, 0)).toEqual(['n1', 'n2', 'n3', 'n4']);

    // The session's own ids keep increasing across the reconnect, and its log replays a stream.
    const ids = events.items.flatMap((e) => (e.type === 'session.event' && e.stream === 0 ? [e.eventId] : []));
    const seqs = ids.map((id) => parseEventId(id)?.seq ?? 0);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // The stream is attached to the listening client: a second client may not resume it (409).
    expect(await resume(session, events, ids[1] as string)).toMatchObject({ code: 'stream-attached' });
    session.send({ type: 'session.client.detach', key: 'get', stream: 0, delivered: false });
    const replay = await resume(session, events, ids[1] as string);
    expect(replay.type === 'session.resumed' && replay.events.map((e) => JSON.parse(e.data).params.data)).toEqual([
      'n3',
      'n4',
    ]);
    expect(replay).toMatchObject({ live: true, stream: 0 });
    expect(rt.inspect(sessionId)?.streams.find((s) => s.stream === 0)?.attached).toBe(true);
  });

  it('expires when idle: upstream DELETE sent, children, timers, log and sockets all gone', async () => {
    const rt = start({ session: { idleTimeoutMs: 60_000 } });
    const { session, sessionId, events, upstreamSessionId } = await open(rt);
    const log = session.getSnapshot().context.config.eventLog;
    await events.until(() => session.getSnapshot().matches({ live: { active: 'idle' } }), 'idle');
    clock.advance(60_000);
    await events.until((all) => all.some((e) => e.type === 'session.ended'), 'ended');
    expect(events.items.find((e) => e.type === 'session.ended')).toMatchObject({ state: 'expired', reason: 'idle' });
    await waitFor(() => upstream.deleted.includes(upstreamSessionId) && rt.sessionCount === 0);
    expect(rt.session(sessionId)).toBeUndefined();
    expect(log.stats()).toMatchObject({ events: 0, bytes: 0 });
    expect(clock.pending()).toEqual([]);
    expect(upstream.sessions.has(upstreamSessionId)).toBe(false);
  });

  it('a burst of 1000 sessions created and ended leaves the actor system and memory at baseline', async () => {
    const rt = start();
    await createAndEnd(rt, 50); // warm up code paths and pools before the baseline
    const baseline = heapAfterGc();
    const ids = await createAndEnd(rt, 1000);
    expect(new Set(ids).size).toBe(1000);
    expect(ids.filter((id) => rt.session(id) !== undefined)).toEqual([]);
    expect(upstream.deleted).toHaveLength(1050);
    expect(rt.sessionCount).toBe(0);
    expect(rt.sessionActors()).toEqual([]);
    expect(upstream.sessions.size).toBe(0);
    expect(clock.pending()).toEqual([]);
    // A session ended at once leaves its GET stream's socket still connecting: undici destroys
    // it when the connect completes. Memory is back once they have.
    await waitFor(() => connectingSockets() === 0, 'in-flight connects to finish', 20_000);
    const grown = heapAfterGc() - baseline;
    // A leak of even 5 KB per session would show as 5 MB; the log and actors are freed.
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  }, 120_000);

  it('expires when the upstream session is gone (404, policy propagate), without sending DELETE', async () => {
    const rt = start({ onUpstreamGone: 'propagate' });
    const { session, sessionId, events, upstreamSessionId } = await open(rt);
    await upstream.forget(upstreamSessionId);
    session.send({
      type: 'session.request',
      key: 'call',
      requestIds: [5],
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    });
    await events.until((all) => all.some((e) => e.type === 'session.ended'), 'ended');
    // The request got 404, or the proxy's own GET stream did first and the session ended under it.
    const call = events.items.find((e) => e.type === 'session.stream.ended' && e.stream === 2);
    expect(call).toMatchObject({ unanswered: [5] });
    expect(['expired', 'stopped']).toContain((call as { state: string }).state);
    expect(
      events.items.some((e) => e.type === 'session.stream.ended' && e.state === 'expired' && e.status === 404),
    ).toBe(true);
    expect(events.items.find((e) => e.type === 'session.ended')).toMatchObject({
      state: 'expired',
      reason: 'upstream-gone',
    });
    await waitFor(() => rt.sessionCount === 0);
    expect(rt.session(sessionId)).toBeUndefined();
    expect(upstream.deleted).toEqual([]);
  });

  it('expires at the end of its lifetime even while streaming, aborting the stream', async () => {
    const rt = start({ session: { maxLifetimeMs: 120_000 } });
    const { session, sessionId, events } = await open(rt);
    await listen(session, events);
    expect(upstream.openGetStreams).toBe(1);
    clock.advance(120_000);
    await events.until((all) => all.some((e) => e.type === 'session.ended'), 'ended');
    expect(events.items.find((e) => e.type === 'session.ended')).toMatchObject({ reason: 'lifetime' });
    expect(events.items.find((e) => e.type === 'session.stream.ended' && e.stream === 0)).toMatchObject({
      state: 'stopped',
    });
    await waitFor(() => rt.sessionCount === 0);
    expect(rt.session(sessionId)).toBeUndefined();
    expect(clock.pending()).toEqual([]);
    // The upstream GET request was aborted: the server sees its stream close.
    await waitFor(() => upstream.openGetStreams === 0);
  });
});

/** Client sockets whose connect has not completed. */

async function createAndEnd(rt: SupervisorRuntime, count: number): Promise<string[]> {
  const batch = 50;
  const ids: string[] = [];
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => open(rt)));
    for (const { session, sessionId } of opened) {
      ids.push(sessionId);
      session.send({ type: 'session.delete' });
    }
    await waitFor(() => rt.sessionCount === 0, 'the batch to end', 10_000);
  }
  return ids;
}
