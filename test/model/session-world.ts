/**
 * The world a session lives in, as fakes of its leaf effects only: the upstream (each
 * stream's reader: what it was asked, and the answers the test makes it give), the stdio
 * process's OS runner, the upstream DELETE, and an event log (the real memory log, which the
 * world can slow down or break). The session, its connection machines, its re-initialization
 * and its process machine are the real ones. The session, group and supervisor model tests
 * share it.
 */
import { fromCallback, fromPromise } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionEvent, StreamRequest } from '../../machines/connection.types.js';
import type { EventLog, LoggedEvent, LogPosition, ReplayResult } from '../../machines/event-log.js';
import { processMachine } from '../../machines/process.machine.js';
import type { RunnerCommand, RunnerEvent, RunnerInput } from '../../machines/process.types.js';
import { reinitializeMachine } from '../../machines/reinitialize.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import type {
  DeleteUpstreamInput,
  SessionEmitted,
  SessionInput,
  SessionLifecycle,
} from '../../machines/session.types.js';
import type { SupervisorEmitted } from '../../machines/supervisor.types.js';
import { adoptingReader, exchangeLogic, Handovers } from '../../src/sse/exchange.js';
import { MemoryEventLog } from '../../src/store/memory-event-log.js';
import { fakeReader, type Reader } from './fake-reader.js';
import type { World, WorldStep } from './harness.js';

export const TAG = 'tag1';
export const INITIALIZE_BODY = '{"jsonrpc":"2.0","id":0,"method":"initialize"}';
export const INITIALIZED_BODY = '{"jsonrpc":"2.0","method":"notifications/initialized"}';

export type Logged =
  | { kind: 'request'; request: StreamRequest }
  | { kind: 'emit'; event: SessionEmitted }
  | { kind: 'notify'; event: string }
  | { kind: 'delete'; headers: Record<string, string> }
  | { kind: 'runner'; command: RunnerCommand['type'] | 'spawn' | 'stop' }
  | { kind: 'to-parent'; event: { type: string } & Record<string, unknown> }
  /** What a machine above the session (supervisor) emits. */
  | { kind: 'announce'; event: SupervisorEmitted };

/** A session's event log: the real memory log, which the world can make slow or broken. */
export class WorldLog implements EventLog {
  readonly inner = new MemoryEventLog(TAG, { maxEvents: 4, maxBytes: 1e6 });
  failing = false;
  holding = false;
  /** Appending throws: a broken port, which fails the session actor that calls it. */
  broken = false;
  freed = false;
  private readonly held: Array<() => void> = [];

  append(event: LoggedEvent) {
    if (this.broken) throw new Error('the event log is broken');
    this.inner.append(event);
  }
  replayAfter(lastEventId: string, position: LogPosition): ReplayResult | Promise<ReplayResult> {
    if (this.failing) return Promise.reject(new Error('the log is down'));
    if (this.holding) {
      return new Promise((resolve) => this.held.push(() => resolve(this.inner.replayAfter(lastEventId, position))));
    }
    return this.inner.replayAfter(lastEventId, position);
  }
  release() {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }
  get heldCount() {
    return this.held.length;
  }
  evictStream(stream: number) {
    this.inner.evictStream(stream);
  }
  free() {
    this.freed = true;
    this.inner.free();
  }
  stats() {
    return this.inner.stats();
  }
}

export interface SessionWorld extends World {
  log: Logged[];
  readers: Reader[];
  deletes: Array<{ resolve: () => void; reject: (error: Error) => void }>;
  runner: { sendBack: (event: RunnerEvent) => void; stopped: boolean } | undefined;
  eventLog: WorldLog;
}

export const sessionWorld = (): SessionWorld => ({
  log: [],
  readers: [],
  deletes: [],
  runner: undefined,
  eventLog: new WorldLog(),
});

/** A session's input; `sessionId` tells sessions of one supervisor apart. */
export const sessionInput = (eventLog: EventLog, sessionId = 'client-session-0123456789'): SessionInput => ({
  sessionId,
  eventTag: TAG,
  initialize: { key: 'init', body: INITIALIZE_BODY, requestId: 0 },
  upstream: { url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'Bearer t' } },
  eventLog,
  limits: {
    maxConnectionsPerSession: 2,
    idleTimeoutMs: 1000,
    maxLifetimeMs: 100_000,
    deleteTimeoutMs: 500,
    maxReinitializations: 1,
  },
  connection: { backoff: { maxAttempts: 1 } },
});

/**
 * The session machine with only its leaf effects faked, into `world`. `notify` (the report to
 * the supervisor) is recorded, unless `toParent`: then it goes to the real parent.
 */
