/**
 * One replica's heartbeat: the store answers each renewal (faked: the world resolves it with
 * true or false, or rejects it), time passes, SIGTERM comes (`replica.drain`). At most one
 * effect runs at a time, and only in the state that owns it; the 'healthy' tag and the
 * `replica.health` events agree; a drain stops whatever was under way and always leaves.
 */
import { describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import {
  type RenewInput,
  type ReplicaEmitted,
  type ReplicaInput,
  type ReplicaSnapshot,
  renewEveryMs,
  replicaIsHealthy,
  replicaMachine,
  retryJoinMs,
} from '../../machines/replica.machine.js';
import type { Effect, MachineModel, Replay, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Kind = 'renew' | 'recover' | 'handOver';

type Logged =
  | { kind: 'renew'; join: boolean }
  | { kind: 'recover' }
  | { kind: 'handOver' }
  | { kind: 'emitted'; event: ReplicaEmitted };

/** An effect the machine started: settled by a world step, or cancelled by the machine. */
interface Running {
  kind: Kind;
  join?: boolean;
  resolve: (value: boolean | undefined) => void;
  reject: (error: Error) => void;
  settled: boolean;
  cancelled: boolean;
}

interface ReplicaWorld extends World {
  log: Logged[];
  effects: Running[];
}

// Renew every 1500 ms, retry a join after 1000 ms: two different delays the steps can tell apart.
const input: ReplicaInput = { ttlMs: 4500 };

type ReplicaEffect = Effect<typeof replicaMachine, ReplicaWorld>;
const logged = (e: ReplicaEffect) => e.recorded as Logged[];
const emitted = (e: ReplicaEffect) => logged(e).flatMap((r) => (r.kind === 'emitted' ? [r.event] : []));
const calls = (e: ReplicaEffect) => logged(e).filter((r) => r.kind !== 'emitted');
const open = (w: ReplicaWorld) => w.effects.filter((r) => !r.settled && !r.cancelled);
const ctx = (e: ReplicaEffect) => e.after.snapshot.context;
const was = (e: ReplicaEffect) => e.before.snapshot.context;

/** Which effect each state runs; the others run none. */
const effectOf = (snapshot: ReplicaSnapshot): { kind: Kind; join?: boolean } | undefined => {
  if (snapshot.matches('joining')) return { kind: 'renew', join: true };
  if (snapshot.matches('renewing') || snapshot.matches({ storeDown: 'renewing' }))
    return { kind: 'renew', join: false };
  if (snapshot.matches('lapsed')) return { kind: 'recover' };
  if (snapshot.matches('draining')) return { kind: 'handOver' };
  return undefined;
};

const HEALTHY = ['live', 'renewing', 'lapsed'] as const;
const healthyState = (snapshot: ReplicaSnapshot) => HEALTHY.some((state) => snapshot.matches(state));

/** The step did exactly these calls and emitted exactly these events. */
const did = (e: ReplicaEffect, expected: { calls?: Logged[]; emitted?: ReplicaEmitted[] }) => {
  expect(calls(e)).toEqual(expected.calls ?? []);
  expect(emitted(e)).toEqual(expected.emitted ?? []);
};
const up: ReplicaEmitted = { type: 'replica.health', healthy: true };
const down: ReplicaEmitted = { type: 'replica.health', healthy: false };
const lapsedEvent: ReplicaEmitted = { type: 'replica.lapsed' };

/** Time passed by exactly the named delay. */
const waited = (ms: number) => (e: ReplicaEffect) => expect(e.step).toEqual({ type: '@advance', ms });
/** Back in live: healthy, the store answered, the next renewal is one period away. */
const backLive = (e: ReplicaEffect) => {
  expect(e.after.snapshot.value).toBe('live');
  expect(replicaIsHealthy(e.after.snapshot)).toBe(true);
  expect(ctx(e).failures).toBe(0);
  expect(e.after.clock.pending()).toEqual([renewEveryMs(input.ttlMs)]);
};
/** Into storeDown: reported down, one more failure, the retry one period away. */
const wentDown = (e: ReplicaEffect) => {
  expect(e.after.snapshot.value).toEqual({ storeDown: 'waiting' });
  expect(replicaIsHealthy(e.after.snapshot)).toBe(false);
  expect(ctx(e).failures).toBe(was(e).failures + 1);
  expect(e.after.clock.pending()).toEqual([renewEveryMs(input.ttlMs)]);
};
/** Into lapsed: counted, reported, recovery started, still healthy. */
const lapsed = (e: ReplicaEffect) => {
  expect(e.after.snapshot.value).toBe('lapsed');
  expect(replicaIsHealthy(e.after.snapshot)).toBe(true);
  expect(ctx(e).lapses).toBe(was(e).lapses + 1);
  expect(ctx(e).failures).toBe(0);
};
/** A join that did not take: not healthy, a new join after retryJoin. */
const joinRetried = (e: ReplicaEffect) => {
  expect(e.after.snapshot.value).toBe('waitingToJoin');
  expect(replicaIsHealthy(e.after.snapshot)).toBe(false);
  expect(e.after.clock.pending()).toEqual([retryJoinMs(input.ttlMs)]);
  did(e, {});
};
/** SIGTERM: whatever ran is stopped, handOver runs, nothing else is said, no timer is left. */
const drained = (e: ReplicaEffect) => {
  expect(e.step).toEqual({ type: 'replica.drain' });
  expect(e.after.snapshot.value).toBe('draining');
  expect(replicaIsHealthy(e.after.snapshot)).toBe(false);
  did(e, { calls: [{ kind: 'handOver' }] });
  expect(e.after.world.effects.filter((r) => r.cancelled).map((r) => r.kind)).toEqual(
    effectOf(e.before.snapshot) ? [effectOf(e.before.snapshot)?.kind] : [],
  );
  expect(e.after.clock.pending()).toEqual([]);
  expect(ctx(e)).toEqual(was(e));
};
/** Handed over (or failed to): the actor is done, the effect settled, nothing said. */
const left = (e: ReplicaEffect) => {
  expect(e.after.snapshot.value).toBe('left');
  expect(e.after.snapshot.status).toBe('done');
  did(e, {});
};

const world = (action: string): Step<typeof replicaMachine> => ({ type: '@world', action });

/** What each running effect may answer: renew true/false/throw; recover and handOver done/throw. */
const ANSWERS: Record<Kind, string[]> = {
  renew: ['set', 'gone', 'throw'],
  recover: ['done', 'throw'],
  handOver: ['done', 'throw'],
};

const model: MachineModel<typeof replicaMachine, ReplicaWorld> = {
  machine: replicaMachine,
  world: () => ({ log: [], effects: [] }),
  provide: (current) => {
    /** A fake effect: logged when started, marked when the machine stops it, settled by a step. */
    const start = <T>(kind: Kind, signal: AbortSignal, join?: boolean) =>
      new Promise<T>((resolve, reject) => {
        const w = current();
        w.log.push(join === undefined ? ({ kind } as Logged) : { kind: 'renew', join });
        const running: Running = {
          kind,
          ...(join === undefined ? {} : { join }),
          resolve: resolve as (value: boolean | undefined) => void,
          reject,
          settled: false,
          cancelled: false,
        };
        w.effects.push(running);
        signal.addEventListener('abort', () => {
          running.cancelled = true;
        });
      });
    return replicaMachine.provide({
      actors: {
        renew: fromPromise<boolean, RenewInput>(({ input: { join }, signal }) => start('renew', signal, join)),
        recover: fromPromise<void, void>(({ signal }) => start('recover', signal)),
        handOver: fromPromise<void, void>(({ signal }) => start('handOver', signal)),
      },
    });
  },
  attach: (actor, w) => {
    actor.on('*', (event) => w.log.push({ kind: 'emitted', event }));
  },
  inputCount: 1,
  input: () => input,
  commands: ['replica.drain'],
  steps: (_snapshot, w) => {
    const steps: Step<typeof replicaMachine>[] = [{ type: 'replica.drain' }];
    const running = open(w)[0];
    if (running) for (const answer of ANSWERS[running.kind]) steps.push(world(answer));
    return steps;
  },
  perform: (step, w) => {
    const running = open(w)[0];
    if (!running) return;
    running.settled = true;
    if (step.action === 'throw') return running.reject(new Error('the store did not answer'));
    running.resolve(running.kind === 'renew' ? step.action === 'set' : undefined);
  },
  serialize: (snapshot, w) =>
    JSON.stringify([snapshot.value, snapshot.status, snapshot.context.failures > 1, open(w).map((r) => r.kind)]),
  check: ({ snapshot, world: w, clock }: Replay<typeof replicaMachine, ReplicaWorld>) => {
    // At most one effect runs, and it is the one its state owns, with the right join flag.
    const running = open(w);
    expect(running.length).toBeLessThanOrEqual(1);
    const owned = effectOf(snapshot);
    expect(running.map((r) => ({ kind: r.kind, ...(r.join === undefined ? {} : { join: r.join }) }))).toEqual(
      owned ? [owned] : [],
    );
    // A timer only where a state waits: live and storeDown.waiting (renewEvery), waitingToJoin (retryJoin).
    const waits = snapshot.matches('live') || snapshot.matches({ storeDown: 'waiting' });
    expect(clock.pending()).toEqual(
      waits ? [renewEveryMs(input.ttlMs)] : snapshot.matches('waitingToJoin') ? [retryJoinMs(input.ttlMs)] : [],
    );
    // Healthy exactly when joined, the store answering and not draining.
    expect(replicaIsHealthy(snapshot)).toBe(healthyState(snapshot));
    // `replica.health` says only changes: down first, then alternating; and the last one
    // said agrees with the state (nothing is said about joining or draining).
    const health = w.log.flatMap((r) =>
      r.kind === 'emitted' && r.event.type === 'replica.health' ? [r.event.healthy] : [],
    );
    health.forEach((healthy, index) => {
      expect(healthy).toBe(index % 2 === 1);
    });
    if (snapshot.matches('storeDown')) expect(health.at(-1)).toBe(false);
    if (healthyState(snapshot)) expect(health.at(-1) ?? true).toBe(true);
    if (snapshot.matches('joining') || snapshot.matches('waitingToJoin')) expect(health).toEqual([]);
    // Failures count only while the store is down; lapses are what was reported.
    const { failures, lapses } = snapshot.context;
    if (!snapshot.matches('draining') && !snapshot.matches('left')) {
      expect(failures > 0).toBe(snapshot.matches('storeDown'));
    }
    expect(lapses).toBe(w.log.filter((r) => r.kind === 'emitted' && r.event.type === 'replica.lapsed').length);
  },
  effects: {
    'replica.joining --xstate.done.actor.renew[heartbeatSet]--> replica.live': (e) => {
      backLive(e);
      // A join is not a renewal, and joining is no change of the store's health to report.
      expect(ctx(e).renewals).toBe(0);
      did(e, {});
    },
    'replica.joining --xstate.done.actor.renew--> replica.waitingToJoin': joinRetried,
    'replica.joining --xstate.error.actor.renew--> replica.waitingToJoin': joinRetried,
    'replica.joining --replica.drain--> replica.draining': drained,
    'replica.waitingToJoin --after retryJoin--> replica.joining': (e) => {
      waited(retryJoinMs(input.ttlMs))(e);
      did(e, { calls: [{ kind: 'renew', join: true }] });
    },
    'replica.waitingToJoin --replica.drain--> replica.draining': drained,
    'replica.live --after renewEvery--> replica.renewing': (e) => {
      waited(renewEveryMs(input.ttlMs))(e);
      did(e, { calls: [{ kind: 'renew', join: false }] });
      expect(replicaIsHealthy(e.after.snapshot)).toBe(true);
    },
    'replica.live --replica.drain--> replica.draining': drained,
    'replica.renewing --xstate.done.actor.renew[heartbeatSet]--> replica.live': (e) => {
      backLive(e);
      expect(ctx(e).renewals).toBe(was(e).renewals + 1);
      did(e, {});
    },
    'replica.renewing --xstate.done.actor.renew--> replica.lapsed': (e) => {
      lapsed(e);
      expect(ctx(e).renewals).toBe(was(e).renewals);
      // Healthy before and after: only the lapse is reported.
      did(e, { calls: [{ kind: 'recover' }], emitted: [lapsedEvent] });
    },
    'replica.renewing --xstate.error.actor.renew--> replica.storeDown': (e) => {
      wentDown(e);
      did(e, { emitted: [down] });
    },
    'replica.renewing --replica.drain--> replica.draining': drained,
    'replica.storeDown --replica.drain--> replica.draining': drained,
    'replica.storeDown.waiting --after renewEvery--> replica.storeDown.renewing': (e) => {
      waited(renewEveryMs(input.ttlMs))(e);
      did(e, { calls: [{ kind: 'renew', join: false }] });
      expect(replicaIsHealthy(e.after.snapshot)).toBe(false);
    },
    'replica.storeDown.renewing --xstate.done.actor.renew[heartbeatSet]--> replica.live': (e) => {
      backLive(e);
      expect(ctx(e).renewals).toBe(was(e).renewals + 1);
      did(e, { emitted: [up] });
    },
    'replica.storeDown.renewing --xstate.done.actor.renew--> replica.lapsed': (e) => {
      lapsed(e);
      // The store answers again (up), and says the heartbeat lapsed meanwhile.
      did(e, { calls: [{ kind: 'recover' }], emitted: [up, lapsedEvent] });
    },
    'replica.storeDown.renewing --xstate.error.actor.renew--> replica.storeDown.waiting': (e) => {
      wentDown(e);
      // Still down: no second `healthy: false`.
      expect(ctx(e).failures).toBeGreaterThanOrEqual(2);
      did(e, {});
    },
    'replica.lapsed --xstate.done.actor.recover--> replica.live': (e) => {
      backLive(e);
      expect(ctx(e).lapses).toBe(was(e).lapses);
      did(e, {});
    },
    'replica.lapsed --xstate.error.actor.recover--> replica.storeDown': (e) => {
      wentDown(e);
      did(e, { emitted: [down] });
    },
    'replica.lapsed --replica.drain--> replica.draining': drained,
    'replica.draining --xstate.done.actor.handOver--> replica.left': left,
    'replica.draining --xstate.error.actor.handOver--> replica.left': left,
  },
};

await describeTransitions(model);

describe('replica delays', () => {
  it('renews every third of the TTL, never faster than 50 ms; retries a join within a second', () => {
    expect([renewEveryMs(3000), renewEveryMs(4500), renewEveryMs(90)]).toEqual([1000, 1500, 50]);
    expect([retryJoinMs(3000), retryJoinMs(60_000), retryJoinMs(90)]).toEqual([1000, 1000, 50]);
  });
});
