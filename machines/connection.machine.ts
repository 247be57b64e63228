/**
 * One SSE stream from an MCP server, kept alive through drops, graceful closes (SEP-1699
 * polling), rate limits and stalls, delivering each event once, in order.
 *
 * Pure statechart: the HTTP request is the `openStream` actor, time is the actor system's
 * clock, jitter comes from `input.random`; src/ provides them with `.provide()`.
 * Diagram and failure table: docs/connection.md.
 */
import { type ActorRefFrom, and, assign, fromCallback, not, sendParent, setup } from 'xstate';
import type {
  CloseReason,
  ConnectionDelivery,
  ConnectionEvent,
  ConnectionInput,
  ConnectionOptions,
  ConnectionOutput,
  ConnectionReason,
  ConnectionStateName,
  ConnectionStatus,
  FailReason,
  RequestId,
  StreamEvent,
  StreamRequest,
  WaitReason,
} from './connection.types.js';
import type { DelaySource } from './delay-policy.js';
import { chooseReconnectDelay, DEFAULT_BACKOFF, MAX_TIMER_MS } from './delay-policy.js';
import { responseIds } from './jsonrpc.js';

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  backoff: DEFAULT_BACKOFF,
  connectTimeoutMs: 30_000,
  heartbeatTimeoutMs: 45_000,
  stallGraceMs: 15_000,
  healthyAfterMs: 30_000,
  dedupeWindow: 128,
};

/** What the stream asks the upstream for; fixed for the connection's life. */
export interface ConnectionTarget {
  url: string;
  method: 'GET' | 'POST';
  headers: Readonly<Record<string, string>>;
  body: string | undefined;
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
  delayMs: number | undefined;
  delaySource: DelaySource | undefined;
  reason: ConnectionReason | undefined;
  status: number | undefined;
  detail: string | undefined;
  /** `Mcp-Session-Id` from the last successful response. */
  sessionId: string | undefined;
  /** What the last successful response carried. */
  bodyKind: 'json' | 'sse' | undefined;
}

export function resolveConnectionOptions(input: ConnectionInput['options']): ConnectionOptions {
  return {
    ...DEFAULT_CONNECTION_OPTIONS,
    ...input,
    backoff: { ...DEFAULT_BACKOFF, ...input?.backoff },
  };
}

/**
 * The request for the current attempt. The first attempt of a POST stream sends the body;
 * every later attempt is a resume: "the client MAY ... issue an HTTP GET to the MCP
 * endpoint with the Last-Event-ID header" (2025-06-18+ transports, Resumability).
 */
export function requestFor(context: ConnectionContext): StreamRequest {
  const { target } = context;
  const isPost = target.method === 'POST' && context.opens === 0;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
  // "The client MUST include an Accept header, listing both application/json and
  // text/event-stream" (POST); a GET lists text/event-stream.
  headers.accept = isPost ? 'application/json, text/event-stream' : 'text/event-stream';
  if (!isPost) delete headers['content-type'];
  if (context.lastEventId !== undefined) headers['last-event-id'] = context.lastEventId;
  const request: StreamRequest = { url: target.url, method: isPost ? 'POST' : 'GET', headers };
  if (isPost && target.body !== undefined) request.body = target.body;
  return request;
}

function statusOf(context: ConnectionContext, state: ConnectionStateName): ConnectionStatus {
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
    delayMs: state === 'waiting' ? context.delayMs : undefined,
    delaySource: state === 'waiting' ? context.delaySource : undefined,
  };
}

function remainingAfter(awaiting: readonly RequestId[] | undefined, event: StreamEvent) {
  if (awaiting === undefined) return undefined;
  const answered = responseIds(event.message);
  return answered.length === 0 ? awaiting : awaiting.filter((id) => !answered.includes(id));
}

const isStatus = (event: ConnectionEvent, ...statuses: number[]) =>
  event.type === 'stream.response' && statuses.includes(event.status);
const mediaType = (event: ConnectionEvent) =>
  event.type === 'stream.response' ? (event.contentType ?? '').split(';')[0]?.trim().toLowerCase() : undefined;

/**
 * Failures that may be retried: network trouble, timeouts, 408, 429 and 5xx, and 409: a
 * server answers a resume with 409 while it still holds the stream's previous connection
 * (e.g. one the proxy just aborted as stalled), which clears once it notices the close.
 */
const RETRYABLE_STATUSES = [408, 409, 429, 500, 502, 503, 504];
/** The server refused before doing any work, so even the first POST may be sent again. */
const NOT_PROCESSED_STATUSES = [429, 503];

