/**
 * The supervisor with its real session groups and real sessions in them (their leaf
 * effects faked, test/model/session-world.ts): what it counts, refuses and announces.
 */
import { expect } from 'vitest';
import { sessionGroupMachine } from '../../machines/session-group.machine.js';
import { SESSION_GROUPS, supervisorMachine } from '../../machines/supervisor.machine.js';
import type { SupervisorEmitted } from '../../machines/supervisor.types.js';
import type { Effect, MachineModel, Step } from './harness.js';
import {
  type Logged,
  performReaderStep,
  provideSession,
  readerSteps,
  type SessionWorld,
  sessionInput,
  sessionWorld,
  WorldLog,
} from './session-world.js';
import { describeTransitions } from './transition-suite.js';

type SupervisorEffect = Effect<typeof supervisorMachine, SessionWorld>;
const announcements = (log: Logged[]) => log.flatMap((r) => (r.kind === 'announce' ? [r.event] : []));
/** What the supervisor announced during the step. */
const announced = (e: SupervisorEffect) => announcements(e.recorded as Logged[]);
const lifecycle = (e: SupervisorEffect, name: string) =>
  announced(e).filter((event) => event.type === 'supervisor.lifecycle' && event.event === name);
const refusedWith = (code: string) => (e: SupervisorEffect) => {
  expect(announced(e)).toContainEqual(
    expect.objectContaining({ type: 'supervisor.refused', code, message: expect.stringMatching(/.{20,}/) }),
  );
  expect(e.after.snapshot.context.live).toBe(e.before.snapshot.context.live);
};

const sessionsIn = (snapshot: { children: Record<string, { getSnapshot(): { children: object } } | undefined> }) =>
  Object.values(snapshot.children).reduce((n, group) => n + Object.keys(group?.getSnapshot().children ?? {}).length, 0);

const model: MachineModel<typeof supervisorMachine, SessionWorld> = {
  machine: supervisorMachine,
  world: sessionWorld,
  provide: (world) =>
    supervisorMachine.provide({
      actors: { group: sessionGroupMachine.provide({ actors: { session: provideSession(world, true) } }) },
    }),
  attach: (actor, world) => {
    actor.on('*', (event: SupervisorEmitted) => world.log.push({ kind: 'announce', event }));
  },
  inputCount: 1,
  input: () => ({ limits: { maxSessions: 2 } }),
  commands: ['supervisor.stop', 'supervisor.drain'],
  steps: (snapshot, world) => {
    const steps: Step<typeof supervisorMachine>[] = [
      { type: '@world', action: 'create' },
      { type: '@world', action: 'create', sessionId: 'short id' },
      { type: 'supervisor.stop', key: 's', sessionId: 'no-such-session-0000' },
      { type: 'supervisor.drain' },
    ];
    if (snapshot.context.live > 0) {
      const created = announcements(world.log).flatMap((e) =>
        e.type === 'supervisor.lifecycle' && e.event === 'created' ? [e.sessionId] : [],
      );
      const newest = created.at(-1);
      if (newest) steps.push({ type: 'supervisor.stop', key: 's', sessionId: newest });
    }
    return [...steps, ...readerSteps(world, 'happy')];
  },
  // The runtime creates a session with an event log made for it (and, once, an id it must refuse).
  perform: (step, world, actor) => {
    if (performReaderStep(step, world)) return;
    const sessionId = typeof step.sessionId === 'string' ? step.sessionId : `session-${world.log.length}-0123456789`;
    actor.send({ type: 'supervisor.create', key: 'c', input: sessionInput(new WorldLog(), sessionId) });
  },
  serialize: (snapshot, world) =>
    JSON.stringify([
      snapshot.value,
      snapshot.context.live,
      world.readers.filter((r) => !r.stopped).map((r) => r.responded),
    ]),
  check: ({ snapshot, world }) => {
    // Every group started once, whatever happened to their sessions.
    expect(Object.keys(snapshot.children)).toHaveLength(SESSION_GROUPS);
    // The count is the sessions the groups hold, within the limit.
    expect(snapshot.context.live).toBe(sessionsIn(snapshot));
    expect(snapshot.context.live).toBeLessThanOrEqual(snapshot.context.limits.maxSessions);
    // Every session created was announced, and every one that went, once.
    const all = announcements(world.log);
    const created = all.filter((e) => e.type === 'supervisor.lifecycle' && e.event === 'created');
    const ended = all.filter(
      (e) => e.type === 'supervisor.lifecycle' && (e.event === 'terminated' || e.event === 'expired'),
    );
    expect(created.length - ended.length).toBe(snapshot.context.live);
  },
  effects: {
    'supervisor --session.lifecycle--> (self)': (e) => {
      expect(announced(e).filter((event) => event.type === 'supervisor.lifecycle').length).toBeGreaterThan(0);
    },
    'supervisor --group.session.gone--> (self)': (e) => {
      expect(e.after.snapshot.context.live).toBeLessThan(e.before.snapshot.context.live);
      expect(lifecycle(e, 'terminated').length).toBe(e.before.snapshot.context.live - e.after.snapshot.context.live);
    },
    'supervisor --supervisor.stop--> (self)': (e) => {
      const { sessionId } = e.step as { sessionId: string };
      if (sessionId === 'no-such-session-0000') refusedWith('unknown-session')(e);
      // A session of this supervisor is ended as by a client's DELETE.
      else expect(lifecycle(e, 'terminated')).toEqual([expect.objectContaining({ sessionId, reason: 'deleted' })]);
    },
    'supervisor.running --supervisor.create[invalidSessionId]--> (self)': refusedWith('invalid-session-id'),
    'supervisor.running --supervisor.create[atCapacity]--> (self)': refusedWith('too-many-sessions'),
    'supervisor.running --supervisor.create--> (self)': (e) => {
      expect(e.after.snapshot.context.live).toBe(e.before.snapshot.context.live + 1);
      expect(lifecycle(e, 'created')).toHaveLength(1);
    },
    'supervisor.running --supervisor.drain--> supervisor.draining': (e) => {
      // Every session is asked to shut down: those without an upstream session end at once,
      // the others once their upstream DELETE is answered.
      for (const event of lifecycle(e, 'terminated')) expect(event).toMatchObject({ reason: 'shutdown' });
      const { live } = e.after.snapshot.context;
      expect(live).toBe(e.after.world.deletes.length);
      expect(e.after.snapshot.status).toBe(live === 0 ? 'done' : 'active');
    },
    'supervisor.draining --supervisor.create--> (self)': refusedWith('draining'),
    'supervisor.draining --always[noneLeft]--> supervisor.drained': (e) => {
      expect(announced(e)).toContainEqual({ type: 'supervisor.drained' });
      expect(e.after.snapshot.status).toBe('done');
    },
  },
};

await describeTransitions(model);
