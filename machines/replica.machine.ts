/**
 * The lifecycle of this proxy replica in a cluster whose replicas share sessions through a
 * store (docs/replicas.md): it joins, keeps its heartbeat key alive, notices when the store
 * stops answering and when its heartbeat was found gone, and on SIGTERM hands its sessions
 * over and leaves. One actor per process.
 *
 * Pure statechart: the store's work is in three actors the host provides (src/cluster/
 * cluster.ts): `renew` writes the heartbeat, `recover` rejoins after a lapse, `handOver`
 * drains. Time is the actor's clock (`after`), so a test moves it by hand. The host reads
 * the 'healthy' tag (`replicaIsHealthy`) and listens for `replica.health` and
 * `replica.lapsed`. Diagram: docs/machines/replica.md.
 */
import { type ActorRefFrom, assign, emit, fromPromise, type SnapshotFrom, setup } from 'xstate';

export interface ReplicaInput {
  /** The heartbeat key's TTL: a replica whose key is older is dead and its sessions are taken over. */
  ttlMs: number;
}

export interface RenewInput {
  /** Create the heartbeat (joining) rather than renew one that must still be there. */
  join: boolean;
}

/**
 * - `replica.health`: the store stopped answering the heartbeat (`false`, on entering
 *   `storeDown`) or answers it again (`true`, on leaving `storeDown` for `live` or `lapsed`);
 *   only changes are sent, and a drain sends none.
 * - `replica.lapsed`: a renewal found the heartbeat key gone; `recover` is running.
 */
export type ReplicaEmitted = { type: 'replica.health'; healthy: boolean } | { type: 'replica.lapsed' };

/** SIGTERM (a rolling deploy): hand the sessions over and leave. A second one changes nothing. */
export type ReplicaEvent = { type: 'replica.drain' };

export interface ReplicaContext {
  ttlMs: number;
  /** Renewals (`join: false`) that found the heartbeat and set it again. Joining is not one. */
  renewals: number;
  /** Heartbeat writes (a renewal, or a recovery) that threw since the store last answered. */
  failures: number;
  /** How often a renewal found the heartbeat gone. */
  lapses: number;
}

/**
 * A renewal every third of the TTL: two may fail (or this process may stall for two periods)
 * before the key expires. Never faster than every 50 ms.
 */
export const renewEveryMs = (ttlMs: number): number => Math.max(50, Math.floor(ttlMs / 3));
/** A join the store refused is retried soon, at most a second later. */
export const retryJoinMs = (ttlMs: number): number => Math.max(50, Math.min(1000, Math.floor(ttlMs / 3)));

const outputOf = (event: unknown): unknown => (event as { output?: unknown }).output;

/** Leaving a state that reached the store: the failure count starts again. */
const answered = { failures: 0 } as const;

// Every state but draining takes SIGTERM the same way. An effect under way (a join, a
// renewal, a recovery) is stopped: its abort signal fires and its answer is ignored. A
// heartbeat write of it that still lands after handOver's leave expires with the TTL, and
// the sessions handOver released are claimed at once regardless.
const drain = { 'replica.drain': { target: '#replica.draining' } } as const;

