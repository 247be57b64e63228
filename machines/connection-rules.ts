/**
 * The connection machine's pure parts: its context, the request each attempt makes, the
 * reports it sends, and how an HTTP answer is classified. machines/connection.machine.ts
 * holds the statechart that uses them.
 */
import type {
  ConnectionDelivery,
  ConnectionEvent,
  ConnectionInput,
  ConnectionOptions,
  ConnectionOutput,
  ConnectionReason,
  ConnectionRunDelivery,
  ConnectionStateName,
  ConnectionStatus,
  RequestId,
  StreamEvent,
  StreamRequest,
  UpstreamAnswer,
  WaitReason,
} from './connection.types.js';
import type { DelaySource } from './delay-policy.js';
import { DEFAULT_BACKOFF } from './delay-policy.js';
import type { ExchangeAnswered } from './exchange.js';
import { responseIds, resultFor } from './jsonrpc.js';

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  backoff: DEFAULT_BACKOFF,
  connectTimeoutMs: 30_000,
  heartbeatTimeoutMs: 45_000,
  stallGraceMs: 15_000,
  healthyAfterMs: 30_000,
  dedupeWindow: 128,
  resumeSilenceMs: 30_000,
  maxSilentResumes: 2,
  sessionGonePatterns: ['no valid session id', 'session not found', '"code"\\s*:\\s*-32001'],
};

/** What the stream asks the upstream for; fixed for the connection's life. */
export interface ConnectionTarget {
  url: string;
  method: 'GET' | 'POST';
  headers: Readonly<Record<string, string>>;
  body: string | undefined;
  session: string | undefined;
  /** Already spent waiting for the first response headers (an exchange's handover). */
  waitedMs: number;
}

/**
 * Kept under 20 top-level keys (test/unit/context-shape.test.ts): every assign copies the
 * context with Object.assign, and V8 copies an object of 20 or more keys in dictionary mode,
 * about 15 times slower (docs/benchmarks.md).
 */
export interface ConnectionContext {
  id: string;
  target: ConnectionTarget;
  options: ConnectionOptions;
  random: () => number;
  /** Requests whose responses complete this stream; undefined: it never completes itself. */
  awaiting: readonly RequestId[] | undefined;
  /** Consecutive failed attempts; reset after a stream stays healthy for a while. */
  attempt: number;
  opens: number;
  lastEventId: string | undefined;
  /** Recent event ids, newest last, to drop what a server repeats after a resume. */
  recentIds: readonly string[];
  /** Bytes arrived since the heartbeat timer was last started. */
  active: boolean;
  retryHintMs: number | undefined;
  /** In `waiting`: how long, and which rule chose it. */
  delay: { ms: number; source: DelaySource } | undefined;
  reason: ConnectionReason | undefined;
  status: number | undefined;
  detail: string | undefined;
  /** `Mcp-Session-Id` from the last successful response. */
  sessionId: string | undefined;
  /** What the last successful response carried. */
  bodyKind: 'json' | 'sse' | undefined;
  /** An upstream 401 or 403 that ended the stream, for the client. */
  answer: UpstreamAnswer | undefined;
  /** The last event id when the current open began, and how many resumes in a row carried nothing. */
  resumeWatch: { fromId: string | undefined; silent: number };
}

export function resolveConnectionOptions(input: ConnectionInput['options']): ConnectionOptions {
  return {
    ...DEFAULT_CONNECTION_OPTIONS,
    ...input,
    backoff: { ...DEFAULT_BACKOFF, ...input?.backoff },
  };
}

export function initialContext(input: ConnectionInput): ConnectionContext {
  return {
    id: input.id,
    target: {
      url: input.url,
      method: input.method ?? 'GET',
      headers: input.headers ?? {},
      body: input.body,
      session: input.session,
      waitedMs: input.waitedMs ?? 0,
    },
    options: resolveConnectionOptions(input.options),
    random: input.random ?? Math.random,
    awaiting: input.method === 'POST' ? (input.awaitResponses ?? []) : undefined,
    attempt: 0,
    opens: 0,
    lastEventId: input.lastEventId,
    recentIds: input.lastEventId === undefined ? [] : [input.lastEventId],
    active: false,
    retryHintMs: undefined,
    delay: undefined,
    reason: undefined,
    status: undefined,
    detail: undefined,
    sessionId: undefined,
    bodyKind: undefined,
    answer: undefined,
    resumeWatch: { fromId: input.lastEventId, silent: 0 },
  };
}

/**
 * This attempt sends the POST body: the first of a POST stream. A POST stream without a body
 * was sent before (by another process, whose session this one took over): it only resumes.
 */
