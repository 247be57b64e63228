/**
 * The session machine's pure parts: its context, the messages of its refusals, and how it
 * reads the events its children send. machines/session.setup.ts and session.machine.ts
 * hold the statechart that uses them.
 */

import type { ConnectionOutput, ConnectionStatus } from './connection.types.js';
import { isConnectionOutput, resultIn } from './connection-rules.js';
import { formatEventId } from './event-id.js';
import type { EventLog, ReplayRefusal } from './event-log.js';
import { DEFAULT_PROCESS_OPTIONS } from './process.machine.js';
import type {
  Forwarded,
  RefusalCode,
  SessionCommand,
  SessionEmitted,
  SessionEndReason,
  SessionEvent,
  SessionInput,
  SessionLimits,
  SessionRestore,
  UpstreamGonePolicy,
  UpstreamTarget,
} from './session.types.js';
import {
  emptyTable,
  entryOf,
  INITIALIZE_STREAM,
  STANDALONE_STREAM,
  type StreamTable,
  streamOf,
  streamRef,
} from './stream-table.js';
import { connectionInput, type UpstreamSession } from './upstream-request.js';

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxConnectionsPerSession: 10,
  idleTimeoutMs: 5 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  deleteTimeoutMs: 5_000,
  maxReinitializations: 3,
  standaloneWaitMs: 5_000,
};

/** What the session was started with; fixed for its life. */
export interface SessionConfig {
  eventTag: string;
  initialize: SessionInput['initialize'];
  upstream: UpstreamTarget;
  connectionOptions: SessionInput['connection'];
  onUpstreamGone: UpstreamGonePolicy;
  eventLog: EventLog;
  /** Who created the session; the runtime serves it to this identity only. */
  identity: string | undefined;
  /** Where another process left the session, when this one goes on with it. */
  restore: SessionRestore | undefined;
}

export interface StandaloneState {
  /** Where the upstream GET stream left off, to resume it when it opens again. */
  resumeId: string | undefined;
  /** The seq of the last event of the stream a client was attached for: later ones wait in the log. */
  delivered: number;
  /** The upstream has no GET stream (it answered 405 or 404). */
  unavailable: boolean;
}

/** How many upstream event ids a session remembers to drop repeats across streams. */
export const UPSTREAM_IDS_KEPT = 64;

/** The ids with this one added; undefined when it is a repeat (an event to drop). */
export function rememberUpstreamId(ids: readonly string[], id: string | undefined): readonly string[] | undefined {
  if (id === undefined) return ids;
  return ids.includes(id) ? undefined : [...ids.slice(1 - UPSTREAM_IDS_KEPT), id];
}

/** How many credential ids a session remembers as accepted (a refreshed token is a new one). */
export const ACCEPTED_CREDENTIALS_KEPT = 8;

/** A replay actor reading the log for a client now. */
export interface ResumeSlot {
  slot: number;
  /** The client request waiting for the answer. */
  key: string;
  /** `resume`: a GET with Last-Event-ID; `listen`: a GET attaching to the live standalone stream. */
  kind: 'resume' | 'listen';
  forward: Forwarded | undefined;
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
  /** The standalone stream (stream-table.ts holds it while it is live). */
  standalone: StandaloneState;
  /** The credential the upstream accepted last (for the proxy's own requests), and the ids of all it accepted. */
  credentials: { latest: Forwarded['credential']; accepted: readonly string[] };
  /** Client commands that arrived while the upstream GET stream was opening: handled once it is. */
  deferred: readonly SessionCommand[];
  /**
   * The upstream's latest event ids, on any stream: "unique across all streams within that
   * session" (2025-06-18+ transports), so one seen again is a repeat, even on another stream
   * (an event store that replays other streams' events on a resume).
   */
  upstreamIds: readonly string[];
  endReason: SessionEndReason | undefined;
  /** The client's notifications/initialized, replayed after a re-initialization. */
  initializedBody: string | undefined;
  reinitializations: number;
  /** A `host` child (a stdio server process) is running. */
  hostAlive: boolean;
  /** The replay actors reading the log now: their slot and the resume each answers. */
  resuming: readonly ResumeSlot[];
  /**
   * The upstream answered its last client POST with one JSON body (or has not answered one
   * yet): the next goes as an exchange (exchange.ts). One that answers with streams gets a
   * connection at once, instead of an exchange handed over every time.
   */
  answersInOne: boolean;
}

