import { expect } from 'vitest';
import { fromCallback, fromPromise } from 'xstate';
import type { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionInput, ConnectionStatus } from '../../machines/connection.types.js';
import { parseEventId } from '../../machines/event-id.js';
import type { processMachine } from '../../machines/process.machine.js';
import { INITIALIZE_STREAM, STANDALONE_STREAM, sessionMachine } from '../../machines/session.machine.js';
import type { DeleteUpstreamInput, SessionEmitted, SessionEvent, SessionInput } from '../../machines/session.types.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'spawn'; input: ConnectionInput }
  | { kind: 'stop'; id: string }
  | { kind: 'delete'; headers: Record<string, string> }
  | { kind: 'record'; stream: number; eventId: string }
  | { kind: 'notify'; event: string }
  | { kind: 'emit'; event: SessionEmitted }
  | { kind: 'spawn-host' }
  | { kind: 'stop-host' }
  | { kind: 'host-received'; type: string };

const input: SessionInput = {
  sessionId: 'client-session-0123456789',
  eventTag: 'tag1',
  initialize: { key: 'init', body: '{"jsonrpc":"2.0","id":0,"method":"initialize"}', requestId: 0 },
  upstream: { url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'Bearer t' } },
  limits: { maxConnectionsPerSession: 2, idleTimeoutMs: 1000, maxLifetimeMs: 100_000, deleteTimeoutMs: 500 },
};

function status(stream: number, state: ConnectionStatus['state'], extra: Partial<ConnectionStatus> = {}): SessionEvent {
  return { type: 'connection.status', id: `stream-${stream}`, state, attempt: 0, opens: 1, ...extra };
}

function delivery(stream: number, message: unknown, id = `u${stream}`): SessionEvent {
  return { type: 'connection.event', id: `stream-${stream}`, event: { id, data: JSON.stringify(message), message } };
}

/** The same session with a stdio upstream: it runs a `host` child (the process). */
const stdioInput: SessionInput = {
  ...input,
  upstream: { url: 'stdio:server', process: { command: 'server' } },
};

