import { afterAll, describe, expect, it } from 'vitest';
import { fromCallback, fromPromise } from 'xstate';
import type { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionInput, ConnectionStatus } from '../../machines/connection.types.js';
import { parseEventId } from '../../machines/event-id.js';
import { INITIALIZE_STREAM, STANDALONE_STREAM, sessionMachine } from '../../machines/session.machine.js';
import type { DeleteUpstreamInput, SessionEmitted, SessionEvent, SessionInput } from '../../machines/session.types.js';
import { findTransitionPaths, type MachineModel, replay, writeCoverage } from './harness.js';

type Logged =
  | { kind: 'spawn'; input: ConnectionInput }
  | { kind: 'stop'; id: string }
  | { kind: 'delete'; headers: Record<string, string> }
  | { kind: 'record'; stream: number; eventId: string }
  | { kind: 'notify'; event: string }
  | { kind: 'emit'; event: SessionEmitted };

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

const model: MachineModel<typeof sessionMachine> = {
  machine: sessionMachine,
  inputs: [input],
  provide: (log) =>
    sessionMachine.provide({
      actors: {
        connection: fromCallback<never, ConnectionInput>(({ input }) => {
          log.push({ kind: 'spawn', input });
          return () => log.push({ kind: 'stop', id: input.id });
        }) as unknown as typeof connectionMachine,
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
      { type: 'session.listen', key: 'get' },
      { type: 'session.client.attach' },
      { type: 'session.client.detach' },
      { type: 'session.delete' },
      { type: 'session.shutdown' },
      { type: 'xstate.done.actor.deleteUpstream' },
      { type: 'xstate.error.actor.deleteUpstream', error: new Error('refused') },
    ];
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
    ]),
  check: ({ snapshot, log, clock }) => {
    const entries = log as Logged[];
    const { context } = snapshot;
    const live = new Set<string>();
    for (const e of entries) {
      if (e.kind === 'spawn') live.add(e.input.id);
      if (e.kind === 'stop') live.delete(e.id);
    }
    // One connection child per live stream, none once the session is over.
    expect([...live].sort()).toEqual(
      snapshot.status === 'done'
        ? []
        : Object.keys(context.streams)
            .map((n) => `stream-${n}`)
            .sort(),
    );
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

    // Upstream requests after initialize carry the upstream session id and protocol version.
    for (const e of entries) {
      if (e.kind !== 'spawn' || e.input.id === `stream-${INITIALIZE_STREAM}`) continue;
      expect(e.input.headers?.['mcp-session-id']).toBe(context.upstreamSessionId);
      expect(e.input.headers?.authorization).toBe('Bearer t');
      expect(e.input.method).toBe(e.input.id === `stream-${STANDALONE_STREAM}` ? 'GET' : 'POST');
    }

    const deletes = entries.filter((e) => e.kind === 'delete');
    if (context.endReason === 'upstream-gone' || context.upstreamSessionId === undefined) {
      expect(deletes).toEqual([]);
    }
    for (const d of deletes) {
      if (d.kind === 'delete') expect(d.headers['mcp-session-id']).toBe(context.upstreamSessionId);
    }
    if (snapshot.status === 'done') {
      // Over: no timer, no child, one announcement.
      expect(clock.pending()).toEqual([]);
      const ended = entries.filter((e) => e.kind === 'emit' && e.event.type === 'session.ended');
      expect(ended).toHaveLength(1);
      expect(snapshot.output?.reason).toBe(context.endReason);
    }
  },
};

const { paths, unreached } = findTransitionPaths(model);
const covered = new Set<string>();

describe('session machine: one generated path per transition', () => {
  afterAll(() => writeCoverage(sessionMachine, covered));

  it('every transition is reachable', () => {
    expect(unreached.map((t) => t.label)).toEqual([]);
  });

  for (const path of paths) {
    it(path.transition.label, () => {
      const result = replay(model, path.inputIndex, path.steps, (step, taken) => {
        for (const key of taken) covered.add(key);
        model.check?.(step);
      });
      expect(result.errors).toEqual([]);
      expect(result.lastTaken).toContain(path.transition.key);
    });
  }
});
