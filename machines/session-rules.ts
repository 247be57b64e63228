/**
 * The session machine's pure parts: its context, the messages of its refusals, and how it
 * reads the events its children send. machines/session.setup.ts and session.machine.ts
 * hold the statechart that uses them.
 */

import type { ConnectionOutput, ConnectionStatus } from './connection.types.js';
import { isConnectionOutput } from './connection-rules.js';
import { formatEventId } from './event-id.js';
import type { EventLog, ReplayRefusal, ReplayResult } from './event-log.js';
import { resultFor } from './jsonrpc.js';
import { DEFAULT_PROCESS_OPTIONS } from './process.machine.js';
import type {
  RefusalCode,
  SessionEndReason,
  SessionEvent,
  SessionInput,
  SessionLimits,
  UpstreamGonePolicy,
  UpstreamTarget,
} from './session.types.js';
import { emptyTable, entryOf, INITIALIZE_STREAM, type StreamTable, streamOf, streamRef } from './stream-table.js';
import { connectionInput, type UpstreamSession } from './upstream-request.js';

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxConnectionsPerSession: 10,
  idleTimeoutMs: 5 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  deleteTimeoutMs: 5_000,
  maxReinitializations: 3,
};

/** What the session was started with; fixed for its life. */
export interface SessionConfig {
  eventTag: string;
  initialize: SessionInput['initialize'];
  upstream: UpstreamTarget;
  connectionOptions: SessionInput['connection'];
  onUpstreamGone: UpstreamGonePolicy;
  eventLog: EventLog;
}

/**
 * Kept under 20 top-level keys (test/unit/context-shape.test.ts): every assign copies the
 * context with Object.assign, and V8 copies an object of 20 or more keys in dictionary mode,
 * about 15 times slower (docs/benchmarks.md).
 */
export interface SessionContext {
  sessionId: string;
  config: SessionConfig;
  limits: SessionLimits;
  upstreamSessionId: string | undefined;
  protocolVersion: string | undefined;
  /** Live streams by number (stream-table.ts); each has a connection child (streamChildId). */
  streams: StreamTable;
  /** Session-wide event counter: ids stay unique and increasing across streams and reconnects. */
  nextSeq: number;
  /** Where the upstream GET stream left off, to resume it when the client listens again. */
  standaloneResumeId: string | undefined;
  endReason: SessionEndReason | undefined;
  /** The client's notifications/initialized, replayed after a re-initialization. */
  initializedBody: string | undefined;
  reinitializations: number;
  /** A `host` child (a stdio server process) is running. */
  hostAlive: boolean;
  /** The replay actors reading the log now: their slot and the resume each answers. */
  resuming: readonly ResumeSlot[];
}

export function initialContext(input: SessionInput): SessionContext {
  return {
    sessionId: input.sessionId,
    config: {
      eventTag: input.eventTag,
      initialize: input.initialize,
      upstream: input.upstream,
      connectionOptions: input.connection,
      onUpstreamGone: input.onUpstreamGone ?? 'reinitialize',
      eventLog: input.eventLog,
    },
    limits: { ...DEFAULT_SESSION_LIMITS, ...input.limits },
    upstreamSessionId: undefined,
    protocolVersion: undefined,
    streams: emptyTable(),
    nextSeq: 1,
    standaloneResumeId: undefined,
    endReason: undefined,
    initializedBody: undefined,
    reinitializations: 0,
    hostAlive: false,
    resuming: [],
  };
}

/**
 * An id naming `stream` at the session's current position: a client resuming from it gets
 * every later event of the stream. Sent as the SSE priming event (SEP-1699).
 */
export const primingIdOf = (context: Pick<SessionContext, 'config' | 'nextSeq'>, stream: number) =>
  formatEventId(context.config.eventTag, stream, context.nextSeq - 1);

/** What each refusal tells the client; a refused Last-Event-ID is explained by the log itself. */
export const REFUSAL_MESSAGES: Record<Exclude<RefusalCode, ReplayRefusal>, (limits: SessionLimits) => string> = {
  'too-many-streams': (limits) =>
    `This session already has ${limits.maxConnectionsPerSession} open streams (maxConnectionsPerSession); wait for one to finish, or raise the limit.`,
  'not-initialized': () => 'The session is still initializing; send requests after the initialize response.',
  reinitializing: () => 'The upstream server lost this session and it is being re-initialized; retry in a moment.',
  'stream-attached': () =>
    'Conflict: another client connection is attached to this stream; each message is sent on one stream only. Close that connection first, or resume with Last-Event-ID once it is gone.',
  'too-many-resumes': (limits) =>
    `This session is already answering ${limits.maxConnectionsPerSession} resumes (maxConnectionsPerSession); retry in a moment.`,
  'log-unavailable': () =>
    "The session's event log could not be read; retry, or open a new stream without Last-Event-ID.",
};