/** Transitions shared by every place a stream can break: retry if allowed, else fail. */
function retryOrFail(reason: WaitReason, counts = true) {
  return [
    {
      guard: not('mayRetry'),
      target: '#connection.failed',
      actions: { type: 'setOutcome' as const, params: { reason: 'not-resumable' as const, cause: reason } },
    },
    // Only a failure that counts can exhaust the attempts.
    ...(counts
      ? [
          {
            guard: { type: 'attemptsExhausted' as const, params: { counts } },
            target: '#connection.failed',
            actions: { type: 'setOutcome' as const, params: { reason: 'attempts-exhausted' as const, cause: reason } },
          },
        ]
      : []),
    {
      target: '#connection.waiting',
      actions: { type: 'planReconnect' as const, params: { reason, counts } },
    },
  ];
}

/** Coming back from `stalled`, the parent hears that the stream is healthy again. */
const recovered = ['markRecovered' as const, { type: 'report' as const, params: { state: 'open' as const } }];

/**
 * How an SSE event is handled in both health sub-states. Every event is activity: it marks
 * the stream active, which the heartbeat reads when it fires (see `receiving`); from
 * `stalled` it goes back to `receiving`. Restarting the heartbeat timer on each event instead
 * cost a timer and a state exit and entry per event.
 */