const model: MachineModel<typeof sessionMachine> = {
  machine: sessionMachine,
  inputs: [input, stdioInput],
  provide: (log) =>
    sessionMachine.provide({
      actors: {
        connection: fromCallback<never, ConnectionInput>(({ input }) => {
          log.push({ kind: 'spawn', input });
          return () => log.push({ kind: 'stop', id: input.id });
        }) as unknown as typeof connectionMachine,
        upstreamHost: fromCallback<{ type: string }, { sessionId: string }>(({ receive }) => {
          log.push({ kind: 'spawn-host' });
          receive((event) => log.push({ kind: 'host-received', type: event.type }));
          return () => log.push({ kind: 'stop-host' });
        }) as unknown as typeof processMachine,
        deleteUpstream: fromPromise<void, DeleteUpstreamInput>(({ input }) => {
          log.push({ kind: 'delete', headers: input.headers });
          return new Promise<void>(() => {});
        }),
      },
      actions: {
        record: (_, params) => log.push({ kind: 'record', stream: params.stream, eventId: params.eventId }),
        notify: (_, params) => log.push({ kind: 'notify', event: params.event }),
      },
    }),
  attach: (actor, log) => {
    actor.on('*', (event: SessionEmitted) => log.push({ kind: 'emit', event: event as SessionEmitted }));
  },
  events: ({ context }) => {
    const events: SessionEvent[] = [
      { type: 'session.request', key: `r${context.nextStream}`, body: '{}', requestIds: [context.nextStream] },
      {
        type: 'session.request',
        key: 'n',
        body: '{"method":"notifications/initialized"}',
        requestIds: [],
        replayOnReinit: true,
      },
      { type: 'session.listen', key: 'get' },
      { type: 'session.client.attach' },
      { type: 'session.client.detach' },
      { type: 'session.delete' },
      { type: 'session.shutdown' },
      { type: 'xstate.done.actor.deleteUpstream' },
      { type: 'xstate.done.actor.host', output: undefined } as unknown as SessionEvent,
      { type: 'xstate.error.actor.deleteUpstream', error: new Error('refused') },
    ];
    const done = (stream: number, state: 'closed' | 'failed' | 'expired', status?: number): SessionEvent => ({
      type: `xstate.done.actor.stream-${stream}`,
      output: { state, reason: state === 'expired' ? 'session-not-found' : 'completed', status },
    });
    for (const stream of [...context.hiddenStreams, ...Object.keys(context.streams).map(Number)]) {
      events.push(done(stream, 'expired', 404), done(stream, 'closed'), done(stream, 'failed', 500));
    }
    for (const stream of context.hiddenStreams) {
      events.push(
        status(stream, 'open', { sessionId: 'upstream-2' }),
        status(stream, 'closed', { reason: 'accepted' }),
        status(stream, 'failed', { reason: 'http-status', status: 500 }),
        delivery(stream, { jsonrpc: '2.0', id: input.initialize.requestId, result: { protocolVersion: '2025-11-25' } }),
      );
    }
    for (const [key, entry] of Object.entries(context.streams)) {
      const stream = Number(key);
      const first = entry.pending[0] ?? 99;
      events.push(
        status(stream, 'open', stream === INITIALIZE_STREAM ? { sessionId: 'upstream-1' } : {}),
        status(stream, 'closed', { reason: 'completed' }),
        status(stream, 'failed', { reason: 'http-status', status: 405 }),
        status(stream, 'expired', { reason: 'session-not-found', status: 404 }),
        delivery(stream, { jsonrpc: '2.0', id: first, result: { protocolVersion: '2025-11-25' } }),
        delivery(stream, { jsonrpc: '2.0', id: first, error: { code: -32600, message: 'no' } }),
        delivery(stream, { jsonrpc: '2.0', method: 'notifications/progress' }),
        { type: 'connection.event', id: `stream-${stream}`, event: { id: 'prime', data: '' } },
      );
    }
    return events;
  },
  serialize: ({ value, context }) =>
    JSON.stringify([
      value,
      Object.keys(context.streams),
      context.clientStreams > 0,
      context.upstreamSessionId !== undefined,
      context.endReason,
      context.hiddenStreams.length,
      context.initializedBody !== undefined,
      context.reinitializations,
    ]),
  check: ({ snapshot, log, clock }) => {
    const entries = log as Logged[];
    const { context } = snapshot;
    const live = new Set<string>();
    for (const e of entries) {
      if (e.kind === 'spawn') live.add(e.input.id);
      if (e.kind === 'stop') live.delete(e.id);
    }
    // One connection child per live stream (plus hidden ones), none once the session is over.
    const reinitializing = snapshot.matches({ live: 'reinitializing' });
    const expected = [...(reinitializing ? [] : Object.keys(context.streams)), ...context.hiddenStreams.map(String)];
    expect([...live].sort()).toEqual(snapshot.status === 'done' ? [] : expected.map((n) => `stream-${n}`).sort());
    expect(Object.keys(context.streams).length).toBeLessThanOrEqual(context.limits.maxConnectionsPerSession);

    // Every forwarded event is logged, with an id unique in the session that names its stream.
    const forwarded = entries.flatMap((e) => (e.kind === 'emit' && e.event.type === 'session.event' ? [e.event] : []));
    const recorded = entries.flatMap((e) => (e.kind === 'record' ? [e.eventId] : []));
    expect(recorded).toEqual(forwarded.map((e) => e.eventId));
    const seqs = forwarded.map((e) => {
      const parts = parseEventId(e.eventId);
      expect(parts).toMatchObject({ tag: input.eventTag, stream: e.stream });
      return parts?.seq ?? -1;
    });
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(forwarded.every((e) => e.data !== '')).toBe(true);

    // Requests sent since the last (re)initialize all carry that upstream session's id.
    const spawns = entries.flatMap((e) => (e.kind === 'spawn' ? [e.input] : []));
    const lastInit = spawns.map((i) => i.body === input.initialize.body).lastIndexOf(true);
    for (const [index, spawned] of spawns.entries()) {
      if (spawned.body === input.initialize.body) {
        expect(spawned.headers?.['mcp-session-id']).toBeUndefined();
        continue;
      }
      expect(spawned.headers?.authorization).toBe('Bearer t');
      expect(spawned.method).toBe(spawned.id === `stream-${STANDALONE_STREAM}` ? 'GET' : 'POST');
      if (index > lastInit && !reinitializing)
        expect(spawned.headers?.['mcp-session-id']).toBe(context.upstreamSessionId);
    }
    const deletes = entries.filter((e) => e.kind === 'delete');
    if (context.endReason === 'upstream-gone' || context.upstreamSessionId === undefined) {
      expect(deletes).toEqual([]);
    }
    for (const d of deletes) {
      if (d.kind === 'delete') expect(d.headers['mcp-session-id']).toBe(context.upstreamSessionId);
    }
    // A stdio session runs exactly one host while it lives; a session ends only after the
    // host was asked to shut down or had already ended.
    const hosts =
      entries.filter((e) => e.kind === 'spawn-host').length - entries.filter((e) => e.kind === 'stop-host').length;
    expect(hosts).toBe(context.hostAlive ? 1 : 0);
    if (snapshot.status === 'done') {
      // Over: no timer, no child, one announcement.
      expect(clock.pending()).toEqual([]);
      const ended = entries.filter((e) => e.kind === 'emit' && e.event.type === 'session.ended');
      expect(ended).toHaveLength(1);
      expect(snapshot.output?.reason).toBe(context.endReason);
    }
  },
};

describeTransitions(model);
