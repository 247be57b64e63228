import { expect } from 'vitest';
import { type AnyActorRef, createActor, fromCallback } from 'xstate';
import { processMachine, REPLAY_INITIALIZE_ID } from '../../machines/process.machine.js';
import type {
  HostEvent,
  HostToStream,
  ProcessInput,
  RunnerCommand,
  RunnerEvent,
  RunnerInput,
} from '../../machines/process.types.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged =
  | { kind: 'spawn' }
  | { kind: 'stop' }
  | { kind: 'command'; command: RunnerCommand }
  | { kind: 'to-stream'; streamId: string; event: HostToStream };

/** Stream actors the process talks to; they record into the log of the replay in progress. */
let currentLog: unknown[] = [];
const streamRefs = new Map<string, AnyActorRef>();
function streamRef(streamId: string): AnyActorRef {
  let ref = streamRefs.get(streamId);
  if (!ref) {
    ref = createActor(
      fromCallback<HostToStream>(({ receive }) => {
        receive((event) => currentLog.push({ kind: 'to-stream', streamId, event }));
      }),
    ).start();
    streamRefs.set(streamId, ref);
  }
  return ref;
}

const input: ProcessInput = {
  sessionId: 'session-0123456789abcdef',
  process: { command: 'server', args: ['--stdio'] },
  options: { restart: { maxAttempts: 2 }, readyTimeoutMs: 1000, graceMs: 100, killAfterMs: 200, healthyAfterMs: 5000 },
  random: () => 0.5,
};

const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18' } };
const open = (streamId: string, kind: 'get' | 'post', body?: object, awaiting: number[] = []): HostEvent => ({
  type: 'host.open',
  streamId,
  kind,
  awaiting,
  progressTokens: kind === 'post' ? [`t-${streamId}`] : [],
  ref: streamRef(streamId),
  ...(body ? { body: JSON.stringify(body) } : {}),
});
const message = (value: Record<string, unknown>): RunnerEvent => ({
  type: 'process.message',
  message: value,
  line: JSON.stringify(value),
});

const model: MachineModel<typeof processMachine> = {
  machine: processMachine,
  inputs: [input],
  provide: (log) => {
    currentLog = log;
    return processMachine.provide({
      actors: {
        runner: fromCallback<RunnerCommand, RunnerInput>(({ receive }) => {
          log.push({ kind: 'spawn' });
          receive((command) => log.push({ kind: 'command', command }));
          return () => log.push({ kind: 'stop' });
        }),
      },
    });
  },
  events: ({ context }) => {
    const events: Array<RunnerEvent | HostEvent> = [
      { type: 'process.spawned', pid: 42 },
      { type: 'process.exit', code: 1, signal: null },
      { type: 'process.error', message: 'spawn server ENOENT' },
      { type: 'host.shutdown' },
      open('stream-1', 'post', initialize, [0]),
      open('stream-2', 'post', { jsonrpc: '2.0', method: 'notifications/initialized' }),
      open('stream-3', 'post', { jsonrpc: '2.0', id: 3, method: 'tools/call' }, [3]),
      open('stream-0', 'get'),
      message({ jsonrpc: '2.0', id: REPLAY_INITIALIZE_ID, result: { protocolVersion: '2025-06-18' } }),
      message({ jsonrpc: '2.0', id: 3, result: {} }),
      message({
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 't-stream-3', progress: 1 },
      }),
      message({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} }),
    ];
    for (const stream of context.streams) events.push({ type: 'host.close', streamId: stream.streamId });
    return events;
  },
  serialize: ({ value, context }) =>
    JSON.stringify([
      value,
      context.attempt,
      context.streams.map((s) => `${s.streamId}:${s.awaiting.length}`).sort(),
      context.queue.length > 0,
      context.savedInitialize !== undefined,
      context.savedInitialized !== undefined,
    ]),
  check: ({ snapshot, log, clock }) => {
    const entries = log as Logged[];
    const { context } = snapshot;
    const running = snapshot.matches('running');
    // One OS process while running, none otherwise.
    const live = entries.filter((e) => e.kind === 'spawn').length - entries.filter((e) => e.kind === 'stop').length;
    expect(live).toBe(running ? 1 : 0);
    expect(context.attempt).toBeLessThanOrEqual(context.options.restart.maxAttempts);

    const lastSpawn = entries.map((e) => e.kind).lastIndexOf('spawn');
    const written = entries
      .slice(lastSpawn)
      .flatMap((e) => (e.kind === 'command' && e.command.type === 'runner.write' ? [e.command.line] : []));
    if (snapshot.matches({ running: 'ready' })) {
      expect(context.queue).toEqual([]);
      // After a restart the saved handshake goes first, under the proxy's own id.
      if (context.restarts > 0 && context.savedInitialize) {
        expect(JSON.parse(written[0] as string)).toMatchObject({ method: 'initialize', id: REPLAY_INITIALIZE_ID });
        if (context.savedInitialized) expect(written[1]).toBe(context.savedInitialized);
      }
    }
    if (!snapshot.matches({ running: 'ready' })) {
      // Nothing but the replayed initialize is written to a process that is not ready.
      for (const line of written) expect(JSON.parse(line).id).toBe(REPLAY_INITIALIZE_ID);
    }
    // Request streams do not outlive the process: each was told why (restarts keep the
    // standalone stream; a process that gave up keeps none).
    if (snapshot.matches('failed')) {
      expect(context.streams).toEqual([]);
      expect(context.queue).toEqual([]);
    }
    // Every request stream that the process told of a crash is no longer registered.
    const lastFailure = entries.map((e) => e.kind === 'to-stream' && e.event.type === 'host.failed').lastIndexOf(true);
    if (lastFailure >= 0 && (snapshot.matches('restarting') || snapshot.matches('failed'))) {
      const failedStream = (entries[lastFailure] as { streamId: string }).streamId;
      expect(context.streams.some((s) => s.streamId === failedStream && s.kind === 'post')).toBe(false);
    }
    const commands = entries.flatMap((e) => (e.kind === 'command' ? [e.command.type] : []));
    if (snapshot.matches({ running: { stopping: 'terminating' } })) {
      expect(commands).toContain('runner.closeStdin');
      expect(entries).toContainEqual({ kind: 'command', command: { type: 'runner.signal', signal: 'SIGTERM' } });
    }
    if (snapshot.matches({ running: { stopping: 'killing' } })) {
      expect(entries).toContainEqual({ kind: 'command', command: { type: 'runner.signal', signal: 'SIGKILL' } });
    }
    if (snapshot.status === 'done') expect(clock.pending()).toEqual([]);
  },
};

describeTransitions(model);