export const replicaMachine = setup({
  types: {
    context: {} as ReplicaContext,
    events: {} as ReplicaEvent,
    input: {} as ReplicaInput,
    emitted: {} as ReplicaEmitted,
    tags: {} as 'healthy',
  },
  actors: {
    /** true: the heartbeat key was set; false (only with `join: false`): it had lapsed. */
    renew: fromPromise<boolean, RenewInput>(async () => {
      throw new Error('replica: provide the renew actor');
    }),
    /** Rejoins, and stops the local sessions whose ownership another replica took meanwhile. */
    recover: fromPromise<void, void>(async () => {
      throw new Error('replica: provide the recover actor');
    }),
    /** Flushes each session's log, releases its ownership, ends it here (not upstream); leaves. */
    handOver: fromPromise<void, void>(async () => {
      throw new Error('replica: provide the handOver actor');
    }),
  },
  delays: {
    renewEvery: ({ context }) => renewEveryMs(context.ttlMs),
    retryJoin: ({ context }) => retryJoinMs(context.ttlMs),
  },
  guards: {
    heartbeatSet: ({ event }) => outputOf(event) === true,
  },
  actions: {
    countRenewal: assign(({ context }) => ({ renewals: context.renewals + 1, ...answered })),
    countFailure: assign(({ context }) => ({ failures: context.failures + 1 })),
    resetFailures: assign(answered),
    countLapse: assign(({ context }) => ({ lapses: context.lapses + 1 })),
    reportDown: emit({ type: 'replica.health', healthy: false } as const),
    reportUp: emit({ type: 'replica.health', healthy: true } as const),
    reportLapsed: emit({ type: 'replica.lapsed' } as const),
  },
}).createMachine({
  id: 'replica',
  context: ({ input }) => ({ ttlMs: input.ttlMs, renewals: 0, failures: 0, lapses: 0 }),
  initial: 'joining',
  states: {
    // Not healthy until joined: nothing is served before the heartbeat exists.
    joining: {
      on: drain,
      invoke: {
        id: 'renew',
        src: 'renew',
        input: { join: true },
        onDone: [{ guard: 'heartbeatSet', target: 'live' }, { target: 'waitingToJoin' }],
        onError: { target: 'waitingToJoin' },
      },
    },
    waitingToJoin: {
      on: drain,
      after: { retryJoin: 'joining' },
    },
    live: {
      tags: 'healthy',
      on: drain,
      after: { renewEvery: 'renewing' },
    },
    // Still healthy while the renewal is under way: the last one is at most a period old. There
    // is no deadline here: the provided renew must settle (the store's command timeout) well
    // within the TTL, or this state would go on saying healthy about a key that expired.
    renewing: {
      tags: 'healthy',
      on: drain,
      invoke: {
        id: 'renew',
        src: 'renew',
        input: { join: false },
        onDone: [{ guard: 'heartbeatSet', target: 'live', actions: 'countRenewal' }, { target: 'lapsed' }],
        onError: { target: 'storeDown', actions: 'countFailure' },
      },
    },
    // The store does not answer. This is the self-fence of docs/replicas.md (failure detection
    // and takeover): once its renewals fail, the replica cannot know whether its heartbeat
    // still stands, and past the TTL other replicas may take its sessions over; so it is not
    // healthy (the host stops serving: 503, rather than a session it may have lost) and it
    // keeps renewing, every period, until the store answers.
    storeDown: {
      entry: 'reportDown',
      on: drain,
      initial: 'waiting',
      states: {
        waiting: {
          after: { renewEvery: 'renewing' },
        },
        renewing: {
          invoke: {
            id: 'renew',
            src: 'renew',
            input: { join: false },
            onDone: [
              { guard: 'heartbeatSet', target: '#replica.live', actions: ['countRenewal', 'reportUp'] },
              // The store answers again, and says the heartbeat lapsed meanwhile.
              { target: '#replica.lapsed', actions: ['resetFailures', 'reportUp'] },
            ],
            // Still down: no new `replica.health`, one more failure.
            onError: { target: 'waiting', actions: 'countFailure' },
          },
        },
      },
    },
    // The heartbeat was found gone: other replicas judged this one dead (it was paused, or cut
    // off from the store past the TTL) and may have claimed its sessions, whose next writes here
    // are fenced by the store (docs/replicas.md, the old owner that learns it is fenced). The
    // store answers, so this replica stays healthy while it rejoins and stops, at once, every
    // session another replica now owns.
    lapsed: {
      tags: 'healthy',
      entry: ['countLapse', 'reportLapsed'],
      on: drain,
      invoke: {
        id: 'recover',
        src: 'recover',
        onDone: { target: 'live' },
        onError: { target: 'storeDown', actions: 'countFailure' },
      },
    },
    // The drain of docs/replicas.md (graceful drain): whatever handOver could not do (the
    // store is down), the sessions' TTLs and the other replicas' takeover do after the TTL;
    // so a failed handOver leaves too.
    draining: {
      invoke: {
        id: 'handOver',
        src: 'handOver',
        onDone: { target: 'left' },
        onError: { target: 'left' },
      },
    },
    left: { type: 'final' },
  },
});

export type ReplicaActorRef = ActorRefFrom<typeof replicaMachine>;
export type ReplicaSnapshot = SnapshotFrom<typeof replicaMachine>;

/** Whether this replica may serve its sessions now: joined, and its heartbeat renewed. */
export const replicaIsHealthy = (snapshot: ReplicaSnapshot): boolean => snapshot.hasTag('healthy');
