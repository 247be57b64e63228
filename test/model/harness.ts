/**
 * Generated transition tests. For a machine, find one shortest event path per transition
 * (breadth-first over live replays, so guards see real context), then replay each path
 * against the machine with fake effects and the TestClock, checking the model's invariants
 * after every step. Which transitions the replays actually took is written to
 * coverage/transitions/<machine>.json for `npm run coverage:transitions`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  type Actor,
  type AnyStateMachine,
  createActor,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';
import { allTransitions, type TransitionInfo, transitionKey } from '../../scripts/machine-graph.js';
import { TestClock } from '../support/test-clock.js';

/** Advances the clock to a pending timer; stands for "time passes" in a path. */
export interface AdvanceStep {
  type: '@advance';
  ms: number;
}

export type Step<T extends AnyStateMachine> = EventFromLogic<T> | AdvanceStep;

export interface Replay<T extends AnyStateMachine> {
  snapshot: SnapshotFrom<T>;
  /** Everything the fake effects recorded, in order. */
  log: unknown[];
  clock: TestClock;
  input: InputFrom<T>;
}

export interface MachineModel<T extends AnyStateMachine> {
  /** The unprovided machine; its transitions are what must be covered. */
  machine: T;
  /** The same machine with fake effects that append to `log`. */
  provide(log: unknown[]): T;
  /** Each input starts its own search (e.g. a GET stream and a POST stream). */
  inputs: InputFrom<T>[];
  /** Candidate events at this point; clock steps are added by the harness. */
  events(snapshot: SnapshotFrom<T>): EventFromLogic<T>[];
  /** What makes two snapshots the same search node. Default: state value only. */
  serialize?(snapshot: SnapshotFrom<T>): string;
  /** Called once the actor exists, before it starts: e.g. to record what it emits. */
  attach?(actor: Actor<T>, log: unknown[]): void;
  /** Throws when something that must hold after a step does not. */
  check?(replay: Replay<T>): void;
}

export interface TransitionPath<T extends AnyStateMachine> {
  transition: TransitionInfo;
  inputIndex: number;
  steps: Step<T>[];
}

/** Replays steps on a fresh actor; reports the transitions taken during the last step. */
export function replay<T extends AnyStateMachine>(
  model: MachineModel<T>,
  inputIndex: number,
  steps: Step<T>[],
  onStep?: (replay: Replay<T>, taken: string[], step: Step<T> | undefined) => void,
): Replay<T> & { lastTaken: string[]; errors: unknown[]; timers: number[] } {
  const log: unknown[] = [];
  const clock = new TestClock();
  const input = model.inputs[inputIndex] as InputFrom<T>;
  let taken: string[] = [];
  const errors: unknown[] = [];
  const actor = createActor(model.provide(log), {
    input,
    clock,
    inspect: (event) => {
      if (event.type === '@xstate.microstep' && event.actorRef === actor) {
        for (const def of event._transitions) taken.push(transitionKey(def));
      }
    },
  });
  actor.subscribe({ error: (error) => errors.push(error) });
  model.attach?.(actor, log);
  actor.start();
  const current = (): Replay<T> => ({ snapshot: actor.getSnapshot(), log, clock, input });
  onStep?.(current(), taken, undefined);
  for (const step of steps) {
    taken = [];
    if ((step as AdvanceStep).type === '@advance') clock.advance((step as AdvanceStep).ms);
    else actor.send(step as EventFromLogic<T>);
    onStep?.(current(), taken, step);
  }
  // Read before stop(), which cancels the actor's timers.
  const result = { ...current(), lastTaken: taken, errors, timers: clock.pending() };
  actor.stop();
  return result;
}

/** Breadth-first search for one shortest path per transition. */
export function findTransitionPaths<T extends AnyStateMachine>(
  model: MachineModel<T>,
  maxDepth = 12,
): { paths: TransitionPath<T>[]; unreached: TransitionInfo[] } {
  const all = allTransitions(model.machine);
  const byKey = new Map(all.map((t) => [t.key, t]));
  const found = new Map<string, TransitionPath<T>>();
  const serialize = model.serialize ?? ((s: SnapshotFrom<T>) => JSON.stringify((s as { value: unknown }).value));

  model.inputs.forEach((_, inputIndex) => {
    const seen = new Set<string>();
    let frontier: Step<T>[][] = [[]];
    for (let depth = 0; depth <= maxDepth && frontier.length > 0 && found.size < all.length; depth++) {
      const next: Step<T>[][] = [];
      for (const path of frontier) {
        const at = replay(model, inputIndex, path);
        const node = serialize(at.snapshot);
        if (seen.has(node)) continue;
        seen.add(node);
        if ((at.snapshot as { status: string }).status !== 'active') continue;
        const candidates: Step<T>[] = [
          ...model.events(at.snapshot),
          ...[...new Set(at.timers)].map((ms): AdvanceStep => ({ type: '@advance', ms })),
        ];
        for (const step of candidates) {
          const steps = [...path, step];
          const after = replay(model, inputIndex, steps);
          if (after.errors.length > 0 || after.lastTaken.length === 0) continue;
          for (const key of after.lastTaken) {
            const transition = byKey.get(key);
            if (transition && !found.has(key)) found.set(key, { transition, inputIndex, steps });
          }
          next.push(steps);
        }
      }
      frontier = next;
    }
  });
  return { paths: [...found.values()], unreached: all.filter((t) => !found.has(t.key)) };
}

/** Records which transitions the test replays took, for scripts/transition-coverage.ts. */
export function writeCoverage(machine: AnyStateMachine, covered: Iterable<string>): void {
  const dir = new URL('../../coverage/transitions/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const all = allTransitions(machine).map((t) => t.key);
  const coveredSet = new Set(covered);
  writeFileSync(
    new URL(`${machine.id}.json`, dir),
    `${JSON.stringify({ machine: machine.id, total: all, covered: all.filter((k) => coveredSet.has(k)) }, null, 2)}\n`,
  );
}
