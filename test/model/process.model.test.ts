import { expect } from 'vitest';
import { type AnyActorRef, createActor, fromCallback } from 'xstate';
import { type ProcessEmitted, processMachine, REPLAY_INITIALIZE_ID } from '../../machines/process.machine.js';
import type {
  HostEvent,
  HostToStream,
  ProcessInput,
  RunnerCommand,
  RunnerEvent,
  RunnerInput,
} from '../../machines/process.types.js';
import type { Effect, MachineModel, Step, World, WorldStep } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'spawn' }
  | { kind: 'stop' }
  | { kind: 'command'; command: RunnerCommand }
  | { kind: 'to-stream'; streamId: string; event: HostToStream }
  | { kind: 'status'; event: ProcessEmitted };

interface ProcessWorld extends World {
  log: Logged[];
  /** The OS process the runner fake stands for, while it runs. */
  runner: { sendBack: (event: RunnerEvent) => void; stopped: boolean } | undefined;
  /** The stream readers that talk to the process (peers, not children): each records what it is sent. */
  streams: Map<string, AnyActorRef>;
}

const input: ProcessInput = {
  sessionId: 'session-0123456789abcdef',
  process: { command: 'server', args: ['--stdio'] },
  options: { restart: { maxAttempts: 2 }, readyTimeoutMs: 1000, graceMs: 100, killAfterMs: 200, healthyAfterMs: 5000 },
  random: () => 0.5,
};

const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18' } };
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

function streamRef(world: ProcessWorld, streamId: string): AnyActorRef {
  let ref = world.streams.get(streamId);
  if (!ref) {
    ref = createActor(
      fromCallback<HostToStream>(({ receive }) => {
        receive((event) => world.log.push({ kind: 'to-stream', streamId, event }));
      }),
    ).start();
    world.streams.set(streamId, ref);
  }
  return ref;
}

const open = (world: ProcessWorld, streamId: string, kind: 'get' | 'post', body?: object, awaiting: number[] = []) =>
  ({
    type: 'host.open',
    streamId,
    kind,
    awaiting,
    progressTokens: kind === 'post' ? [`t-${streamId}`] : [],
    ref: streamRef(world, streamId),
    ...(body ? { body: JSON.stringify(body) } : {}),
  }) satisfies HostEvent;

const runner = (event: RunnerEvent): Step<typeof processMachine> => ({ type: '@world', action: 'runner', event });
const message = (value: Record<string, unknown>) =>
  runner({ type: 'process.message', message: value, line: JSON.stringify(value) });

type ProcessEffect = Effect<typeof processMachine, ProcessWorld>;
const recorded = (e: ProcessEffect) => e.recorded as Logged[];
const statuses = (e: ProcessEffect) => recorded(e).flatMap((r) => (r.kind === 'status' ? [r.event.state] : []));
const written = (e: ProcessEffect) =>
  recorded(e).flatMap((r) => (r.kind === 'command' && r.command.type === 'runner.write' ? [r.command.line] : []));
const toStreams = (e: ProcessEffect) => recorded(e).flatMap((r) => (r.kind === 'to-stream' ? [r] : []));

/** The step moved the process to this state and said so. */
const entered = (state: ProcessEmitted['state']) => (e: ProcessEffect) => expect(statuses(e).at(-1)).toBe(state);

/** A crash: in-flight requests told why, the process gone, a restart (or the end) planned. */
function crashed(outcome: 'restarting' | 'failed') {
  return (e: ProcessEffect) => {
    entered(outcome)(e);
    expect(e.after.world.runner?.stopped ?? true).toBe(true);
    for (const told of toStreams(e)) expect(told.event.type).toBe('host.failed');
    if (outcome === 'failed') {
      expect(e.after.snapshot.context.streams).toEqual([]);
      expect(e.after.clock.pending()).toEqual([]);
    } else {
      expect(e.after.snapshot.context.restarts).toBe(e.before.snapshot.context.restarts + 1);
      expect(e.after.clock.pending()).toEqual([e.after.snapshot.context.delayMs]);
    }
  };
}

const unchanged = (e: ProcessEffect) => {
  expect(e.after.snapshot.value).toEqual(e.before.snapshot.value);
  expect(statuses(e)).toEqual([]);
};