export const sendsBody = (context: Pick<ConnectionContext, 'target' | 'opens'>) =>
  context.target.method === 'POST' && context.opens === 0 && context.target.body !== undefined;

/**
 * The request for the current attempt. The first attempt of a POST stream sends the body;
 * every later attempt is a resume: "the client MAY ... issue an HTTP GET to the MCP
 * endpoint with the Last-Event-ID header" (2025-06-18+ transports, Resumability).
 */
export function requestFor(context: ConnectionContext): StreamRequest {
  const { target } = context;
  const isPost = sendsBody(context);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
  // "The client MUST include an Accept header, listing both application/json and
  // text/event-stream" (POST); a GET lists text/event-stream.
  headers.accept = isPost ? 'application/json, text/event-stream' : 'text/event-stream';
  if (!isPost) delete headers['content-type'];
  if (context.lastEventId !== undefined) headers['last-event-id'] = context.lastEventId;
  const request: StreamRequest = { id: context.id, url: target.url, method: isPost ? 'POST' : 'GET', headers };
  if (target.session !== undefined) request.session = target.session;
  if (isPost && target.body !== undefined) request.body = target.body;
  return request;
}

/** The request a connection with this input sends first (what an exchange sends in its place). */
export const firstRequest = (input: ConnectionInput): StreamRequest => requestFor(initialContext(input));

export function statusOf(context: ConnectionContext, state: ConnectionStateName): ConnectionStatus {
  return {
    type: 'connection.status',
    id: context.id,
    state,
    reason: context.reason,
    attempt: context.attempt,
    opens: context.opens,
    lastEventId: context.lastEventId,
    sessionId: context.sessionId,
    bodyKind: context.bodyKind,
    status: context.status,
    detail: context.detail,
    delayMs: state === 'waiting' ? context.delay?.ms : undefined,
    delaySource: state === 'waiting' ? context.delay?.source : undefined,
    answer: context.answer,
  };
}

export function remainingAfter(awaiting: readonly RequestId[] | undefined, event: StreamEvent) {
  if (awaiting === undefined) return undefined;
  const answered = responseIds(event.message);
  return answered.length === 0 ? awaiting : awaiting.filter((id) => !answered.includes(id));
}

/** What a run of events (one chunk of the body) does to the connection. */
export interface BatchEffect {
  /** The events the parent gets, in order: no repeat, no priming, none after the completing one. */
  deliver: StreamEvent[];
  awaiting: readonly RequestId[] | undefined;
  lastEventId: string | undefined;
  recentIds: readonly string[];
  /** It carried the last awaited response: the stream is complete and its later events unread. */
  completes: boolean;
}

/**
 * Reads a run of events exactly as the connection reads them one at a time (the
 * `stream.event` transitions of machines/connection-transitions.ts): a repeat of a recent id
 * only counts as activity, a priming event (an id, no data) is only a resume point, any
 * other event is delivered, and the one that answers the last awaited request completes the
 * stream. test/unit/connection-batch.test.ts holds the two to the same results.
 */
export function readBatch(
  context: Pick<ConnectionContext, 'awaiting' | 'lastEventId' | 'recentIds' | 'options'>,
  events: readonly StreamEvent[],
): BatchEffect {
  const window = context.options.dedupeWindow;
  let { awaiting, lastEventId } = context;
  // Ids so far, newest last: an id is a repeat when it is among the newest `window` of them.
  let ids: string[] | undefined;
  const deliver: StreamEvent[] = [];
  let completes = false;
  for (const event of events) {
    if (event.id !== undefined) {
      const known = ids ?? context.recentIds;
      const at = known.lastIndexOf(event.id);
      if (at !== -1 && at >= known.length - window) continue;
    }
    awaiting = remainingAfter(awaiting, event);
    if (event.id !== undefined) {
      ids ??= [...context.recentIds];
      ids.push(event.id);
      lastEventId = event.id;
    }
    if (event.data === '') continue;
    deliver.push(event);
    if (awaiting !== undefined && awaiting.length === 0) {
      completes = true;
      break;
    }
  }
  const recentIds = ids === undefined ? context.recentIds : ids.slice(-window);
  return { deliver, awaiting, lastEventId, recentIds, completes };
}

export const hasStatus = (event: ConnectionEvent, ...statuses: number[]) =>
  event.type === 'stream.response' && statuses.includes(event.status);
export const mediaType = (event: ConnectionEvent) =>
  event.type === 'stream.response' ? (event.contentType ?? '').split(';')[0]?.trim().toLowerCase() : undefined;

