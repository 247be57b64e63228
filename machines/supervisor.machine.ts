/**
 * The registry of sessions: creates each as a spawned child (id = its session id), stops
 * one on request, refuses past `maxSessions`, and re-emits every session's lifecycle for
 * logs and metrics. A session that ends or fails is stopped and forgotten; it never takes
 * the supervisor or another session with it.
 *
 * Pure statechart; the session logic is provided by src/. Diagram: docs/supervisor.md.
 */
import { type ActorRefFrom, emit, enqueueActions, setup } from 'xstate';
import { sessionMachine } from './session.machine.js';
import type { SessionLifecycle, SessionOutput } from './session.types.js';
import type { SupervisorCommand, SupervisorEmitted, SupervisorLimits, SupervisorRefusal } from './supervisor.types.js';

export const DEFAULT_SUPERVISOR_LIMITS: SupervisorLimits = { maxSessions: 1000 };

export interface SupervisorContext {
  limits: SupervisorLimits;
  /** Sessions alive now (each is a child actor named by its session id). */
  live: number;
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

const sessionIdOf = (event: { type: string }) => event.type.replace(/^xstate\.(done|error)\.actor\./, '');

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
    createSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'supervisor.create') return;
      const { sessionId } = event.input;
      enqueue.spawnChild('session', { id: sessionId, input: event.input });
      enqueue.assign({ live: context.live + 1 });
      enqueue.emit({ type: 'supervisor.lifecycle', sessionId, event: 'created' });
    }),
    stopSession: enqueueActions(({ event, enqueue, self }) => {
      if (event.type !== 'supervisor.stop') return;
      const session = self.getSnapshot().children[event.sessionId];
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
    forgetSession: enqueueActions(({ context, event, enqueue }) => {
      const sessionId = sessionIdOf(event);
      enqueue.stopChild(sessionId);
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
  context: ({ input }) => ({ limits: { ...DEFAULT_SUPERVISOR_LIMITS, ...input?.limits }, live: 0 }),
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
