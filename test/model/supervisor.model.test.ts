import { expect } from 'vitest';
import { fromCallback } from 'xstate';
import type { SessionInput } from '../../machines/session.types.js';
import type { SessionGone, sessionGroupMachine } from '../../machines/session-group.machine.js';
import { SESSION_GROUPS, supervisorMachine } from '../../machines/supervisor.machine.js';
import type { SupervisorEmitted } from '../../machines/supervisor.types.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'group'; id: string }
  | { kind: 'received'; group: string; type: string }
  | { kind: 'gone'; event: SessionGone }
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
        // A fake group: records what the supervisor asks of it.
        group: fromCallback<{ type: string }, { slots: number }>(({ receive, self }) => {
          log.push({ kind: 'group', id: self.id });
          receive((event) => log.push({ kind: 'received', group: self.id, type: event.type }));
        }) as unknown as typeof sessionGroupMachine,
      },
    }),
  attach: (actor, log) => {
    actor.on('*', (event: SupervisorEmitted) => log.push({ kind: 'emit', event }));
    actor.system.inspect((event) => {
      if (event.type === '@xstate.event' && event.actorRef === actor && event.event.type === 'group.session.gone') {
        log.push({ kind: 'gone', event: event.event as SessionGone });
      }
    });
  },
  events: (snapshot) => {
    const fresh = `session-${'x'.repeat(12)}-${snapshot.context.live}-${snapshot.context.nextGroup}`;
    const events: SupervisorEvent[] = [
      { type: 'supervisor.create', key: 'c', input: sessionInput(fresh) },
      { type: 'supervisor.create', key: 'bad', input: sessionInput('short id') },
      { type: 'supervisor.stop', key: 's', sessionId: 'no-such-session-0000' },
      { type: 'supervisor.drain' },
      { type: 'session.lifecycle', sessionId: fresh, event: 'initialized' },
    ];
    // A group reports only sessions it holds.
    if (snapshot.context.live > 0) {
      events.push(
        { type: 'group.session.gone', sessionId: fresh },
        { type: 'group.session.gone', sessionId: fresh, failure: 'boom' },
      );
    }
    return events;
  },
  serialize: (snapshot) => JSON.stringify([snapshot.value, snapshot.context.live]),
  check: ({ snapshot, log }) => {
    const entries = log as Logged[];
    // Every group was started once.
    expect(entries.filter((e) => e.kind === 'group')).toHaveLength(SESSION_GROUPS);
    expect(Object.keys(snapshot.children)).toHaveLength(SESSION_GROUPS);
    // The count is what the groups were given minus what they reported gone, within the limit.
    const given = entries.filter((e) => e.kind === 'received' && e.type === 'group.create').length;
    const gone = entries.filter((e) => e.kind === 'gone');
    expect(snapshot.context.live).toBe(given - gone.length);
    expect(snapshot.context.live).toBeLessThanOrEqual(snapshot.context.limits.maxSessions);
    const emitted = entries.flatMap((e) => (e.kind === 'emit' ? [e.event] : []));
    // Every session created was announced; every failure too; every refusal says what to do.
    const created = emitted.filter((e) => e.type === 'supervisor.lifecycle' && e.event === 'created').length;
    expect(created).toBe(given);
    const failed = emitted.filter((e) => e.type === 'supervisor.lifecycle' && e.event === 'failed').length;
    expect(failed).toBe(gone.filter((e) => e.kind === 'gone' && e.event.failure !== undefined).length);
    for (const e of emitted) if (e.type === 'supervisor.refused') expect(e.message.length).toBeGreaterThan(20);
    // Draining asks every group to shut its sessions down.
    if (snapshot.value !== 'running') {
      const told = new Set(
        entries.flatMap((e) => (e.kind === 'received' && e.type === 'group.shutdown' ? [e.group] : [])),
      );
      expect(told.size).toBe(SESSION_GROUPS);
    }
  },
};

describeTransitions(model);