export function provideSession(world: () => SessionWorld, toParent = false) {
  // A POST's exchange runs the same fake reader, and hands it to the connection as src/ does.
  const reader = fakeReader(() => world().readers, {
    opened: (opened) => world().log.push({ kind: 'request', request: opened.request }),
  });
  const handovers = new Handovers();
  const connection = connectionMachine.provide({
    actors: { openStream: fromCallback(adoptingReader(reader, handovers)) },
  });
  // No window: an exchange hands over only on what its upstream answers (the window: exchange.test.ts).
  const exchange = exchangeLogic(reader, { handovers, handoverAfterMs: 0 });
  return sessionMachine.provide({
    actors: {
      connection,
      exchange,
      reinitialize: reinitializeMachine.provide({ actors: { connection } }),
      upstreamHost: processMachine.provide({
        actors: {
          runner: fromCallback<RunnerCommand, RunnerInput>(({ receive, sendBack }) => {
            const w = world();
            const runner = { sendBack, stopped: false };
            w.runner = runner;
            w.log.push({ kind: 'runner', command: 'spawn' });
            receive((command) => w.log.push({ kind: 'runner', command: command.type }));
            return () => {
              runner.stopped = true;
              w.log.push({ kind: 'runner', command: 'stop' });
            };
          }),
        },
      }),
      deleteUpstream: fromPromise<void, DeleteUpstreamInput>(({ input }) => {
        const w = world();
        w.log.push({ kind: 'delete', headers: input.headers });
        return new Promise<void>((resolve, reject) => w.deletes.push({ resolve, reject }));
      }),
    },
    ...(toParent
      ? {}
      : {
          actions: {
            notify: (_: unknown, params: Omit<SessionLifecycle, 'type'>) =>
              world().log.push({ kind: 'notify', event: params.event }),
          },
        }),
  });
}

const requestIdOf = (request: StreamRequest): number | undefined => {
  if (request.body === undefined) return undefined;
  const id = (JSON.parse(request.body) as { id?: unknown }).id;
  return typeof id === 'number' ? id : undefined;
};
export const isInitialize = (request: StreamRequest) => request.body === INITIALIZE_BODY;

const answer = (reader: number, event: ConnectionEvent): WorldStep => ({
  type: '@world',
  action: 'reader',
  reader,
  event,
});

/**
 * What the upstream may do now: each reader not yet answered answers (a stream, 202, 404,
 * 500); each open one sends the response it waits for, or a progress notification. With
 * `only`, just the answers that get a session initialized and its streams finished.
 */
export function readerSteps(world: SessionWorld, only?: 'happy'): WorldStep[] {
  const steps: WorldStep[] = [];
  world.readers.forEach((reader, index) => {
    if (reader.stopped) return;
    if (!reader.responded) {
      const first = world.readers.indexOf(reader) === 0;
      const sessionId = isInitialize(reader.request) ? (first ? 'upstream-1' : 'upstream-2') : undefined;
      const http = !reader.request.url.startsWith('stdio:');
      steps.push(
        answer(index, {
          type: 'stream.response',
          status: 200,
          contentType: 'text/event-stream',
          ...(sessionId && http ? { sessionId } : {}),
        }),
      );
      if (only === 'happy') return;
      // A client request's POST may be answered with one JSON body (an exchange keeps it).
      if (reader.request.method === 'POST' && !isInitialize(reader.request) && http) {
        steps.push(answer(index, { type: 'stream.response', status: 200, contentType: 'application/json' }));
      }
      steps.push(
        answer(index, { type: 'stream.response', status: 202, contentType: null }),
        answer(index, { type: 'stream.response', status: 404, contentType: 'application/json' }),
        answer(index, { type: 'stream.response', status: 500, contentType: 'text/plain' }),
      );
      // An upstream without a server-to-client stream.
      if (reader.request.method === 'GET') {
        steps.push(answer(index, { type: 'stream.response', status: 405, contentType: 'text/plain' }));
      }
      return;
    }
    const id = requestIdOf(reader.request) ?? 99;
    const result = { jsonrpc: '2.0', id, result: { protocolVersion: '2025-11-25' } };
    const data = JSON.stringify(result);
    steps.push(answer(index, { type: 'stream.event', id: `u${index}-${world.log.length}`, data, message: result }));
    if (only === 'happy') return;
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: id } };
    const progressEvent = (suffix: string) => ({
      id: `p${index}-${world.log.length}${suffix}`,
      data: JSON.stringify(progress),
      message: progress,
    });
    steps.push(
      answer(index, { type: 'stream.event', ...progressEvent('') }),
      // One chunk upstream: progress, then the answer, read and forwarded as a run.
      answer(index, {
        type: 'stream.events',
        events: [progressEvent('a'), { id: `u${index}-${world.log.length}r`, data, message: result }],
      }),
    );
  });
  return steps;
}

/** Makes a reader step happen; true when it was one. */
export function performReaderStep(step: WorldStep, world: SessionWorld): boolean {
  if (step.action !== 'reader') return false;
  const reader = world.readers[step.reader as number];
  const event = step.event as ConnectionEvent;
  if (reader && event.type === 'stream.response') reader.responded = true;
  reader?.sendBack(event);
  return true;
}

/**
 * Answers a started session's initialize (on its stream, with an upstream session id) and
 * opens its standalone GET: the session is then `active`, as after a real client's initialize.
 */
export function activate(world: SessionWorld): void {
  const say = (event: ConnectionEvent) => world.readers.at(-1)?.sendBack(event);
  say({ type: 'stream.response', status: 200, contentType: 'text/event-stream', sessionId: 'upstream-1' });
  const initialized = { jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25' } };
  say({ type: 'stream.event', id: 'i1', data: JSON.stringify(initialized), message: initialized });
  say({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
}
