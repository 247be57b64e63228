/**
 * One SSE stream from an MCP server, kept alive through drops, graceful closes (SEP-1699
 * polling), rate limits and stalls, delivering each event once, in order.
 *
 * Pure statechart: the HTTP request is the `openStream` actor, time is the actor system's
 * clock, jitter comes from `input.random`; src/ provides them with `.provide()`.
 * Diagram and failure table: docs/connection.md.
 */
import { type ActorRefFrom, and, assign, enqueueActions, fromCallback, sendParent, setup } from 'xstate';
import type {
  CloseReason,
  ConnectionDelivery,
  ConnectionEvent,
  ConnectionInput,
  ConnectionOutput,
  ConnectionReason,
  ConnectionRunDelivery,
  ConnectionStateName,
  FailReason,
  ReaderInbound,
  StreamRequest,
  WaitReason,
} from './connection.types.js';
import {
  answerOf,
  type BatchEffect,
  type ConnectionContext,
  describe,
  finalStateOf,
  hasStatus,
  initialContext,
  mediaType,
  NOT_PROCESSED_STATUSES,
  RETRYABLE_STATUSES,
  readBatch,
  remainingAfter,
  requestFor,
  saysSessionGone,
  sendsBody,
  statusOf,
} from './connection-rules.js';
import { onStreamEvent, onStreamEvents, recovered, retryOrFail } from './connection-transitions.js';
import { chooseReconnectDelay, MAX_TIMER_MS } from './delay-policy.js';

export {
  type ConnectionContext,
  connectionStateName,
  DEFAULT_CONNECTION_OPTIONS,
  requestFor,
  resolveConnectionOptions,
} from './connection-rules.js';

/**
 * A batch's guard and its two actions read it against the same context: read it once. Keyed
 * by the event, valid for the context it was read against.
 */