/** Once every stream is closed: ends that are expiries (the client did not ask for them). */
export const END_IS_EXPIRY: Record<SessionEndReason, boolean> = {
  deleted: false,
  shutdown: false,
  'initialize-failed': false,
  idle: true,
  lifetime: true,
  'upstream-gone': true,
};

export const HOST_ID = 'host';
/** How a session's stream readers find its host in the actor system. */
export const hostSystemId = (sessionId: string) => `host:${sessionId}`;

/** How long to wait for the stdio process to stop: its own grace and kill delays, plus a second. */
export function hostStopTimeoutMs(upstream: UpstreamTarget): number {
  const options = { ...DEFAULT_PROCESS_OPTIONS, ...upstream.processOptions };
  return options.graceMs + options.killAfterMs + 1000;
}

export const isStatus = (event: SessionEvent): event is ConnectionStatus => event.type === 'connection.status';

/**
 * How a stream's connection finished, when this is its done event. A child's done event is
 * the last thing it sends, after its final status: the session ends on it (never on the
 * status), so that nothing of the child arrives at an ended session.
 */
export function streamEndOf(event: SessionEvent): { stream: number; output: ConnectionOutput } | undefined {
  if (!event.type.startsWith('xstate.done.actor.stream-') || !('output' in event)) return undefined;
  return isConnectionOutput(event.output) ? { stream: streamOf(event.output.id), output: event.output } : undefined;
}
export const isTerminal = (state: ConnectionStatus['state']) =>
  state === 'closed' || state === 'failed' || state === 'expired';

/** The event is the answer to the client's initialize, on the initialize stream. */
export function carriesInitializeResult(context: SessionContext, event: SessionEvent): boolean {
  return (
    event.type === 'connection.event' &&
    streamOf(event.id) === INITIALIZE_STREAM &&
    resultFor(event.event.message, context.config.initialize.requestId) !== undefined
  );
}

export interface ResumeSlot {
  slot: number;
  /** The client request (GET with Last-Event-ID) waiting for the answer. */
  key: string;
}

export const RESUME_PREFIX = 'resume-';
export const resumeChildId = (slot: number) => `${RESUME_PREFIX}${slot}`;

function isReplayResult(value: unknown): value is ReplayResult {
  return value !== null && typeof value === 'object' && typeof (value as { ok?: unknown }).ok === 'boolean';
}

const childIdOf = (type: string) => type.replace(/^xstate\.(done|error)\.actor\./, '');

/** The slot of a replay actor whose done or error event this is. */
export function resumeSlotOf(event: SessionEvent): number | undefined {
  if (!event.type.startsWith('xstate.')) return undefined;
  const id = childIdOf(event.type);
  return id.startsWith(RESUME_PREFIX) ? Number(id.slice(RESUME_PREFIX.length)) : undefined;
}

/** What a replay actor answered, when this is its done event. */
export function replayOf(event: SessionEvent): ReplayResult | undefined {
  if (!event.type.startsWith('xstate.done.actor.') || resumeSlotOf(event) === undefined) return undefined;
  const output = 'output' in event ? event.output : undefined;
  return isReplayResult(output) ? output : undefined;
}

/** The resume a replay actor's done or error event answers, and the answer when it has one. */
export function resumeOf(
  context: SessionContext,
  event: SessionEvent,
): { key: string; slot: number; replay: ReplayResult | undefined } | undefined {
  const slot = resumeSlotOf(event);
  const held = context.resuming.find((r) => r.slot === slot);
  return held === undefined ? undefined : { key: held.key, slot: held.slot, replay: replayOf(event) };
}

/**
 * The first replay slot no resume holds now (-1: all are busy). A resume is a client stream
 * too: a session answers at most `maxConnectionsPerSession` at once.
 */
export function freeResumeSlot(resuming: readonly ResumeSlot[], limits: SessionLimits): number {
  for (let slot = 0; slot < limits.maxConnectionsPerSession; slot++) {
    if (!resuming.some((r) => r.slot === slot)) return slot;
  }
  return -1;
}

/** A re-initialization that worked, with the upstream's new session. */
export function isReinitialized(value: unknown): value is { ok: true } & UpstreamSession {
  return value !== null && typeof value === 'object' && (value as { ok?: unknown }).ok === true;
}

/** Port calls the session does not wait for: an implementation reports its own failures. */
export const settle = (result: void | Promise<void>) => {
  if (result instanceof Promise) result.catch(() => {});
};

/** The input of the connection child for one of the session's streams. */
export function spawnInput(context: SessionContext, stream: number, kind: 'get' | 'post', body?: string) {
  return connectionInput({
    id: streamRef(stream),
    sessionId: context.sessionId,
    upstream: context.config.upstream,
    upstreamSession: context,
    kind,
    body,
    pending: entryOf(context.streams, stream)?.pending ?? [],
    lastEventId: kind === 'get' ? context.standaloneResumeId : undefined,
    options: context.config.connectionOptions,
  });
}

export const replayOfResume = (context: SessionContext, event: SessionEvent) => resumeOf(context, event)?.replay;
