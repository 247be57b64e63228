/**
 * The registry of sessions: creates each as a spawned child (found by its session id in the
 * actor system; its child id is a reusable slot, see child-slot.ts), stops
 * one on request, refuses past `maxSessions`, and re-emits every session's lifecycle for
 * logs and metrics. A session that ends or fails is stopped and forgotten; it never takes
 * the supervisor or another session with it.
 *
 * Pure statechart; the session logic is provided by src/. Diagram: docs/supervisor.md.
 */
import { type ActorRefFrom, type AnyActorRef, emit, enqueueActions, setup } from 'xstate';
import { freeSlot } from './child-slot.js';
import { sessionMachine } from './session.machine.js';
import type { SessionLifecycle, SessionOutput } from './session.types.js';
import type { SupervisorCommand, SupervisorEmitted, SupervisorLimits, SupervisorRefusal } from './supervisor.types.js';

export const DEFAULT_SUPERVISOR_LIMITS: SupervisorLimits = { maxSessions: 1000 };

export interface SupervisorContext {
  limits: SupervisorLimits;
  /** Sessions alive now. */
  live: number;
  /** Where the search for the next free child slot starts. */
  nextSlot: number;
}

/** How the runtime and the supervisor find a session: its system id. */
export const sessionSystemId = (sessionId: string) => `session:${sessionId}`;
/** Twice as many slots as sessions allowed, so a free one is found at once. */
const slotCount = (limits: SupervisorLimits) => 2 * limits.maxSessions;
/** The session id of a supervisor child: a session machine's context, or (other logic) its input. */
export function sessionIdOfChild(child: AnyActorRef | undefined): string | undefined {
  const snapshot = child?.getSnapshot() as
    | { context?: { sessionId?: string }; input?: { sessionId?: string } }
    | undefined;
  return snapshot?.context?.sessionId ?? snapshot?.input?.sessionId;
}

type SupervisorEvent =
  | SupervisorCommand
  | SessionLifecycle
  | { type: `xstate.done.actor.${string}`; output: SessionOutput; actorId: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

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

const childIdOf = (event: { type: string }) => event.type.replace(/^xstate\.(done|error)\.actor\./, '');

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as { limits?: Partial<SupervisorLimits> } | undefined,
    emitted: {} as SupervisorEmitted,
  },
  actors: { session: sessionMachine },
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
    createSession: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'supervisor.create') return;
      const { sessionId } = event.input;
      const { children } = self.getSnapshot();
      const slot = freeSlot('session', context.nextSlot, slotCount(context.limits), (id) => id in children);
      enqueue.spawnChild('session', { id: slot.id, systemId: sessionSystemId(sessionId), input: event.input });
      enqueue.assign({ live: context.live + 1, nextSlot: slot.index + 1 });
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
    shutdownAll: enqueueActions(({ enqueue, self }) => {
      for (const session of Object.values(self.getSnapshot().children)) {
        if (session) enqueue.sendTo(session, { type: 'session.shutdown' });
      }
    }),
    relayLifecycle: emit(({ event }) => {
      const { sessionId, event: name, reason } = event as SessionLifecycle;
      return { type: 'supervisor.lifecycle' as const, sessionId, event: name, reason };
    }),
    /** A finished or failed session is stopped and forgotten; nothing else is touched. */
    forgetSession: enqueueActions(({ context, event, enqueue, self }) => {
      const childId = childIdOf(event);
      const sessionId = sessionIdOfChild(self.getSnapshot().children[childId]) ?? childId;
      enqueue.stopChild(childId);
      enqueue.assign({ live: Math.max(0, context.live - 1) });
      if (event.type.startsWith('xstate.error.actor.')) {
        const error = (event as { error: unknown }).error;
        enqueue.emit({
          type: 'supervisor.lifecycle',
          sessionId,
          event: 'failed',
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ limits: { ...DEFAULT_SUPERVISOR_LIMITS, ...input?.limits }, live: 0, nextSlot: 0 }),
  on: {
    'session.lifecycle': { actions: 'relayLifecycle' },
    'xstate.done.actor.*': { actions: 'forgetSession' },
    'xstate.error.actor.*': { actions: 'forgetSession' },
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
