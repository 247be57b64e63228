/**
 * The registry of sessions: creates each in one of its session groups (spawned children,
 * see session-group.machine.ts; a session is found by its session id in the actor system),
 * stops one on request, refuses past `maxSessions`, and re-emits every session's lifecycle
 * for logs and metrics. A session that ends or fails is stopped and forgotten by its group;
 * it never takes the supervisor or another session with it.
 *
 * Pure statechart; the session logic is provided by src/. Diagram: docs/supervisor.md.
 */
import { type ActorRefFrom, type AnyActorRef, emit, enqueueActions, setup } from 'xstate';
import type { SessionLifecycle } from './session.types.js';
import { type SessionGone, sessionGroupMachine, sessionSystemId } from './session-group.machine.js';
import type { SupervisorCommand, SupervisorEmitted, SupervisorLimits, SupervisorRefusal } from './supervisor.types.js';

export const DEFAULT_SUPERVISOR_LIMITS: SupervisorLimits = { maxSessions: 1000 };

export interface SupervisorContext {
  limits: SupervisorLimits;
  /** Sessions alive now. */
  live: number;
  /** The group the next session goes to (round robin). */
  nextGroup: number;
}

/** Sessions are spread over this many groups: each spawn and stop copies one group's children. */
export const SESSION_GROUPS = 32;
export const groupChildId = (group: number) => `group-${group}`;
/** Each group names its sessions from twice as many slots as sessions allowed in all. */
const slotsPerGroup = (limits: SupervisorLimits) => 2 * limits.maxSessions;

export { sessionIdOfChild, sessionSystemId } from './session-group.machine.js';

type SupervisorEvent = SupervisorCommand | SessionLifecycle | SessionGone;

/**
 * "The session ID MUST only contain visible ASCII characters (ranging from 0x21 to 0x7E)"
 * (2025-03-26+ transports, Session Management). Length bounds keep ids unguessable and sane.
 */
export function isValidSessionId(id: string): boolean {
  return /^[\x21-\x7e]{16,128}$/.test(id);
}

const REFUSAL_MESSAGES: Record<SupervisorRefusal, (limits: SupervisorLimits) => string> = {
  'too-many-sessions': (l) => `The proxy already holds ${l.maxSessions} sessions (maxSessions); retry later.`,
  draining: () => 'The proxy is shutting down and accepts no new sessions.',
  'invalid-session-id': () => 'Session ids must be 16-128 visible ASCII characters.',
  'unknown-session': () => 'No such session: it may have expired or ended. Start a new one with initialize.',
};

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as { limits?: Partial<SupervisorLimits> } | undefined,
    emitted: {} as SupervisorEmitted,
  },
  actors: { group: sessionGroupMachine },
  guards: {
    atCapacity: ({ context }) => context.live >= context.limits.maxSessions,
    invalidSessionId: ({ event }) => event.type === 'supervisor.create' && !isValidSessionId(event.input.sessionId),
    noneLeft: ({ context }) => context.live === 0,
  },
  actions: {
    refuse: emit(({ context, event }, params: { code: SupervisorRefusal }) => ({
      type: 'supervisor.refused' as const,
      key: 'key' in event ? (event.key as string) : '',
      code: params.code,
      message: REFUSAL_MESSAGES[params.code](context.limits),
    })),
    startGroups: enqueueActions(({ context, enqueue }) => {
      for (let group = 0; group < SESSION_GROUPS; group++) {
        enqueue.spawnChild('group', { id: groupChildId(group), input: { slots: slotsPerGroup(context.limits) } });
      }
    }),
    createSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'supervisor.create') return;
      const { sessionId } = event.input;
      enqueue.sendTo(groupChildId(context.nextGroup), { type: 'group.create', input: event.input });
      enqueue.assign({ live: context.live + 1, nextGroup: (context.nextGroup + 1) % SESSION_GROUPS });
      enqueue.emit({ type: 'supervisor.lifecycle', sessionId, event: 'created' });
    }),
    stopSession: enqueueActions(({ event, enqueue, system }) => {
      if (event.type !== 'supervisor.stop') return;
      const session = system.get(sessionSystemId(event.sessionId)) as AnyActorRef | undefined;
      if (session) enqueue.sendTo(session, { type: 'session.delete' });
      else
        enqueue.emit({
          type: 'supervisor.refused',
          key: event.key,
          code: 'unknown-session',
          message: REFUSAL_MESSAGES['unknown-session']({ maxSessions: 0 }),
        });
    }),
    shutdownAll: enqueueActions(({ enqueue }) => {
      for (let group = 0; group < SESSION_GROUPS; group++) {
        enqueue.sendTo(groupChildId(group), { type: 'group.shutdown' });
      }
    }),
    relayLifecycle: emit(({ event }) => {
      const { sessionId, event: name, reason } = event as SessionLifecycle;
      return { type: 'supervisor.lifecycle' as const, sessionId, event: name, reason };
    }),
    /** A group has stopped and forgotten one of its sessions; nothing else is touched. */
    countGone: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'group.session.gone') return;
      enqueue.assign({ live: Math.max(0, context.live - 1) });
      if (event.failure !== undefined) {
        enqueue.emit({
          type: 'supervisor.lifecycle',
          sessionId: event.sessionId,
          event: 'failed',
          reason: event.failure,
        });
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ limits: { ...DEFAULT_SUPERVISOR_LIMITS, ...input?.limits }, live: 0, nextGroup: 0 }),
  entry: 'startGroups',
  on: {
    'session.lifecycle': { actions: 'relayLifecycle' },
    'group.session.gone': { actions: 'countGone' },
    'supervisor.stop': { actions: 'stopSession' },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'supervisor.create': [
          { guard: 'invalidSessionId', actions: { type: 'refuse', params: { code: 'invalid-session-id' } } },
          { guard: 'atCapacity', actions: { type: 'refuse', params: { code: 'too-many-sessions' } } },
          { actions: 'createSession' },
        ],
        'supervisor.drain': { target: 'draining', actions: 'shutdownAll' },
      },
    },
    draining: {
      always: { guard: 'noneLeft', target: 'drained' },
      on: {
        'supervisor.create': { actions: { type: 'refuse', params: { code: 'draining' } } },
      },
    },
    drained: {
      type: 'final',
      entry: emit({ type: 'supervisor.drained' as const }),
    },
  },
});

export type SupervisorActorRef = ActorRefFrom<typeof supervisorMachine>;