const model: MachineModel<typeof processMachine, ProcessWorld> = {
  machine: processMachine,
  world: () => ({ log: [], runner: undefined, streams: new Map() }),
  provide: (world) =>
    processMachine.provide({
      actors: {
        runner: fromCallback<RunnerCommand, RunnerInput>(({ receive, sendBack }) => {
          const w = world();
          const current = { sendBack, stopped: false };
          w.runner = current;
          w.log.push({ kind: 'spawn' });
          receive((command) => w.log.push({ kind: 'command', command }));
          return () => {
            current.stopped = true;
            w.log.push({ kind: 'stop' });
          };
        }),
      },
    }),
  attach: (actor, world) => {
    actor.on('process.status', (event) => world.log.push({ kind: 'status', event }));
  },
  inputCount: 1,
  input: () => input,
  commands: ['host.open', 'host.close', 'host.shutdown'],
  steps: ({ context }, world) => {
    const steps: Step<typeof processMachine>[] = [
      { type: 'host.shutdown' },
      open(world, 'stream-1', 'post', initialize, [0]),
      open(world, 'stream-2', 'post', initialized),
      open(world, 'stream-3', 'post', { jsonrpc: '2.0', id: 3, method: 'tools/call' }, [3]),
      open(world, 'stream-0', 'get'),
    ];
    for (const stream of context.streams) steps.push({ type: 'host.close', streamId: stream.streamId });
    if (world.runner && !world.runner.stopped) {
      steps.push(
        runner({ type: 'process.spawned', pid: 42 }),
        runner({ type: 'process.exit', code: 1, signal: null }),
        runner({ type: 'process.error', message: 'spawn server ENOENT' }),
        message({ jsonrpc: '2.0', id: REPLAY_INITIALIZE_ID, result: { protocolVersion: '2025-06-18' } }),
        message({ jsonrpc: '2.0', id: 3, result: {} }),
        message({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: 't-stream-3', progress: 1 },
        }),
        message({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} }),
      );
    }
    return steps;
  },
  perform: (step, world) => world.runner?.sendBack(step.event as RunnerEvent),
  serialize: ({ value, context }, world) =>
    JSON.stringify([
      value,
      context.attempt,
      context.streams.map((s) => `${s.streamId}:${s.awaiting.length}`).sort(),
      context.queue.length > 0,
      context.savedInitialize !== undefined,
      context.savedInitialized !== undefined,
      context.restarts > 0,
      world.runner?.stopped === false,
    ]),
  check: ({ snapshot, world, clock }) => {
    const entries = world.log;
    const { context } = snapshot;
    const running = snapshot.matches('running');
    // One OS process while running, none otherwise.
    const live = entries.filter((e) => e.kind === 'spawn').length - entries.filter((e) => e.kind === 'stop').length;
    expect(live).toBe(running ? 1 : 0);
    expect(context.attempt).toBeLessThanOrEqual(context.options.restart.maxAttempts);

    const lastSpawn = entries.map((e) => e.kind).lastIndexOf('spawn');
    const lines = entries
      .slice(lastSpawn)
      .flatMap((e) => (e.kind === 'command' && e.command.type === 'runner.write' ? [e.command.line] : []));
    // The handshake reaches each process once: the client's own to the first, the replay to a restarted one.
    const initializes = lines.filter((line) => JSON.parse(line).method === 'initialize');
    expect(initializes.length).toBeLessThanOrEqual(1);
    if (context.restarts === 0)
      for (const line of initializes) expect(JSON.parse(line).id).not.toBe(REPLAY_INITIALIZE_ID);
    if (snapshot.matches({ running: 'ready' })) {
      expect(context.queue).toEqual([]);
      if (context.restarts > 0 && context.savedInitialize) {
        expect(JSON.parse(lines[0] as string)).toMatchObject({ method: 'initialize', id: REPLAY_INITIALIZE_ID });
        if (context.savedInitialized) expect(lines[1]).toBe(context.savedInitialized);
      }
    } else {
      // Nothing but the replayed initialize is written to a process that is not ready.
      for (const line of lines) expect(JSON.parse(line).id).toBe(REPLAY_INITIALIZE_ID);
    }
    if (snapshot.matches('failed')) {
      expect(context.streams).toEqual([]);
      expect(context.queue).toEqual([]);
    }
    if (snapshot.status === 'done') expect(clock.pending()).toEqual([]);
  },
  effects: {
    'process --host.open--> (self)': (e) => {
      // Not ready: the line waits in the queue (if any), the stream is registered.
      const event = e.step as Extract<HostEvent, { type: 'host.open' }>;
      expect(written(e)).toEqual([]);
      if (event.body !== undefined) expect(e.after.snapshot.context.queue.at(-1)).toBe(event.body);
      const expectsAnswer = event.kind === 'get' || event.awaiting.length > 0;
      expect(e.after.snapshot.context.streams.some((s) => s.streamId === event.streamId)).toBe(expectsAnswer);
    },
    'process --host.close--> (self)': (e) => {
      const { streamId } = e.step as { streamId: string };
      expect(e.after.snapshot.context.streams.some((s) => s.streamId === streamId)).toBe(false);
    },
    'process.running --host.shutdown--> process.running.stopping': (e) => {
      entered('stopping')(e);
      expect(recorded(e)).toContainEqual({ kind: 'command', command: { type: 'runner.closeStdin' } });
    },
    'process.running.spawning --process.spawned[needsReplay]--> process.running.replaying': (e) => {
      entered('replaying')(e);
      expect(written(e).map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({ method: 'initialize', id: REPLAY_INITIALIZE_ID }),
      ]);
    },
    'process.running.spawning --process.spawned--> process.running.ready': (e) => {
      entered('ready')(e);
      // The first process gets what was queued, the client's initialize among it, once.
      expect(written(e)).toEqual(e.before.snapshot.context.queue);
    },
    'process.running.spawning --process.exit[crashesExhausted]--> process.failed': crashed('failed'),
    'process.running.spawning --process.exit--> process.restarting': crashed('restarting'),
    'process.running.spawning --process.error[crashesExhausted]--> process.failed': crashed('failed'),
    'process.running.spawning --process.error--> process.restarting': crashed('restarting'),
    'process.running.replaying --process.message[isReplayResult]--> process.running.ready': (e) => {
      entered('ready')(e);
      // Nobody sees the proxy's own initialize answer; the saved initialized follows it.
      expect(toStreams(e)).toEqual([]);
      const saved = e.before.snapshot.context.savedInitialized;
      if (saved !== undefined) expect(written(e)[0]).toBe(saved);
    },
    'process.running.replaying --process.exit[crashesExhausted]--> process.failed': crashed('failed'),
    'process.running.replaying --process.exit--> process.restarting': crashed('restarting'),
    'process.running.replaying --after readyTimeout[crashesExhausted]--> process.failed': crashed('failed'),
    'process.running.replaying --after readyTimeout--> process.restarting': crashed('restarting'),
    'process.running.ready --host.open--> (self)': (e) => {
      const event = e.step as Extract<HostEvent, { type: 'host.open' }>;
      expect(written(e)).toEqual(event.body === undefined ? [] : [event.body]);
      expect(e.after.snapshot.context.queue).toEqual([]);
    },
    'process.running.ready --process.message--> (self)': (e) => {
      const { message: sent } = (e.step as WorldStep).event as Extract<RunnerEvent, { type: 'process.message' }>;
      const streams = e.before.snapshot.context.streams;
      const told = toStreams(e);
      // Routed to at most one stream (stdio-routing.ts), exactly as it came.
      expect(told.length).toBeLessThanOrEqual(1);
      for (const t of told) expect(t.event).toMatchObject({ type: 'host.message', message: sent });
      if (streams.length > 0 && 'method' in sent) expect(told).toHaveLength(1);
    },
    'process.running.ready --process.exit[crashesExhausted]--> process.failed': crashed('failed'),
    'process.running.ready --process.exit--> process.restarting': crashed('restarting'),
    'process.running.ready --after healthyAfter--> (self)': (e) => {
      expect(e.after.snapshot.context.attempt).toBe(0);
      unchanged(e);
    },
    'process.running.stopping --process.exit--> process.stopped': (e) => {
      entered('stopped')(e);
      expect(e.after.snapshot.status).toBe('done');
    },
    'process.running.stopping --host.shutdown--> (self)': (e) => {
      // A second shutdown does not start the gentle stop over.
      unchanged(e);
      expect(recorded(e)).toEqual([]);
    },
    'process.running.stopping.closingStdin --after grace--> process.running.stopping.terminating': (e) =>
      expect(recorded(e)).toContainEqual({ kind: 'command', command: { type: 'runner.signal', signal: 'SIGTERM' } }),
    'process.running.stopping.terminating --after killAfter--> process.running.stopping.killing': (e) =>
      expect(recorded(e)).toContainEqual({ kind: 'command', command: { type: 'runner.signal', signal: 'SIGKILL' } }),
    'process.restarting --host.shutdown--> process.stopped': (e) => {
      entered('stopped')(e);
      expect(recorded(e).some((r) => r.kind === 'spawn')).toBe(false);
      expect(e.after.clock.pending()).toEqual([]);
    },
    'process.restarting --after restartDelay--> process.running': (e) => {
      entered('spawning')(e);
      expect(recorded(e).filter((r) => r.kind === 'spawn')).toHaveLength(1);
    },
  },
};

await describeTransitions(model);
