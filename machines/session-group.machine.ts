/**
 * One of the supervisor's session groups: spawns the sessions it is given, relays their
 * lifecycle to the supervisor, and stops and forgets each one that ends or fails.
 *
 * Why groups: xstate copies a parent's `children` object on every spawn and every stop.
 * With every session a child of the supervisor that copy was O(open sessions), 64 % of the
 * proxy's CPU with 9 500 sessions open (docs/benchmarks.md). Spread over a fixed number of
 * groups, each copy is that many times smaller.
 *
 * Pure statechart; the session logic is provided by src/ through the supervisor.
 */
import { type AnyActorRef, enqueueActions, sendParent, setup } from 'xstate';
import { freeSlot } from './child-slot.js';
import { sessionMachine } from './session.machine.js';
import type { SessionInput, SessionLifecycle, SessionOutput } from './session.types.js';

export interface SessionGroupInput {
  /** How many child slots to name sessions from (child-slot.ts): well above the sessions it may hold. */
  slots: number;
}

export interface SessionGroupContext {
  slots: number;
  /** Where the search for the next free child slot starts. */
  nextSlot: number;
}

export type SessionGroupEvent =
  | { type: 'group.create'; input: SessionInput }
  | { type: 'group.shutdown' }
  | SessionLifecycle
  | { type: `xstate.done.actor.${string}`; output: SessionOutput; actorId: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

/** What a group tells the supervisor when one of its sessions is gone. */
export interface SessionGone {
  type: 'group.session.gone';
  sessionId: string;
  /** Set when the session failed (threw) rather than ended. */
  failure?: string | undefined;
}

/** How the runtime and the supervisor find a session: its system id. */
export const sessionSystemId = (sessionId: string) => `session:${sessionId}`;

/** The session id of a session actor: a session machine's context, or (other logic) its input. */
export function sessionIdOfChild(child: AnyActorRef | undefined): string | undefined {
  const snapshot = child?.getSnapshot() as
    | { context?: { sessionId?: string }; input?: { sessionId?: string } }
    | undefined;
  return snapshot?.context?.sessionId ?? snapshot?.input?.sessionId;
}

const childIdOf = (event: { type: string }) => event.type.replace(/^xstate\.(done|error)\.actor\./, '');

export const sessionGroupMachine = setup({
  types: {
    context: {} as SessionGroupContext,
    events: {} as SessionGroupEvent,
    input: {} as SessionGroupInput,
  },
  actors: { session: sessionMachine },
  actions: {
    spawnSession: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'group.create') return;
      const { children } = self.getSnapshot();
      const slot = freeSlot('session', context.nextSlot, context.slots, (id) => id in children);
      enqueue.spawnChild('session', {
        id: slot.id,
        systemId: sessionSystemId(event.input.sessionId),
        input: event.input,
      });
      enqueue.assign({ nextSlot: slot.index + 1 });
    }),
    shutdownAll: enqueueActions(({ enqueue, self }) => {
      for (const session of Object.values(self.getSnapshot().children)) {
        if (session) enqueue.sendTo(session, { type: 'session.shutdown' });
      }
    }),
    relayLifecycle: sendParent(({ event }) => event as SessionLifecycle),
    /** A finished or failed session is stopped and forgotten; the supervisor is told. */
    forgetSession: enqueueActions(({ event, enqueue, self }) => {
      const childId = childIdOf(event);
      const sessionId = sessionIdOfChild(self.getSnapshot().children[childId]) ?? childId;
      enqueue.stopChild(childId);
      const error = event.type.startsWith('xstate.error.actor.') ? (event as { error: unknown }).error : undefined;
      const gone: SessionGone = {
        type: 'group.session.gone',
        sessionId,
        ...(error === undefined ? {} : { failure: error instanceof Error ? error.message : String(error) }),
      };
      enqueue.sendParent(gone);
    }),
  },
}).createMachine({
  id: 'sessionGroup',
  context: ({ input }) => ({ slots: input.slots, nextSlot: 0 }),
  on: {
    'group.create': { actions: 'spawnSession' },
    'group.shutdown': { actions: 'shutdownAll' },
    'session.lifecycle': { actions: 'relayLifecycle' },
    'xstate.done.actor.*': { actions: 'forgetSession' },
    'xstate.error.actor.*': { actions: 'forgetSession' },
  },
});
