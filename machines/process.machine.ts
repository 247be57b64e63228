/**
 * One local MCP server process behind a stdio session: spawned, made ready, restarted with
 * backoff after a crash (re-running the client's saved initialize, after a restart only), stopped gently (close
 * stdin, then SIGTERM, then SIGKILL). It also routes the server's messages to the session's
 * stream actors, since stdio says nothing about streams.
 *
 * Pure statechart: the OS process is the `runner` actor provided by src/. Diagram and
 * options: docs/stdio.md.
 */
import { type ActorRefFrom, type AnyActorRef, assign, emit, enqueueActions, fromCallback, setup } from 'xstate';
import type { RequestId } from './connection.types.js';
import { backoffDelay, DEFAULT_BACKOFF } from './delay-policy.js';
import type {
  HostEvent,
  HostToStream,
  ProcessInput,
  ProcessOptions,
  ProcessStateName,
  RunnerCommand,
  RunnerEvent,
  RunnerInput,
  StdioCommand,
  StreamRegistration,
} from './process.types.js';
import { routeMessage } from './stdio-routing.js';

export const DEFAULT_PROCESS_OPTIONS: ProcessOptions = {
  restart: { ...DEFAULT_BACKOFF, maxAttempts: 5 },
  readyTimeoutMs: 30_000,
  graceMs: 2_000,
  killAfterMs: 3_000,
  healthyAfterMs: 30_000,
};

/** The id the proxy gives the initialize it replays after a restart, so its answer is recognised. */
export const REPLAY_INITIALIZE_ID = 'mcp-shepherd-reinitialize';

interface Registered extends StreamRegistration {
  ref: AnyActorRef;
}

export interface ProcessContext {
  sessionId: string;
  process: StdioCommand;
  options: ProcessOptions;
  random: () => number;
  /** Crashes in a row; reset after the process runs healthily for a while. */
  attempt: number;
  restarts: number;
  delayMs: number | undefined;
  /** Stream actors waiting for messages, oldest first. */
  streams: readonly Registered[];
  /** Lines for stdin that arrived while no process was ready. */
  queue: readonly string[];
  /** The client's initialize, replayed (under REPLAY_INITIALIZE_ID) after a restart. */
  savedInitialize: Record<string, unknown> | undefined;
  /** The client's notifications/initialized line, replayed after the initialize. */
  savedInitialized: string | undefined;
  lastExit: string | undefined;
}

type ProcessEvent = RunnerEvent | HostEvent;

export type ProcessEmitted = {
  type: 'process.status';
  sessionId: string;
  state: ProcessStateName;
  attempt: number;
  restarts: number;
  detail?: string | undefined;
};

