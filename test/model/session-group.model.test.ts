import { expect } from 'vitest';
import { fromCallback } from 'xstate';
import type { sessionMachine } from '../../machines/session.machine.js';
import type { SessionInput, SessionLifecycle } from '../../machines/session.types.js';
import { type SessionGone, sessionGroupMachine, sessionIdOfChild } from '../../machines/session-group.machine.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'spawn'; id: string }
  | { kind: 'stop'; id: string }
  | { kind: 'received'; id: string; type: string }
  | { kind: 'relayed'; event: SessionLifecycle }
  | { kind: 'gone'; event: SessionGone };

type GroupEvent = Parameters<ReturnType<typeof import('xstate').createActor<typeof sessionGroupMachine>>['send']>[0];

const SLOTS = 4;

const sessionInput = (sessionId: string): SessionInput => ({
  sessionId,
  eventTag: 't',
  initialize: { key: 'k', body: '{}', requestId: 0 },
  upstream: { url: 'http://127.0.0.1:9/mcp' },
});

const model: MachineModel<typeof sessionGroupMachine> = {
  machine: sessionGroupMachine,
  inputs: [{ slots: SLOTS }],
  provide: (log) =>
    sessionGroupMachine.provide({
      actors: {
        session: fromCallback<{ type: string }, SessionInput>(({ input, receive }) => {
          log.push({ kind: 'spawn', id: input.sessionId });
          receive((event) => log.push({ kind: 'received', id: input.sessionId, type: event.type }));
          return () => log.push({ kind: 'stop', id: input.sessionId });
        }) as unknown as typeof sessionMachine,
      },
      actions: {
        relayLifecycle: ({ event }) => log.push({ kind: 'relayed', event: event as SessionLifecycle }),
        reportGone: (_, params: SessionGone) => log.push({ kind: 'gone', event: params }),
      },
    }),
  events: (snapshot) => {
    const live = Object.entries(snapshot.children).map(([childId, ref]) => ({
      childId,
      id: sessionIdOfChild(ref) as string,
    }));
    const events: GroupEvent[] = [{ type: 'group.shutdown' }];
    // The supervisor never gives a group more sessions than half its slots (maxSessions).
    if (live.length < SLOTS / 2) {
      const fresh = `session-${snapshot.context.nextSlot}-${live.map((s) => s.childId).join('')}`;
      events.push({ type: 'group.create', input: sessionInput(fresh) });
    }
    for (const { childId, id } of live) {
      events.push(
        { type: 'session.lifecycle', sessionId: id, event: 'initialized' },
        { type: `xstate.done.actor.${childId}`, output: { state: 'expired', reason: 'idle' }, actorId: childId },
        { type: `xstate.error.actor.${childId}`, error: new Error('boom'), actorId: childId },
      );
    }
    return events;
  },
  serialize: (snapshot) => JSON.stringify([snapshot.value, Object.keys(snapshot.children).length]),
  check: ({ snapshot, log }) => {
    const entries = log as Logged[];
    const live = new Set<string>();
    for (const e of entries) {
      if (e.kind === 'spawn') live.add(e.id);
      if (e.kind === 'stop') live.delete(e.id);
    }
    // The children and the fakes still running agree.
    expect(Object.values(snapshot.children).map(sessionIdOfChild).sort()).toEqual([...live].sort());
    // Child ids come from a bounded set of slots (xstate memoizes per done-event type).
    for (const childId of Object.keys(snapshot.children)) {
      expect(Number(childId.slice('session-'.length))).toBeLessThan(SLOTS);
    }
    // Every session stopped was reported gone to the supervisor, a failure with its reason.
    const stopped = entries.filter((e) => e.kind === 'stop').map((e) => (e as { id: string }).id);
    const gone = entries.flatMap((e) => (e.kind === 'gone' ? [e.event] : []));
    expect(gone.map((g) => g.sessionId)).toEqual(stopped);
    for (const g of gone) if (g.failure !== undefined) expect(g.failure).toBe('boom');
    // Lifecycle events go up unchanged, each from a session this group spawned.
    const spawned = new Set(entries.flatMap((e) => (e.kind === 'spawn' ? [e.id] : [])));
    for (const e of entries) {
      if (e.kind !== 'relayed') continue;
      expect(e.event).toMatchObject({ type: 'session.lifecycle', event: 'initialized' });
      expect(spawned.has(e.event.sessionId)).toBe(true);
    }
    expect(snapshot.status).not.toBe('error');
  },
};

describeTransitions(model);
