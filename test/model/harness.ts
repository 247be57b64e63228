/**
 * Generated transition tests. For a machine, find one shortest path per transition
 * (breadth-first over live replays, so guards see real context), then replay each path
 * against the machine with its real children, fake leaf effects (the "world": HTTP
 * readers, processes, the upstream DELETE) and the TestClock, checking the model's
 * invariants after every step and the transition's own declared effect after the last.
 *
 * A path is made of three kinds of step: a command the machine's owner sends it (never an
 * event a child would send: those come from real children), time passing, and something
 * happening in the world (an upstream answers, a process exits). Which transitions the
 * replays took is written to coverage/transitions/<machine>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  type Actor,
  type AnyStateMachine,
  createActor,
  createMachine,
  type EventFromLogic,
  type InputFrom,
  type InspectionEvent,
  type SnapshotFrom,
} from 'xstate';
import { allTransitions, type TransitionInfo, transitionKey } from '../../scripts/machine-graph.js';
import { TestClock } from '../support/test-clock.js';

/** Advances the clock to a pending timer; stands for "time passes" in a path. */
export interface AdvanceStep {
  type: '@advance';
  ms: number;
}

/** Something the model makes happen in its world of fakes (named by `action`). */
export interface WorldStep {
  type: '@world';
  action: string;
  [detail: string]: unknown;
}

export type Step<T extends AnyStateMachine> = EventFromLogic<T> | AdvanceStep | WorldStep;

/** Every world records what the machine did to it, in order. */
export interface World {
  log: unknown[];
}

export interface Replay<T extends AnyStateMachine, W extends World> {
  snapshot: SnapshotFrom<T>;
  world: W;
  clock: TestClock;
  input: InputFrom<T>;
  actor: Actor<T>;
}

/** What a transition's effect is checked against: the machine before and after the step that took it. */
export interface Effect<T extends AnyStateMachine, W extends World> {
  before: { snapshot: SnapshotFrom<T>; logLength: number };
  after: Replay<T, W>;
  /** What the world recorded during the last step. */
  recorded: unknown[];
  /** The labels of every transition the last step took, in order. */
  taken: string[];
  /** Every event the machine took during the last step (commands it raised for itself among them). */
  received: Array<{ type: string }>;
  step: Step<T>;
}

export interface MachineModel<T extends AnyStateMachine, W extends World> {
  /** The unprovided machine; its transitions are what must be covered. */
  machine: T;
  /** A fresh world of fakes for one replay. */
  world(): W;
  /**
   * The machine with its leaf effects taken from the world of the replay running now
   * (`world()`). Called once per model: providing a machine builds it anew, which costs more
   * than a whole replay.
   */
  provide(world: () => W): T;
  /** How many inputs; each starts its own search (e.g. an HTTP and a stdio session). */
  inputCount: number;
  input(index: number, world: W): InputFrom<T>;
  /** The event types the machine's owner sends it: nothing else is ever sent. */
  commands: readonly string[];
  /** The steps available now: commands and world steps; clock steps are added by the harness. */
  steps(snapshot: SnapshotFrom<T>, world: W): Step<T>[];
  /** Makes a world step happen. */
  perform?(step: WorldStep, world: W, actor: Actor<T>): void;
  /** What makes two replays the same search node. Default: state value only. */
  serialize?(snapshot: SnapshotFrom<T>, world: W): string;
  /** Called once the actor exists (before it starts, unless under a parent): e.g. to record what it emits. */
  attach?(actor: Actor<T>, world: W): void;
  /** Throws when something that must hold after every step does not. */
  check?(replay: Replay<T, W>): void;
  /**
   * For each transition label (scripts/machine-graph.ts), what taking it must have done:
   * throws when the effect is missing. Every transition has one.
   */
  effects: Record<string, (effect: Effect<T, W>) => void>;
  /** How far the search goes; see findTransitionPaths. */
  search?: SearchLimits;
  /**
   * Run the machine as the invoked child of a parent that records what it is sent (as
   * `{ kind: 'to-parent', event }` in the world's log): for machines that report to theirs.
   */
  parent?: boolean;
}

export interface SearchLimits {
  /** Longest path tried. Default 12. */
  maxDepth?: number;
  /**
   * An input's search ends after this many depths in a row that found nothing new, counted
   * from depth `patienceFrom` (the shallow ones are often all found by an earlier input).
   * Default: no limit but maxDepth.
   */
  patience?: number;
  patienceFrom?: number;
}