function parse(line: string | undefined): Record<string, unknown> | undefined {
  if (line === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const describeExit = (event: ProcessEvent) =>
  event.type === 'process.exit'
    ? `exited with ${event.signal ? `signal ${event.signal}` : `code ${event.code}`}`
    : event.type === 'process.error'
      ? event.message
      : 'did not become ready in time';

export const processMachine = setup({
  types: {
    context: {} as ProcessContext,
    events: {} as ProcessEvent,
    input: {} as ProcessInput,
    emitted: {} as ProcessEmitted,
  },
  actors: {
    /** Spawns the command; sends RunnerEvents; takes RunnerCommands; kills the process when stopped. */
    runner: fromCallback<RunnerCommand, RunnerInput>(() => {
      throw new Error('process: provide the runner actor');
    }),
  },
  delays: {
    readyTimeout: ({ context }) => context.options.readyTimeoutMs,
    healthyAfter: ({ context }) => context.options.healthyAfterMs,
    restartDelay: ({ context }) => context.delayMs ?? 0,
    grace: ({ context }) => context.options.graceMs,
    killAfter: ({ context }) => context.options.killAfterMs,
  },
  guards: {
    /**
     * A restarted process knows nothing of the session's handshake: the proxy replays it. The
     * first process gets the client's own initialize from the queue instead.
     */
    needsReplay: ({ context }) => context.restarts > 0 && context.savedInitialize !== undefined,
    crashesExhausted: ({ context }) => context.attempt + 1 > context.options.restart.maxAttempts,
    isReplayResult: ({ event }) =>
      event.type === 'process.message' && event.message.id === REPLAY_INITIALIZE_ID && 'result' in event.message,
  },
  actions: {
    /** Tells whoever listens (logs, the admin API) what the process is doing. */
    reportStatus: emit(({ context }, params: { state: ProcessStateName }) => ({
      type: 'process.status' as const,
      sessionId: context.sessionId,
      state: params.state,
      attempt: context.attempt,
      restarts: context.restarts,
      detail: context.lastExit,
    })),
    /** Registers a stream actor; remembers the initialize handshake for replays. */
    register: enqueueActions(({ context, event, enqueue }, params: { write: boolean }) => {
      if (event.type !== 'host.open') return;
      const { type: _type, body, ...registration } = event;
      const message = parse(body);
      // A POST that expects nothing back (notifications, responses) is written, not registered.
      const expectsMessages = registration.kind === 'get' || registration.awaiting.length > 0;
      const others = context.streams.filter((s) => s.streamId !== registration.streamId);
      enqueue.assign({
        streams: expectsMessages ? [...others, registration] : others,
        ...(message?.method === 'initialize' ? { savedInitialize: message } : {}),
        ...(message?.method === 'notifications/initialized' ? { savedInitialized: body } : {}),
      });
      if (body === undefined) return;
      if (params.write) enqueue.sendTo('runner', { type: 'runner.write', line: body } satisfies RunnerCommand);
      else enqueue.assign({ queue: [...context.queue, body] });
    }),
    unregister: assign(({ context, event }) =>
      event.type === 'host.close' ? { streams: context.streams.filter((s) => s.streamId !== event.streamId) } : {},
    ),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      for (const line of context.queue)
        enqueue.sendTo('runner', { type: 'runner.write', line } satisfies RunnerCommand);
      enqueue.assign({ queue: [] });
    }),
    /** Hands a server message to the stream it belongs to (see stdio-routing.ts). */
    route: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'process.message') return;
      const target = routeMessage(event.message, context.streams);
      const stream = context.streams.find((s) => s.streamId === target?.streamId);
      if (!stream) return;
      if (target?.answers !== undefined) {
        const answered = target.answers;
        enqueue.assign({
          streams: context.streams.map((s) =>
            s === stream ? { ...s, awaiting: s.awaiting.filter((id: RequestId) => id !== answered) } : s,
          ),
        });
      }
      enqueue.sendTo(stream.ref, {
        type: 'host.message',
        message: event.message,
        line: event.line,
      } satisfies HostToStream);
    }),
    writeReplayInitialize: enqueueActions(({ context, enqueue }) => {
      const line = JSON.stringify({ ...context.savedInitialize, id: REPLAY_INITIALIZE_ID });
      enqueue.sendTo('runner', { type: 'runner.write', line } satisfies RunnerCommand);
    }),
    writeInitialized: enqueueActions(({ context, enqueue }) => {
      if (context.savedInitialized === undefined) return;
      enqueue.sendTo('runner', { type: 'runner.write', line: context.savedInitialized } satisfies RunnerCommand);
    }),
    /** Requests in flight die with the process: each stream is told why, and let go. */
    failInFlight: enqueueActions(({ context, enqueue }, params: { restarting: boolean }) => {
      const message = params.restarting
        ? `The MCP server process ${context.lastExit}; it is being restarted. Send the request again.`
        : `The MCP server process ${context.lastExit} too often and was not restarted; start a new session.`;
      const dying = context.streams.filter((s) => s.kind === 'post' || !params.restarting);
      for (const stream of dying) enqueue.sendTo(stream.ref, { type: 'host.failed', message } satisfies HostToStream);
      enqueue.assign({ streams: context.streams.filter((s) => !dying.includes(s)), queue: [] });
    }),
    noteExit: assign(({ event }) => ({ lastExit: describeExit(event) })),
    planRestart: assign(({ context }) => ({
      attempt: context.attempt + 1,
      restarts: context.restarts + 1,
      delayMs: backoffDelay(context.attempt + 1, context.options.restart, context.random),
    })),
    resetAttempts: assign({ attempt: 0 }),
    closeStdin: enqueueActions(({ enqueue }) =>
      enqueue.sendTo('runner', { type: 'runner.closeStdin' } satisfies RunnerCommand),
    ),
    signal: enqueueActions(({ enqueue }, params: { signal: 'SIGTERM' | 'SIGKILL' }) =>
      enqueue.sendTo('runner', { type: 'runner.signal', signal: params.signal } satisfies RunnerCommand),
    ),
  },
}).createMachine({
  id: 'process',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    process: input.process,
    options: {
      ...DEFAULT_PROCESS_OPTIONS,
      ...input.options,
      restart: { ...DEFAULT_PROCESS_OPTIONS.restart, ...input.options?.restart },
    },
    random: input.random ?? Math.random,
    attempt: 0,
    restarts: 0,
    delayMs: undefined,
    streams: [],
    queue: [],
    savedInitialize: undefined,
    savedInitialized: undefined,
    lastExit: undefined,
  }),
  on: {
    'host.open': { actions: { type: 'register', params: { write: false } } },
    'host.close': { actions: 'unregister' },
  },
  initial: 'running',
  states: {
    running: {
      invoke: {
        id: 'runner',
        src: 'runner',
        input: ({ context }) => ({ sessionId: context.sessionId, command: context.process }),
      },
      on: { 'host.shutdown': '.stopping' },
      initial: 'spawning',
      states: {
        spawning: {
          entry: { type: 'reportStatus', params: { state: 'spawning' } },
          on: {
            'process.spawned': [{ guard: 'needsReplay', target: 'replaying' }, { target: 'ready' }],
            'process.exit': [
              { guard: 'crashesExhausted', target: '#process.failed', actions: 'noteExit' },
              { target: '#process.restarting', actions: 'noteExit' },
            ],
            'process.error': [
              { guard: 'crashesExhausted', target: '#process.failed', actions: 'noteExit' },
              { target: '#process.restarting', actions: 'noteExit' },
            ],
          },
        },
        replaying: {
          entry: [{ type: 'reportStatus', params: { state: 'replaying' } }, 'writeReplayInitialize'],
          after: {
            readyTimeout: [
              { guard: 'crashesExhausted', target: '#process.failed', actions: 'noteExit' },
              { target: '#process.restarting', actions: 'noteExit' },
            ],
          },
          on: {
            // The replayed initialize's answer is the proxy's own; nobody else sees it.
            'process.message': { guard: 'isReplayResult', target: 'ready', actions: 'writeInitialized' },
            'process.exit': [
              { guard: 'crashesExhausted', target: '#process.failed', actions: 'noteExit' },
              { target: '#process.restarting', actions: 'noteExit' },
            ],
          },
        },
        ready: {
          entry: [{ type: 'reportStatus', params: { state: 'ready' } }, 'flushQueue'],
          after: { healthyAfter: { actions: 'resetAttempts' } },
          on: {
            'host.open': { actions: { type: 'register', params: { write: true } } },
            'process.message': { actions: 'route' },
            'process.exit': [
              { guard: 'crashesExhausted', target: '#process.failed', actions: 'noteExit' },
              { target: '#process.restarting', actions: 'noteExit' },
            ],
          },
        },
        stopping: {
          entry: [{ type: 'reportStatus', params: { state: 'stopping' } }, 'closeStdin'],
          on: { 'process.exit': '#process.stopped', 'host.shutdown': {} },
          initial: 'closingStdin',
          states: {
            closingStdin: {
              after: { grace: { target: 'terminating', actions: { type: 'signal', params: { signal: 'SIGTERM' } } } },
            },
            terminating: {
              after: { killAfter: { target: 'killing', actions: { type: 'signal', params: { signal: 'SIGKILL' } } } },
            },
            killing: {},
          },
        },
      },
    },
    restarting: {
      entry: [
        { type: 'failInFlight', params: { restarting: true } },
        'planRestart',
        { type: 'reportStatus', params: { state: 'restarting' } },
      ],
      after: { restartDelay: 'running' },
      on: { 'host.shutdown': 'stopped' },
    },
    stopped: { type: 'final', entry: { type: 'reportStatus', params: { state: 'stopped' } } },
    failed: {
      type: 'final',
      entry: [
        { type: 'failInFlight', params: { restarting: false } },
        { type: 'reportStatus', params: { state: 'failed' } },
      ],
    },
  },
});

export type ProcessActorRef = ActorRefFrom<typeof processMachine>;

/** The state names used in reports and views, from a snapshot's nested value. */
export function processStateName(value: unknown): ProcessStateName {
  if (typeof value === 'string') return value === 'restarting' || value === 'failed' ? value : 'stopped';
  const running = (value as { running?: unknown }).running;
  if (running === 'spawning' || running === 'replaying' || running === 'ready') return running;
  return 'stopping';
}