const batchReads = new WeakMap<object, { context: ConnectionContext; effect: BatchEffect }>();
function batchOf(context: ConnectionContext, event: ConnectionEvent): BatchEffect | undefined {
  if (event.type !== 'stream.events') return undefined;
  const cached = batchReads.get(event);
  if (cached?.context === context) return cached.effect;
  const effect = readBatch(context, event.events);
  batchReads.set(event, { context, effect });
  return effect;
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
    openStream: fromCallback<ReaderInbound, StreamRequest>(() => {
      throw new Error('connection: provide the openStream actor');
    }),
  },
  delays: {
    // The first attempt of a handed-over request has waited already (machines/exchange.ts).
    connectTimeout: ({ context }) =>
      context.attempt === 0 && context.opens === 0
        ? Math.max(0, context.options.connectTimeoutMs - context.target.waitedMs)
        : context.options.connectTimeoutMs,
    heartbeat: ({ context }) => context.options.heartbeatTimeoutMs || MAX_TIMER_MS,
    stallGrace: ({ context }) => context.options.stallGraceMs,
    healthyAfter: ({ context }) => context.options.healthyAfterMs,
    reconnectDelay: ({ context }) => context.delay?.ms ?? 0,
    resumeSilence: ({ context }) => context.options.resumeSilenceMs || MAX_TIMER_MS,
  },
  guards: {
    isAccepted: ({ context, event }) =>
      context.target.method === 'POST' && context.opens === 0 && hasStatus(event, 202),
    isStreamBody: ({ context, event }) => {
      if (event.type !== 'stream.response' || event.status < 200 || event.status > 299) return false;
      const type = mediaType(event);
      if (type === 'text/event-stream') return true;
      // A POST may be answered with a single JSON body instead of a stream.
      return type === 'application/json' && context.target.method === 'POST' && context.opens === 0;
    },
    is2xx: ({ event }) => event.type === 'stream.response' && event.status >= 200 && event.status <= 299,
    isSessionGone: ({ context, event }) => saysSessionGone(context, event),
    isRetryableStatus: ({ event }) => hasStatus(event, ...RETRYABLE_STATUSES),
    /** A GET can always be sent again (a resume too); a POST body only before the server did any work. */
    mayRetry: ({ context, event }) => {
      if (context.target.method === 'GET') return true;
      if (sendsBody(context)) return hasStatus(event, ...NOT_PROCESSED_STATUSES);
      return context.lastEventId !== undefined;
    },
    attemptsExhausted: ({ context }, params: { counts: boolean }) =>
      params.counts && context.attempt + 1 > context.options.backoff.maxAttempts,
    heartbeatEnabled: ({ context }) => context.options.heartbeatTimeoutMs > 0,
    wasActive: ({ context }) => context.active,
    isPriming: ({ event }) => event.type === 'stream.event' && event.data === '',
    isRepeat: ({ context, event }) =>
      event.type === 'stream.event' && event.id !== undefined && context.recentIds.includes(event.id),
    /** A POST stream resumed with GET, still waiting for its responses: its silence is watched. */
    watchesResume: ({ context }) =>
      context.options.resumeSilenceMs > 0 &&
      context.opens > 1 &&
      context.target.method === 'POST' &&
      (context.awaiting?.length ?? 0) > 0,
    /** Nothing arrived since the watch last looked. */
    silentSinceCheckpoint: ({ context }) => context.lastEventId === context.resumeWatch.fromId,
    silentResumesLeft: ({ context }) => context.resumeWatch.silent < context.options.maxSilentResumes,
    batchCompletesStream: ({ context, event }) => batchOf(context, event)?.completes === true,
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
    /** Sends the events of a batch the parent should get: one as a ConnectionDelivery, more as a run. */
    deliverBatch: enqueueActions(({ context, event, enqueue }) => {
      const events = batchOf(context, event)?.deliver ?? [];
      const [first] = events;
      if (first === undefined) return;
      enqueue.sendParent(
        events.length === 1
          ? ({ type: 'connection.event', id: context.id, event: first } satisfies ConnectionDelivery)
          : ({ type: 'connection.events', id: context.id, events } satisfies ConnectionRunDelivery),
      );
    }),
    recordBatch: assign(({ context, event }) => {
      const batch = batchOf(context, event);
      if (batch === undefined) return {};
      const { awaiting, lastEventId, recentIds } = batch;
      return { awaiting, lastEventId, recentIds, active: true };
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
    countSilentResume: assign(({ context }) => ({
      resumeWatch: { ...context.resumeWatch, silent: context.resumeWatch.silent + 1 },
    })),
    markResumeCheckpoint: assign(({ context }) => ({
      resumeWatch: { ...context.resumeWatch, fromId: context.lastEventId },
    })),
    resetSilentResumes: assign(({ context }) => ({ resumeWatch: { ...context.resumeWatch, silent: 0 } })),
    rememberRetryHint: assign(({ event }) =>
      event.type === 'stream.retry' && Number.isFinite(event.ms) && event.ms >= 0 ? { retryHintMs: event.ms } : {},
    ),
    setOutcome: assign(
      (
        { event },
        params: { reason: FailReason | CloseReason | 'session-not-found'; cause?: WaitReason; detail?: string },
      ) => ({
        reason: params.reason as ConnectionReason,
        status: event.type === 'stream.response' ? event.status : undefined,
        detail: params.detail ?? describe(event, params.cause),
        answer: answerOf(event),
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
        delay: { ms: delayMs, source },
        reason: params.reason as ConnectionReason,
        status: event.type === 'stream.response' ? event.status : undefined,
        detail: describe(event),
      };
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => initialContext(input),
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
          type: 'parallel',
          states: {
            health: {
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
                    'stream.events': onStreamEvents(false),
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
                    'stream.events': onStreamEvents(true),
                  },
                },
              },
            },
            // An upstream whose event store loses a stream's later events answers a resume and
            // then sends nothing more for the request: each period of silence resumes again,
            // and after maxSilentResumes in a row the request gets a clear error.
            resume: {
              // Decided once per open (what it reads does not change while the stream is open):
              // an eventless transition left in place would be looked at on every event.
              initial: 'choosing',
              states: {
                choosing: { always: [{ guard: 'watchesResume', target: 'watching' }, { target: 'idle' }] },
                idle: {},
                watching: {
                  entry: 'markResumeCheckpoint',
                  after: {
                    resumeSilence: [
                      {
                        guard: and(['silentSinceCheckpoint', 'silentResumesLeft']),
                        target: '#connection.waiting',
                        actions: [
                          'countSilentResume',
                          { type: 'planReconnect', params: { reason: 'resume-silent', counts: false } },
                        ],
                      },
                      {
                        guard: 'silentSinceCheckpoint',
                        target: '#connection.failed',
                        actions: {
                          type: 'setOutcome',
                          params: {
                            reason: 'resume-lost',
                            detail:
                              'the upstream answered each resume of this stream but sent nothing more for its request (its event store may not replay it); send the request again',
                          },
                        },
                      },
                      // It spoke: the silent count starts over, and the next period is watched.
                      { target: 'watching', reenter: true, actions: 'resetSilentResumes' },
                    ],
                  },
                },
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
    id: context.id,
    state: finalStateOf(context.reason),
    reason: context.reason,
    status: context.status,
    detail: context.detail,
    answer: context.answer,
    lastEventId: context.lastEventId,
  }),
});

export type ConnectionActorRef = ActorRefFrom<typeof connectionMachine>;