function onStreamEvent(fromStall: boolean) {
  const recovery = fromStall ? recovered : [];
  const target = fromStall ? { target: '#connection.streaming.open.receiving' } : {};
  return [
    { guard: 'isRepeat' as const, ...target, actions: ['markActive' as const, ...recovery] },
    {
      guard: 'completesStream' as const,
      target: '#connection.closed',
      actions: [
        'recordEvent' as const,
        'deliver' as const,
        { type: 'setOutcome' as const, params: { reason: 'completed' as const } },
      ],
    },
    { ...target, actions: ['recordEvent' as const, 'deliver' as const, ...recovery] },
  ];
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    output: {} as ConnectionOutput,
  },
  actors: {
    /** Makes the request and sends ReaderEvents back; aborts it when stopped. */
    openStream: fromCallback<ConnectionEvent, StreamRequest>(() => {
      throw new Error('connection: provide the openStream actor');
    }),
  },
  delays: {
    connectTimeout: ({ context }) => context.options.connectTimeoutMs,
    heartbeat: ({ context }) => context.options.heartbeatTimeoutMs || MAX_TIMER_MS,
    stallGrace: ({ context }) => context.options.stallGraceMs,
    healthyAfter: ({ context }) => context.options.healthyAfterMs,
    reconnectDelay: ({ context }) => context.delayMs ?? 0,
  },
  guards: {
    isAccepted: ({ context, event }) => context.target.method === 'POST' && context.opens === 0 && isStatus(event, 202),
    isStreamBody: ({ context, event }) => {
      if (event.type !== 'stream.response' || event.status < 200 || event.status > 299) return false;
      const type = mediaType(event);
      if (type === 'text/event-stream') return true;
      // A POST may be answered with a single JSON body instead of a stream.
      return type === 'application/json' && context.target.method === 'POST' && context.opens === 0;
    },
    is2xx: ({ event }) => event.type === 'stream.response' && event.status >= 200 && event.status <= 299,
    // "The server MAY terminate the session at any time, after which it MUST respond to
    // requests containing that session ID with HTTP 404 Not Found."
    isSessionGone: ({ event }) => isStatus(event, 404),
    isRetryableStatus: ({ event }) => isStatus(event, ...RETRYABLE_STATUSES),
    /** A GET can always be sent again; a POST only before the server did any work. */
    mayRetry: ({ context, event }) => {
      if (context.target.method === 'GET') return true;
      if (context.opens === 0) return isStatus(event, ...NOT_PROCESSED_STATUSES);
      return context.lastEventId !== undefined;
    },
    attemptsExhausted: ({ context }, params: { counts: boolean }) =>
      params.counts && context.attempt + 1 > context.options.backoff.maxAttempts,
    heartbeatEnabled: ({ context }) => context.options.heartbeatTimeoutMs > 0,
    wasActive: ({ context }) => context.active,
    isRepeat: ({ context, event }) =>
      event.type === 'stream.event' && event.id !== undefined && context.recentIds.includes(event.id),
    completesStream: ({ context, event }) => {
      if (event.type !== 'stream.event') return false;
      const remaining = remainingAfter(context.awaiting, event);
      return remaining !== undefined && remaining.length === 0;
    },
  },
  actions: {
    /** Sends a ConnectionStatus to the parent; provided in tests to record them. */
    report: sendParent(({ context }, params: { state: ConnectionStateName }) => statusOf(context, params.state)),
    /** Sends a ConnectionDelivery to the parent; provided in tests to record them. */
    deliver: sendParent(({ context, event }): ConnectionDelivery => {
      const { type: _type, ...streamEvent } = event as Extract<ConnectionEvent, { type: 'stream.event' }>;
      return { type: 'connection.event', id: context.id, event: streamEvent };
    }),
    recordEvent: assign(({ context, event }) => {
      if (event.type !== 'stream.event') return {};
      const awaiting = remainingAfter(context.awaiting, event);
      if (event.id === undefined) return { awaiting, active: true };
      const recentIds = [...context.recentIds.slice(-(context.options.dedupeWindow - 1)), event.id];
      return { awaiting, lastEventId: event.id, recentIds, active: true };
    }),
    markOpened: assign(({ context, event }) => ({
      opens: context.opens + 1,
      sessionId: (event.type === 'stream.response' ? event.sessionId : undefined) ?? context.sessionId,
      bodyKind: mediaType(event) === 'application/json' ? ('json' as const) : ('sse' as const),
      reason: (context.opens === 0 ? 'opened' : 'resumed') as ConnectionReason,
      status: undefined,
      detail: undefined,
    })),
    markRecovered: assign({ reason: 'recovered' as ConnectionReason }),
    markActive: assign({ active: true }),
    /** The heartbeat timer starts over: only what arrives from now on counts. */
    clearActive: assign({ active: false }),
    resetAttempts: assign({ attempt: 0 }),
    rememberRetryHint: assign(({ event }) =>
      event.type === 'stream.retry' && Number.isFinite(event.ms) && event.ms >= 0 ? { retryHintMs: event.ms } : {},
    ),
    setOutcome: assign(
      ({ event }, params: { reason: FailReason | CloseReason | 'session-not-found'; cause?: WaitReason }) => ({
        reason: params.reason as ConnectionReason,
        status: event.type === 'stream.response' ? event.status : undefined,
        detail: describe(event, params.cause),
      }),
    ),
    planReconnect: assign(({ context, event }, params: { reason: WaitReason; counts: boolean }) => {
      const attempt = params.counts ? context.attempt + 1 : context.attempt;
      const { delayMs, source } = chooseReconnectDelay(
        {
          attempt: Math.max(1, attempt),
          retryAfterMs: event.type === 'stream.response' ? event.retryAfterMs : undefined,
          retryHintMs: context.retryHintMs,
        },
        context.options.backoff,
        context.random,
      );
      return {
        attempt,
        delayMs,
        delaySource: source,
        reason: params.reason as ConnectionReason,
        status: event.type === 'stream.response' ? event.status : undefined,
        detail: describe(event),
      };
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    id: input.id,
    target: { url: input.url, method: input.method ?? 'GET', headers: input.headers ?? {}, body: input.body },
    options: resolveConnectionOptions(input.options),
    random: input.random ?? Math.random,
    awaiting: input.method === 'POST' ? (input.awaitResponses ?? []) : undefined,
    attempt: 0,
    opens: 0,
    lastEventId: input.lastEventId,
    recentIds: input.lastEventId === undefined ? [] : [input.lastEventId],
    active: false,
    retryHintMs: undefined,
    delayMs: undefined,
    delaySource: undefined,
    reason: undefined,
    status: undefined,
    detail: undefined,
    sessionId: undefined,
    bodyKind: undefined,
  }),
  initial: 'streaming',
  on: {
    'connection.stop': {
      target: '.closed',
      actions: { type: 'setOutcome', params: { reason: 'stopped' } },
    },
  },
  states: {
    streaming: {
      invoke: { id: 'reader', src: 'openStream', input: ({ context }) => requestFor(context) },
      on: { 'stream.retry': { actions: 'rememberRetryHint' } },
      initial: 'connecting',
      states: {
        connecting: {
          entry: { type: 'report', params: { state: 'connecting' } },
          after: { connectTimeout: retryOrFail('connect-timeout') },
          on: {
            'stream.response': [
              {
                guard: 'isAccepted',
                target: '#connection.closed',
                actions: { type: 'setOutcome', params: { reason: 'accepted' } },
              },
              { guard: 'isStreamBody', target: 'open', actions: 'markOpened' },
              {
                guard: 'isSessionGone',
                target: '#connection.expired',
                actions: { type: 'setOutcome', params: { reason: 'session-not-found' } },
              },
              {
                guard: and(['isRetryableStatus', 'mayRetry', { type: 'attemptsExhausted', params: { counts: true } }]),
                target: '#connection.failed',
                actions: { type: 'setOutcome', params: { reason: 'attempts-exhausted', cause: 'http-status' } },
              },
              {
                guard: and(['isRetryableStatus', 'mayRetry']),
                target: '#connection.waiting',
                actions: { type: 'planReconnect', params: { reason: 'http-status', counts: true } },
              },
              {
                guard: 'is2xx',
                target: '#connection.failed',
                actions: { type: 'setOutcome', params: { reason: 'content-type' } },
              },
              {
                target: '#connection.failed',
                actions: { type: 'setOutcome', params: { reason: 'http-status' } },
              },
            ],
            'stream.error': retryOrFail('network-error'),
          },
        },
        open: {
          entry: { type: 'report', params: { state: 'open' } },
          after: { healthyAfter: { actions: 'resetAttempts' } },
          on: {
            // A graceful close is not an error (SEP-1699): resume after the retry hint,
            // without counting it as a failed attempt.
            'stream.end': retryOrFail('server-closed', false),
            'stream.error': retryOrFail('dropped'),
          },
          initial: 'receiving',
          states: {
            // The heartbeat fires every heartbeatTimeoutMs; a stream that carried nothing
            // since the last one is stalled. So a stall is declared between one and two
            // heartbeat periods after the last byte: never earlier than the timeout.
            receiving: {
              entry: 'clearActive',
              after: {
                heartbeat: [
                  { guard: and(['heartbeatEnabled', 'wasActive']), target: 'receiving', reenter: true },
                  { guard: 'heartbeatEnabled', target: 'stalled' },
                ],
              },
              on: {
                'stream.bytes': { actions: 'markActive' },
                'stream.event': onStreamEvent(false),
              },
            },
            stalled: {
              entry: { type: 'report', params: { state: 'stalled' } },
              // A stream with no resume point (a POST before its first event id) is left
              // alone: aborting it would lose the response it is still working on.
              after: {
                stallGrace: [
                  {
                    guard: and(['mayRetry', { type: 'attemptsExhausted', params: { counts: true } }]),
                    target: '#connection.failed',
                    actions: { type: 'setOutcome', params: { reason: 'attempts-exhausted', cause: 'stalled' } },
                  },
                  {
                    guard: 'mayRetry',
                    target: '#connection.waiting',
                    actions: { type: 'planReconnect', params: { reason: 'stalled', counts: true } },
                  },
                ],
              },
              on: {
                'stream.bytes': { target: 'receiving', actions: recovered },
                'stream.event': onStreamEvent(true),
              },
            },
          },
        },
      },
    },
    waiting: {
      entry: { type: 'report', params: { state: 'waiting' } },
      after: { reconnectDelay: { target: 'streaming' } },
    },
    closed: {
      type: 'final',
      entry: { type: 'report', params: { state: 'closed' } },
    },
    failed: {
      type: 'final',
      entry: { type: 'report', params: { state: 'failed' } },
    },
    expired: {
      type: 'final',
      entry: { type: 'report', params: { state: 'expired' } },
    },
  },
  output: ({ context }) => ({
    state: finalStateOf(context.reason),
    reason: context.reason,
    status: context.status,
    detail: context.detail,
    lastEventId: context.lastEventId,
  }),
});

function finalStateOf(reason: ConnectionReason | undefined): ConnectionOutput['state'] {
  if (reason === 'session-not-found') return 'expired';
  if (reason === 'stopped' || reason === 'completed' || reason === 'accepted') return 'closed';
  return 'failed';
}

function describe(event: ConnectionEvent, cause?: WaitReason): string | undefined {
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

export type ConnectionActorRef = ActorRefFrom<typeof connectionMachine>;

/** The state names used in reports, from a snapshot's nested value. */
export function connectionStateName(value: unknown): ConnectionStateName {
  if (typeof value === 'string') return value as ConnectionStateName;
  const streaming = (value as { streaming?: unknown }).streaming;
  if (streaming === 'connecting') return 'connecting';
  const open = (streaming as { open?: unknown }).open;
  return open === 'stalled' ? 'stalled' : 'open';
}