export interface TransitionPath<T extends AnyStateMachine> {
  transition: TransitionInfo;
  inputIndex: number;
  steps: Step<T>[];
}

/** Lets promise actors settle and microtasks run, as the event loop would between two steps. */
async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

export interface ReplayResult<T extends AnyStateMachine, W extends World> extends Replay<T, W> {
  lastTaken: string[];
  errors: unknown[];
  timers: number[];
}

export interface ReplayHooks<T extends AnyStateMachine, W extends World> {
  /** After every step (and once before the first), with the transitions it took. */
  onStep?(replay: Replay<T, W>, taken: string[]): void;
  /** After the last step, before the actor stops (its children and timers are still there). */
  onEnd?(result: ReplayResult<T, W>, effect: Effect<T, W> | undefined): void;
}

/** Replays steps on a fresh actor; reports the transitions taken during the last step. */
const provided = new WeakMap<object, { logic: AnyStateMachine; current: World | undefined }>();

/** The model's machine, provided once, with the world its fakes use set for this replay. */
function logicFor<T extends AnyStateMachine, W extends World>(model: MachineModel<T, W>, world: W): T {
  let entry = provided.get(model);
  if (entry === undefined) {
    const holder: { logic: AnyStateMachine; current: World | undefined } = { logic: model.machine, current: undefined };
    holder.logic = model.provide(() => {
      if (holder.current === undefined) throw new Error('no replay is running');
      return holder.current as W;
    });
    entry = holder;
    provided.set(model, entry);
  }
  entry.current = world;
  return entry.logic as T;
}

export async function replay<T extends AnyStateMachine, W extends World>(
  model: MachineModel<T, W>,
  inputIndex: number,
  steps: Step<T>[],
  hooks: ReplayHooks<T, W> = {},
): Promise<ReplayResult<T, W>> {
  const { onStep } = hooks;
  const world = model.world();
  const logic = logicFor(model, world);
  const clock = new TestClock();
  const input = model.input(inputIndex, world);
  let taken: string[] = [];
  const errors: unknown[] = [];
  let actor: Actor<T> | undefined;
  let received: Array<{ type: string }> = [];
  const inspect = (event: InspectionEvent) => {
    // A root actor resolves its initial transient transitions while createActor builds it,
    // before `actor` is assigned: a microstep of a root actor then is the start's.
    const ofMachine =
      event.actorRef === actor ||
      (actor === undefined && !model.parent && (event.actorRef as { _parent?: unknown })._parent === undefined);
    if (event.type === '@xstate.microstep' && ofMachine) {
      for (const def of event._transitions) taken.push(transitionKey(def));
      // Microsteps see raised events too, which the actor's mailbox never does.
      if (received.at(-1) !== event.event) received.push(event.event);
    }
  };
  // Under a parent, the machine is its invoked child, and whatever it sends up is recorded.
  const parent = model.parent
    ? createActor(
        createMachine({
          invoke: { id: 'child', src: logic, input },
          on: { '*': { actions: ({ event }) => world.log.push({ kind: 'to-parent', event }) } },
        }),
        { clock, inspect },
      )
    : undefined;
  const root = parent ? undefined : createActor(logic, { input, clock, inspect });
  actor = root;
  if (root) {
    root.subscribe({ error: (error) => errors.push(error) });
    model.attach?.(root, world);
    root.start();
  }
  parent?.subscribe({ error: (error) => errors.push(error) });
  parent?.start();
  const child = parent?.getSnapshot().children.child;
  // The child is an actor ref of the same logic: it answers what the tests use of it.
  if (child) {
    actor = child as Actor<T>;
    model.attach?.(actor, world);
  }
  const under = actor as Actor<T>;
  await settle();
  const current = (): Replay<T, W> => ({ snapshot: under.getSnapshot(), world, clock, input, actor: under });
  const labelsOf = (keys: string[]) => {
    const labels = new Map(allTransitions(model.machine).map((t) => [t.key, t.label]));
    return keys.map((key) => labels.get(key) ?? key);
  };
  onStep?.(current(), taken);
  // Transitions the machine takes as it starts (from a transient initial state) are the
  // effect of the empty path; the step is the start itself.
  let effect: Effect<T, W> | undefined =
    steps.length === 0
      ? {
          before: { snapshot: under.getSnapshot(), logLength: 0 },
          after: current(),
          recorded: world.log.slice(),
          taken: labelsOf(taken),
          received,
          step: { type: '@world', action: 'start' },
        }
      : undefined;
  for (const [index, step] of steps.entries()) {
    taken = [];
    received = [];
    const before = { snapshot: under.getSnapshot(), logLength: world.log.length };
    const kind = (step as { type: string }).type;
    if (kind === '@advance') clock.advance((step as AdvanceStep).ms);
    else if (kind === '@world') model.perform?.(step as WorldStep, world, under);
    else {
      if (!model.commands.includes(kind)) throw new Error(`${kind} is not a command of ${model.machine.id}`);
      under.send(step as EventFromLogic<T>);
    }
    await settle();
    if (index === steps.length - 1) {
      effect = {
        before,
        after: current(),
        recorded: world.log.slice(before.logLength),
        taken: labelsOf(taken),
        received,
        step,
      };
    }
    onStep?.(current(), taken);
  }
  // Read before stop(), which cancels the actor's timers and stops its children.
  const result = { ...current(), lastTaken: taken, errors, timers: clock.pending() };
  hooks.onEnd?.(result, effect);
  (root ?? parent)?.stop();
  return result;
}