export function initialContext(input: SessionInput): SessionContext {
  const { restore } = input;
  return {
    sessionId: input.sessionId,
    config: {
      eventTag: input.eventTag,
      initialize: input.initialize,
      upstream: input.upstream,
      connectionOptions: input.connection,
      onUpstreamGone: input.onUpstreamGone ?? 'reinitialize',
      eventLog: input.eventLog,
      identity: input.identity,
      restore,
    },
    limits: { ...DEFAULT_SESSION_LIMITS, ...input.limits },
    upstreamSessionId: restore?.upstreamSessionId,
    protocolVersion: restore?.protocolVersion,
    streams: restore ? { entries: {}, next: restore.nextStream } : emptyTable(),
    nextSeq: restore?.nextSeq ?? 1,
    standalone: {
      resumeId: restore?.streams.find((s) => s.stream === STANDALONE_STREAM)?.resumeId,
      delivered: restore?.standaloneDelivered ?? 0,
      unavailable: false,
    },
    credentials: {
      latest: restore?.credential,
      accepted: restore?.credential ? [restore.credential.id] : [],
    },
    deferred: [],
    upstreamIds: [],
    endReason: undefined,
    initializedBody: restore?.initializedBody,
    reinitializations: restore?.reinitializations ?? 0,
    hostAlive: false,
    resuming: [],
    answersInOne: true,
  };
}

type StreamEnded = Extract<SessionEmitted, { type: 'session.stream.ended' }>;

/** Tells the runtime a stream is over, with the requests of it that never got a response. */
export const streamEnded = (
  context: Pick<SessionContext, 'sessionId'>,
  stream: number,
  fields: Omit<StreamEnded, 'type' | 'sessionId' | 'stream'>,
): StreamEnded => ({ type: 'session.stream.ended', sessionId: context.sessionId, stream, ...fields });

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
  'no-standalone-stream': () => 'The upstream server does not offer a server-to-client stream (GET).',
};

/** Once every stream is closed: ends that are expiries (the client did not ask for them). */
export const END_IS_EXPIRY: Record<SessionEndReason, boolean> = {
  deleted: false,
  shutdown: false,
  'initialize-failed': false,
  idle: true,
  lifetime: true,
  'upstream-gone': true,
  handoff: false,
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
  return initializeResultIn(context, event) !== undefined;
}

/** The initialize result an event from the initialize stream carries (alone, or in a run). */
export function initializeResultIn(context: SessionContext, event: SessionEvent) {
  if (
    (event.type !== 'connection.event' && event.type !== 'connection.events') ||
    streamOf(event.id) !== INITIALIZE_STREAM
  )
    return undefined;
  return resultIn(event, context.config.initialize.requestId);
}

/** A re-initialization that worked, with the upstream's new session. */
export function isReinitialized(value: unknown): value is { ok: true } & UpstreamSession {
  return value !== null && typeof value === 'object' && (value as { ok?: unknown }).ok === true;
}

/** Port calls the session does not wait for: an implementation reports its own failures. */
export const settle = (result: void | Promise<void>) => {
  if (result instanceof Promise) result.catch(() => {});
};

/**
 * The input of the connection child for one of the session's streams: it carries what its
 * client forwarded, or, for a stream the proxy opens on its own, the credential the upstream
 * accepted last.
 */
export function spawnInput(
  context: SessionContext,
  stream: number,
  kind: 'get' | 'post',
  body?: string,
  resumeId?: string,
) {
  const entry = entryOf(context.streams, stream);
  return connectionInput({
    id: streamRef(stream),
    sessionId: context.sessionId,
    upstream: context.config.upstream,
    upstreamSession: context,
    kind,
    body,
    pending: entry?.pending ?? [],
    lastEventId: kind === 'get' ? context.standalone.resumeId : resumeId,
    options: context.config.connectionOptions,
    forwarded: entry?.forward?.headers ?? context.credentials.latest?.headers,
  });
}

/**
 * The standalone stream once its connection ended: where to resume it from, and whether the
 * upstream has one at all (405, or a 404 that cannot mean a lost session).
 */
export function standaloneAfterEnd(context: SessionContext, status: ConnectionStatus): StandaloneState {
  const none = status.status === 405 || (status.status === 404 && context.upstreamSessionId === undefined);
  return {
    ...context.standalone,
    resumeId: status.lastEventId,
    unavailable: context.standalone.unavailable || (status.state !== 'closed' && none),
  };
}

/** The upstream accepted a request carrying this credential: it is the one the proxy's own requests carry. */
export function acceptCredential(
  credentials: SessionContext['credentials'],
  forward: Forwarded | undefined,
): SessionContext['credentials'] {
  const credential = forward?.credential;
  if (credential === undefined || credentials.latest?.id === credential.id) return credentials;
  const accepted = credentials.accepted.includes(credential.id)
    ? credentials.accepted
    : [...credentials.accepted.slice(-(ACCEPTED_CREDENTIALS_KEPT - 1)), credential.id];
  return { latest: credential, accepted };
}
