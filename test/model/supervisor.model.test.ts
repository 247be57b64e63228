import { expect } from 'vitest';
import { fromCallback } from 'xstate';
import type { sessionMachine } from '../../machines/session.machine.js';
import type { SessionInput } from '../../machines/session.types.js';
import { sessionIdOfChild, supervisorMachine } from '../../machines/supervisor.machine.js';
import type { SupervisorEmitted } from '../../machines/supervisor.types.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'spawn'; id: string }
  | { kind: 'stop'; id: string }
  | { kind: 'received'; id: string; type: string }
  | { kind: 'emit'; event: SupervisorEmitted };

type SupervisorEvent = Parameters<ReturnType<typeof import('xstate').createActor<typeof supervisorMachine>>['send']>[0];

const sessionInput = (sessionId: string): SessionInput => ({
  sessionId,
  eventTag: 't',
  initialize: { key: 'k', body: '{}', requestId: 0 },
  upstream: { url: 'http://127.0.0.1:9/mcp' },
});

const model: MachineModel<typeof supervisorMachine> = {
  machine: supervisorMachine,
  inputs: [{ limits: { maxSessions: 2 } }],
  provide: (log) =>
    supervisorMachine.provide({
      actors: {
        session: fromCallback<{ type: string }, SessionInput>(({ input, receive }) => {
          log.push({ kind: 'spawn', id: input.sessionId });
          receive((event) => log.push({ kind: 'received', id: input.sessionId, type: event.type }));
          return () => log.push({ kind: 'stop', id: input.sessionId });
        }) as unknown as typeof sessionMachine,
      },
    }),
  attach: (actor, log) => {
    actor.on('*', (event: SupervisorEmitted) => log.push({ kind: 'emit', event }));
  },
  events: (snapshot) => {
    const live = Object.entries(snapshot.children).map(([childId, ref]) => ({
      childId,
      id: sessionIdOfChild(ref) as string,
    }));
    const fresh = `session-${'x'.repeat(12)}-${snapshot.context.live}-${live.map((s) => s.childId).join('')}`.slice(
      0,
      120,
    );
    const events: SupervisorEvent[] = [
      { type: 'supervisor.create', key: 'c', input: sessionInput(fresh) },
      { type: 'supervisor.create', key: 'bad', input: sessionInput('short id') },
      { type: 'supervisor.stop', key: 's', sessionId: 'no-such-session-0000' },
      { type: 'supervisor.drain' },
    ];
    // Children are named by slot; the session id is what clients and lifecycle events use.
    for (const { childId, id } of live) {
      events.push(
        { type: 'supervisor.stop', key: 's', sessionId: id },
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
    // The count, the children and the fakes still running all agree, within the limit.
    expect(live.size).toBe(snapshot.context.live);
    expect(Object.values(snapshot.children).map(sessionIdOfChild).sort()).toEqual([...live].sort());
    // Child ids come from a bounded set of slots (xstate memoizes per done-event type).
    for (const childId of Object.keys(snapshot.children)) {
      expect(Number(childId.slice('session-'.length))).toBeLessThan(2 * snapshot.context.limits.maxSessions);
    }
    expect(live.size).toBeLessThanOrEqual(snapshot.context.limits.maxSessions);
    const emitted = entries.flatMap((e) => (e.kind === 'emit' ? [e.event] : []));
    // Every session created was announced; every refusal says what to do.
    const created = emitted.filter((e) => e.type === 'supervisor.lifecycle' && e.event === 'created').length;
    expect(created).toBe(entries.filter((e) => e.kind === 'spawn').length);
    for (const e of emitted) if (e.type === 'supervisor.refused') expect(e.message.length).toBeGreaterThan(20);
    // A failing session is reported and forgotten; the supervisor carries on.
    expect(snapshot.status).not.toBe('error');
    if (snapshot.value === 'draining') {
      for (const id of live) {
        expect(entries.some((e) => e.kind === 'received' && e.id === id && e.type === 'session.shutdown')).toBe(true);
      }
    }
  },
};

describeTransitions(model);