/** Breadth-first search for one shortest path per transition. */
export async function findTransitionPaths<T extends AnyStateMachine, W extends World>(
  model: MachineModel<T, W>,
): Promise<{ paths: TransitionPath<T>[]; unreached: TransitionInfo[] }> {
  const { maxDepth = 12, patience = Number.POSITIVE_INFINITY, patienceFrom = 0 } = model.search ?? {};
  const all = allTransitions(model.machine);
  const byKey = new Map(all.map((t) => [t.key, t]));
  const found = new Map<string, TransitionPath<T>>();
  const serialize = model.serialize ?? ((s: SnapshotFrom<T>) => JSON.stringify((s as { value: unknown }).value));

  /** A search node: the path to it, and what it looked like when the path was replayed. */
  interface Node {
    steps: Step<T>[];
    key: string;
    active: boolean;
    candidates: Step<T>[];
  }
  /** Replays a path and reads the node it reaches, while its children are still running. */
  const visit = async (inputIndex: number, steps: Step<T>[]) => {
    let node: Node | undefined;
    const result = await replay(model, inputIndex, steps, {
      onEnd: (at) => {
        node = {
          steps,
          key: serialize(at.snapshot, at.world),
          active: (at.snapshot as { status: string }).status === 'active',
          candidates: [
            ...model.steps(at.snapshot, at.world),
            ...[...new Set(at.timers)].map((ms): AdvanceStep => ({ type: '@advance', ms })),
          ],
        };
      },
    });
    return { result, node: node as Node };
  };

  for (let inputIndex = 0; inputIndex < model.inputCount; inputIndex++) {
    const seen = new Set<string>();
    const start = await visit(inputIndex, []);
    for (const key of start.result.lastTaken) {
      const transition = byKey.get(key);
      if (transition && !found.has(key)) found.set(key, { transition, inputIndex, steps: [] });
    }
    let frontier: Node[] = [start.node];
    let idle = 0;
    for (
      let depth = 0;
      depth <= maxDepth && frontier.length > 0 && found.size < all.length && idle < patience;
      depth++
    ) {
      const before = found.size;
      const next: Node[] = [];
      for (const node of frontier) {
        if (seen.has(node.key)) continue;
        seen.add(node.key);
        if (!node.active) continue;
        for (const step of node.candidates) {
          const steps = [...node.steps, step];
          const { result, node: reached } = await visit(inputIndex, steps);
          if (result.errors.length > 0) continue;
          for (const key of result.lastTaken) {
            const transition = byKey.get(key);
            if (transition && !found.has(key)) found.set(key, { transition, inputIndex, steps });
          }
          next.push(reached);
        }
      }
      frontier = next;
      idle = found.size > before || depth < patienceFrom ? 0 : idle + 1;
      if (process.env.MODEL_SEARCH_DEBUG) {
        console.error(
          `${model.machine.id} input ${inputIndex} depth ${depth}: ${frontier.length} next, ${seen.size} seen, ${found.size}/${all.length} found`,
        );
        const fresh = [...found.values()].slice(before).map((p) => `  + ${p.transition.label}`);
        if (fresh.length > 0) console.error(fresh.join('\n'));
      }
    }
  }
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