/**
 * Failures that may be retried: network trouble, timeouts, 408, 429 and 5xx, and 409: a
 * server answers a resume with 409 while it still holds the stream's previous connection
 * (e.g. one the proxy just aborted as stalled), which clears once it notices the close.
 */
export const RETRYABLE_STATUSES = [408, 409, 429, 500, 502, 503, 504];
/** The server refused before doing any work, so even the first POST may be sent again. */
export const NOT_PROCESSED_STATUSES = [429, 503];

export function finalStateOf(reason: ConnectionReason | undefined): ConnectionOutput['state'] {
  if (reason === 'session-not-found') return 'expired';
  if (reason === 'stopped' || reason === 'completed' || reason === 'accepted') return 'closed';
  return 'failed';
}

const compiled = new Map<string, RegExp>();
const patternOf = (source: string) => {
  let pattern = compiled.get(source);
  if (pattern === undefined) {
    pattern = new RegExp(source, 'i');
    compiled.set(source, pattern);
  }
  return pattern;
};

/**
 * "The server MAY terminate the session at any time, after which it MUST respond to requests
 * containing that session ID with HTTP 404 Not Found." Many servers answer 400 instead (the
 * SDK README's pattern: "Bad Request: No valid session ID provided"), or 404 with a body:
 * such an answer to a request that carried the upstream's session id means the same.
 */
export function saysSessionGone(context: ConnectionContext, event: ConnectionEvent): boolean {
  if (event.type !== 'stream.response') return false;
  if (event.status === 404) return true;
  const carriedSessionId = Object.keys(context.target.headers).some((name) => name.toLowerCase() === 'mcp-session-id');
  if (event.status !== 400 || !carriedSessionId) return false;
  const body = event.bodySnippet ?? '';
  return context.options.sessionGonePatterns.some((source) => patternOf(source).test(body));
}

/** Statuses on authorization grounds, passed on to the client as they came. */
export const AUTH_STATUSES = [401, 403];

export function answerOf(event: ConnectionEvent): UpstreamAnswer | undefined {
  if (event.type !== 'stream.response' || !AUTH_STATUSES.includes(event.status)) return undefined;
  return {
    status: event.status,
    contentType: event.contentType,
    body: event.bodySnippet ?? '',
    wwwAuthenticate: event.wwwAuthenticate,
  };
}

/** The output of a finished connection, when a done event carries one. */
export function isConnectionOutput(value: unknown): value is ConnectionOutput {
  const output = value as Partial<ConnectionOutput> | null | undefined;
  return (
    typeof output?.id === 'string' &&
    (output.state === 'closed' || output.state === 'failed' || output.state === 'expired')
  );
}

/** A human-readable account of the event that ended or paused the stream. */
export function describe(event: ConnectionEvent, cause?: WaitReason): string | undefined {
  const prefix = cause === undefined ? '' : `${cause}: `;
  switch (event.type) {
    case 'stream.response':
      return `${prefix}HTTP ${event.status}${event.contentType ? ` (${event.contentType})` : ''}${
        event.bodySnippet ? `: ${event.bodySnippet}` : ''
      }`;
    case 'stream.error':
      return `${prefix}${event.message}`;
    default:
      return cause;
  }
}

/** The state names used in reports, from a snapshot's nested value. */
export function connectionStateName(value: unknown): ConnectionStateName {
  if (typeof value === 'string') return value as ConnectionStateName;
  const streaming = (value as { streaming?: unknown }).streaming;
  if (streaming === 'connecting') return 'connecting';
  const open = (streaming as { open?: { health?: unknown } }).open;
  return open?.health === 'stalled' ? 'stalled' : 'open';
}

/** The events a delivery carries, in order; none when it is no delivery. */
export function deliveredEvents(event: { type: string }): readonly StreamEvent[] {
  if (event.type === 'connection.event') return [(event as ConnectionDelivery).event];
  if (event.type === 'connection.events') return (event as ConnectionRunDelivery).events;
  // An exchange's answer (machines/exchange.ts) carries its JSON body; a 202 carries none.
  if (event.type === 'exchange.answered') {
    const body = (event as ExchangeAnswered).event;
    return body === undefined ? [] : [body];
  }
  return [];
}

/** The result for request `requestId` that a delivery carries (alone, or in a run). */
export function resultIn(event: { type: string }, requestId: RequestId) {
  for (const one of deliveredEvents(event)) {
    const result = resultFor(one.message, requestId);
    if (result !== undefined) return result;
  }
  return undefined;
}
