/**
 * A session group with real sessions in it (their leaf effects faked, test/model/session-
 * world.ts), under a parent that records what the group reports. Sessions end for real
 * (shutdown) and fail for real (an event log that throws).
 */
import { expect } from 'vitest';
import type { AnyActorRef } from 'xstate';
import { sessionGroupMachine, sessionIdOfChild } from '../../machines/session-group.machine.js';
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

const SLOTS = 4;

type GroupEffect = Effect<typeof sessionGroupMachine, SessionWorld>;
const toParent = (e: GroupEffect) =>
  (e.recorded as Logged[]).flatMap((r) =>
    r.kind === 'to-parent' ? [r.event as { type: string } & Record<string, unknown>] : [],
  );
const childIds = (snapshot: { children: Record<string, AnyActorRef | undefined> }) =>
  Object.values(snapshot.children).map((child) => sessionIdOfChild(child));

/** The session is gone from the group, and the supervisor was told, with the failure if any. */
const forgotten = (failure: boolean) => (e: GroupEffect) => {
  const gone = toParent(e).filter((event) => event.type === 'group.session.gone');
  expect(gone.length).toBeGreaterThan(0);
  for (const event of gone) {
    expect(childIds(e.after.snapshot)).not.toContain(event.sessionId);
    if (failure) expect(event.failure).toBe('the event log is broken');
    else expect(event.failure).toBeUndefined();
  }
};

/** Whether a session's event log throws (the log is the session's input, so its snapshot shows it). */
const brokenLog = (child: AnyActorRef | undefined) =>
  (child?.getSnapshot() as { context?: { config?: { eventLog?: WorldLog } } } | undefined)?.context?.config?.eventLog
    ?.broken;

const model: MachineModel<typeof sessionGroupMachine, SessionWorld> = {
  machine: sessionGroupMachine,
  parent: true,
  world: sessionWorld,
  provide: (world) => sessionGroupMachine.provide({ actors: { session: provideSession(world, true) } }),
  inputCount: 1,
  input: () => ({ slots: SLOTS }),
  commands: ['group.create', 'group.shutdown'],
  steps: (snapshot, world) => {
    const steps: Step<typeof sessionGroupMachine>[] = [{ type: 'group.shutdown' }];
    // The supervisor never gives a group more sessions than half its slots (maxSessions).
    if (Object.keys(snapshot.children).length < SLOTS / 2) {
      steps.push({ type: '@world', action: 'create' }, { type: '@world', action: 'create', broken: true });
    }
    return [...steps, ...readerSteps(world, 'happy')];
  },
  // The supervisor creates a session with an event log made for it.
  perform: (step, world, actor) => {
    if (performReaderStep(step, world)) return;
    const log = new WorldLog();
    log.broken = step.broken === true;
    actor.send({ type: 'group.create', input: sessionInput(log, `session-${world.log.length}-0123456789`) });
  },
  serialize: (snapshot, world) =>
    JSON.stringify([
      Object.values(snapshot.children).map((child) => brokenLog(child)),
      world.readers.filter((r) => !r.stopped).map((r) => r.responded),
      world.log.filter((r) => r.kind === 'to-parent').length > 0,
    ]),
  check: ({ snapshot, world }) => {
    // Child ids come from a bounded set of slots (xstate memoizes per done-event type).
    for (const childId of Object.keys(snapshot.children)) {
      expect(Number(childId.slice('session-'.length))).toBeLessThan(SLOTS);
    }
    // Every session reported gone is no longer a child; each is reported once.
    const reported = world.log.flatMap((r) =>
      r.kind === 'to-parent' && r.event.type === 'group.session.gone' ? [String(r.event.sessionId)] : [],
    );
    expect(new Set(reported).size).toBe(reported.length);
    for (const id of reported) expect(childIds(snapshot)).not.toContain(id);
    // Lifecycle events go up unchanged, each from a session this group holds or held.
    for (const r of world.log) {
      if (r.kind !== 'to-parent' || r.event.type !== 'session.lifecycle') continue;
      expect(r.event).toMatchObject({ sessionId: expect.stringMatching(/^session-/) });
    }
    expect(snapshot.status).toBe('active');
  },
  effects: {
    'sessionGroup --group.create--> (self)': (e) => {
      expect(Object.keys(e.after.snapshot.children).length).toBe(Object.keys(e.before.snapshot.children).length + 1);
      // The new session sent its initialize upstream.
      expect((e.recorded as Logged[]).some((r) => r.kind === 'request')).toBe(true);
    },
    'sessionGroup --group.shutdown--> (self)': (e) => {
      // Sessions without an upstream session end at once: all gone, all reported.
      expect(Object.keys(e.after.snapshot.children)).toEqual([]);
      const gone = toParent(e).filter((event) => event.type === 'group.session.gone');
      expect(gone.map((g) => g.sessionId).sort()).toEqual(childIds(e.before.snapshot).sort());
    },
    'sessionGroup --session.lifecycle--> (self)': (e) => {
      const relayed = toParent(e).filter((event) => event.type === 'session.lifecycle');
      expect(relayed.length).toBeGreaterThan(0);
      for (const event of relayed) expect(event).toMatchObject({ sessionId: expect.stringMatching(/^session-/) });
    },
    'sessionGroup --xstate.done.actor.*--> (self)': forgotten(false),
    'sessionGroup --xstate.error.actor.*--> (self)': forgotten(true),
  },
};

await describeTransitions(model);
