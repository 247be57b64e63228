/**
 * One MCP session, as the client sees it: owns one connection child per upstream stream,
 * numbers every event it forwards with its own ids, and ends on DELETE, shutdown, idle
 * time, lifetime or when the upstream session is gone.
 *
 * Pure statechart. Provided by src/: `connection` (how a stream reaches the upstream),
 * `deleteUpstream` (the upstream DELETE), `record` (append to the event log) and
 * `notify` (tell the supervisor). Diagram and limits: docs/session.md.
 */
import {
  type ActorRefFrom,
  and,
  assign,
  emit,
  enqueueActions,
  fromPromise,
  not,
  sendParent,
  sendTo,
  setup,
} from 'xstate';
import { freeSlot, slotId } from './child-slot.js';
import { connectionMachine } from './connection.machine.js';
import type {
  ConnectionDelivery,
  ConnectionInput,
  ConnectionOutput,
  ConnectionStatus,
  RequestId,
} from './connection.types.js';
import { formatEventId } from './event-id.js';
import { responseIds, resultFor } from './jsonrpc.js';
import { DEFAULT_PROCESS_OPTIONS, processMachine } from './process.machine.js';
import type {
  DeleteUpstreamInput,
  RefusalCode,
  SessionEmitted,
  SessionEndReason,
  SessionEvent,
  SessionInput,
  SessionLifecycle,
  SessionLimits,
  SessionOutput,
  UpstreamGonePolicy,
  UpstreamTarget,
} from './session.types.js';

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxConnectionsPerSession: 10,
  idleTimeoutMs: 5 * 60_000,
  maxLifetimeMs: 30 * 60_000,
  deleteTimeoutMs: 5_000,
  maxReinitializations: 3,
};

/** The standalone server-to-client stream (client GET, upstream GET). */
export const STANDALONE_STREAM = 0;
/** The initialize request's response stream. */
export const INITIALIZE_STREAM = 1;

export interface StreamEntry {
  kind: 'get' | 'post';
  /** The runtime's handle for the client request that opened it. */
  key: string;
  /** JSON-RPC requests on this stream still waiting for their response. */
  pending: readonly RequestId[];
  /** The POST body, to send again after the upstream is re-initialized. */
  body?: string | undefined;
}

/** What the session was started with; fixed for its life. */
export interface SessionConfig {
  eventTag: string;
  initialize: SessionInput['initialize'];
  upstream: UpstreamTarget;
  connectionOptions: SessionInput['connection'];
  onUpstreamGone: UpstreamGonePolicy;
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
  /** Live streams by number; each has a connection child (streamChildId). */
  streams: Readonly<Record<number, StreamEntry>>;
  nextStream: number;
  /** Session-wide event counter: ids stay unique and increasing across streams and reconnects. */
  nextSeq: number;
  /** Client SSE responses attached right now. */
  clientStreams: number;
  /** Where the upstream GET stream left off, to resume it when the client listens again. */
  standaloneResumeId: string | undefined;
  endReason: SessionEndReason | undefined;
  /** The client's notifications/initialized, replayed after a re-initialization. */
  initializedBody: string | undefined;
  /** Upstream streams the client never sees (re-initialize, replayed notification). */
  hiddenStreams: readonly number[];
  /** The hidden stream carrying the replayed initialize, while re-initializing. */
  reinitStream: number | undefined;
  reinitializations: number;
  /** A `host` child (a stdio server process) is running. */
  hostAlive: boolean;
}

/**
 * Stream children are named from this many slots, not by stream number, so that xstate's
 * per-event-type memo stays bounded however many requests a session serves (child-slot.ts).
 * Slot 0 belongs to the standalone stream.
 */
const STREAM_SLOTS = 1024;
export const streamChildId = (stream: number) => slotId('stream', stream, STREAM_SLOTS);
/** The connection's own id, which its events carry: the stream number itself. */
const streamRef = (stream: number) => `stream-${stream}`;
const streamOf = (ref: string) => Number(ref.slice('stream-'.length));

/** The next stream number from `from` on whose child slot is free. */
function allocateStream(context: Pick<SessionContext, 'streams' | 'hiddenStreams'>, from: number): number {
  const live = new Set(
    [STANDALONE_STREAM, ...Object.keys(context.streams).map(Number), ...context.hiddenStreams].map(streamChildId),
  );
  return freeSlot('stream', from, STREAM_SLOTS, (id) => live.has(id)).index;
}

/** Headers on every upstream request after initialize (2025-06-18+ transports). */
export function upstreamHeaders(context: SessionContext, method: 'GET' | 'POST'): Record<string, string> {
  const headers: Record<string, string> = { ...context.config.upstream.headers };
  if (method === 'POST') headers['content-type'] = 'application/json';
  // "the client MUST include it in the Mcp-Session-Id header on all of its subsequent
  // HTTP requests"; "the client MUST include the MCP-Protocol-Version: <protocol-version>
  // HTTP header on all subsequent requests to the MCP server".
  if (context.upstreamSessionId !== undefined) headers['mcp-session-id'] = context.upstreamSessionId;
  if (context.protocolVersion !== undefined) headers['mcp-protocol-version'] = context.protocolVersion;
  return headers;
}

/** The input of the connection child for one upstream stream. */
function streamInput(
  context: SessionContext,
  stream: number,
  kind: 'get' | 'post',
  body: string | undefined,
  pending: readonly RequestId[],
  lastEventId: string | undefined,
): ConnectionInput {
  const method = kind === 'get' ? 'GET' : 'POST';
  return {
    id: streamRef(stream),
    session: context.sessionId,
    url: context.config.upstream.url,
    method,
    headers: upstreamHeaders(context, method),
    ...(body !== undefined ? { body, awaitResponses: pending } : {}),
    ...(kind === 'get' && lastEventId !== undefined ? { lastEventId } : {}),
    ...(context.config.connectionOptions ? { options: context.config.connectionOptions } : {}),
  };
}

const REFUSAL_MESSAGES: Record<RefusalCode, (limits: SessionLimits) => string> = {
  'too-many-streams': (limits) =>
    `This session already has ${limits.maxConnectionsPerSession} open streams (maxConnectionsPerSession); wait for one to finish, or raise the limit.`,
  'not-initialized': () => 'The session is still initializing; send requests after the initialize response.',
  reinitializing: () => 'The upstream server lost this session and it is being re-initialized; retry in a moment.',
};

/**
 * "The server MAY terminate the session at any time, after which it MUST respond to requests
 * containing that session ID with HTTP 404": only an upstream that gave a session id (or is
 * being given a new one) can lose it. A stateless upstream's 404 is an ordinary failure.
 */
const hasUpstreamSession = (context: SessionContext) =>
  context.upstreamSessionId !== undefined || context.reinitStream !== undefined;

export const HOST_ID = 'host';
/** How a session's stream actors find its host in the actor system. */
export const hostSystemId = (sessionId: string) => `host:${sessionId}`;

/** Once every stream is closed: DELETE upstream if it has a session, then end. */
const afterStreamsClosed = [
  { guard: 'shouldDeleteUpstream' as const, target: 'deletingUpstream' },
  { guard: 'endIsExpiry' as const, target: 'expired' },
  { target: 'terminated' },
];

const END_IS_EXPIRY: Record<SessionEndReason, boolean> = {
  deleted: false,
  shutdown: false,
  'initialize-failed': false,
  idle: true,
  lifetime: true,
  'upstream-gone': true,
};

/**
 * The named actions that other actions enqueue. setup() cannot type a reference from one of
 * its own actions to another, so this keeps the call sites checked against their params.
 */
type NamedAction =
  | { type: 'record'; params: { stream: number; seq: number; eventId: string; data: string } }
  | { type: 'notify'; params: Omit<SessionLifecycle, 'type'> };
const named = (action: NamedAction) => action as never;

/** The event is the answer to the client's initialize, arriving on the given stream. */
function carriesInitializeResult(context: SessionContext, event: SessionEvent, stream: number | undefined): boolean {
  return (
    event.type === 'connection.event' &&
    streamOf(event.id) === stream &&
    resultFor(event.event.message, context.config.initialize.requestId) !== undefined
  );
}

/** While the upstream is not (yet, or again) initialized, client requests are refused with `code`. */
const refuseClientRequests = (code: RefusalCode) => ({
  'session.request': { actions: { type: 'refuse' as const, params: { code } } },
  'session.listen': { actions: { type: 'refuse' as const, params: { code } } },
});

const isStatus = (event: SessionEvent): event is ConnectionStatus => event.type === 'connection.status';
const isTerminal = (state: ConnectionStatus['state']) =>
  state === 'closed' || state === 'failed' || state === 'expired';

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    output: {} as SessionOutput,
    emitted: {} as SessionEmitted,
  },
  actors: {
    connection: connectionMachine,
    /** The upstream's own actor, when it needs one: a stdio server process. */
    upstreamHost: processMachine,
    /** Ends the upstream session: DELETE with its Mcp-Session-Id. */
    deleteUpstream: fromPromise<void, DeleteUpstreamInput>(async () => {
      throw new Error('session: provide the deleteUpstream actor');
    }),
  },
  delays: {
    idleTimeout: ({ context }) => context.limits.idleTimeoutMs,
    maxLifetime: ({ context }) => context.limits.maxLifetimeMs,
    deleteTimeout: ({ context }) => context.limits.deleteTimeoutMs,
    /** The process's own grace and kill delays, plus a second. */
    hostStopTimeout: ({ context }) => {
      const options = { ...DEFAULT_PROCESS_OPTIONS, ...context.config.upstream.processOptions };
      return options.graceMs + options.killAfterMs + 1000;
    },
  },
  guards: {
    atStreamLimit: ({ context }) => Object.keys(context.streams).length >= context.limits.maxConnectionsPerSession,
    standaloneOpen: ({ context }) => STANDALONE_STREAM in context.streams,
    hasActivity: ({ context }) => context.clientStreams > 0 || Object.keys(context.streams).length > 0,
    isInitializeResult: ({ context, event }) => carriesInitializeResult(context, event, INITIALIZE_STREAM),
    isInitializeStreamDone: ({ event }) => event.type === `xstate.done.actor.${streamChildId(INITIALIZE_STREAM)}`,
    isDoneExpired: ({ context, event }) =>
      event.type.startsWith('xstate.done.actor.stream-') &&
      (event as { output?: ConnectionOutput }).output?.state === 'expired' &&
      hasUpstreamSession(context),
    isHostDone: ({ event }) => event.type === `xstate.done.actor.${HOST_ID}`,
    hostAlive: ({ context }) => context.hostAlive,
    isHiddenStream: ({ context, event }) => isStatus(event) && context.hiddenStreams.includes(streamOf(event.id)),
    isStreamExpired: ({ context, event }) =>
      isStatus(event) && event.state === 'expired' && hasUpstreamSession(context),
    mayReinitialize: ({ context }) =>
      context.config.onUpstreamGone === 'reinitialize' &&
      context.reinitializations < context.limits.maxReinitializations,
    isReinitResult: ({ context, event }) => carriesInitializeResult(context, event, context.reinitStream),
    isReinitStreamDone: ({ context, event }) =>
      context.reinitStream !== undefined && event.type === `xstate.done.actor.${streamChildId(context.reinitStream)}`,
    shouldDeleteUpstream: ({ context }) =>
      context.upstreamSessionId !== undefined && context.endReason !== 'upstream-gone',
    endIsExpiry: ({ context }) => context.endReason !== undefined && END_IS_EXPIRY[context.endReason],
  },
  actions: {
    /** Appends a forwarded event to the session's event log; provided by src/store. */
    record: (_, _params: { stream: number; seq: number; eventId: string; data: string }) => {},
    /** Tells the supervisor; provided in tests to record it. */
    notify: sendParent(
      (_, params: Omit<SessionLifecycle, 'type'>): SessionLifecycle => ({
        type: 'session.lifecycle',
        ...params,
      }),
    ),
    /** Starts the upstream's host actor when it has one (a stdio process). */
    startHost: enqueueActions(({ context, enqueue }) => {
      const { process, processOptions } = context.config.upstream;
      if (process === undefined) return;
      enqueue.spawnChild('upstreamHost', {
        id: HOST_ID,
        systemId: hostSystemId(context.sessionId),
        input: { sessionId: context.sessionId, process, ...(processOptions ? { options: processOptions } : {}) },
      });
      enqueue.assign({ hostAlive: true });
    }),
    markHostGone: assign({ hostAlive: false }),
    setEndReason: assign((_, params: { reason: SessionEndReason }) => ({ endReason: params.reason })),
    acceptInitializeResult: assign(({ context, event }) => {
      if (event.type !== 'connection.event') return {};
      const result = resultFor(event.event.message, context.config.initialize.requestId);
      const version = result?.protocolVersion;
      return { protocolVersion: typeof version === 'string' ? version : undefined };
    }),
    /** Numbers an upstream event with the session's own id, logs it and hands it on. */
    forward: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'connection.event') return;
      const { data, message } = (event as ConnectionDelivery).event;
      const stream = streamOf(event.id);
      const entry = context.streams[stream];
      // An upstream priming event (id, empty data) is the upstream's resume point, which the
      // connection keeps; the client gets the session's own priming from the proxy.
      if (entry === undefined || data === '') return;
      const eventId = formatEventId(context.config.eventTag, stream, context.nextSeq);
      const answered = responseIds(message);
      enqueue.assign({
        nextSeq: context.nextSeq + 1,
        streams: answered.length
          ? {
              ...context.streams,
              [stream]: { ...entry, pending: entry.pending.filter((id) => !answered.includes(id)) },
            }
          : context.streams,
      });
      enqueue(named({ type: 'record', params: { stream, seq: context.nextSeq, eventId, data } }));
      enqueue.emit({ type: 'session.event', sessionId: context.sessionId, stream, eventId, data, message });
    }),
    /** Tracks a stream's state; a finished stream's child is stopped and its entry dropped. */
    trackStream: enqueueActions(({ context, event, enqueue }) => {
      if (!isStatus(event)) return;
      const stream = streamOf(event.id);
      const entry = context.streams[stream];
      const isInitializer = stream === INITIALIZE_STREAM || stream === context.reinitStream;
      if (isInitializer && event.sessionId !== undefined && context.upstreamSessionId === undefined) {
        enqueue.assign({ upstreamSessionId: event.sessionId });
      }
      if (entry === undefined) {
        // A hidden stream: nobody is told, but its finished child is stopped all the same.
        if (isTerminal(event.state) && context.hiddenStreams.includes(stream)) {
          enqueue.stopChild(streamChildId(stream));
          enqueue.assign({ hiddenStreams: context.hiddenStreams.filter((n) => n !== stream) });
        }
        return;
      }
      enqueue.emit({
        type: 'session.stream.status',
        sessionId: context.sessionId,
        stream,
        state: event.state,
        status: event,
      });
      if (!isTerminal(event.state)) return;
      const { [stream]: _ended, ...rest } = context.streams;
      enqueue.assign({
        streams: rest,
        ...(stream === STANDALONE_STREAM ? { standaloneResumeId: event.lastEventId } : {}),
      });
      enqueue.stopChild(streamChildId(stream));
      enqueue.emit({
        type: 'session.stream.ended',
        sessionId: context.sessionId,
        stream,
        // A 404 from an upstream that never gave a session id is a failed request, not a lost session.
        state: event.state === 'expired' && !hasUpstreamSession(context) ? 'failed' : event.state,
        reason: event.reason,
        status: event.status,
        detail: event.detail,
        unanswered: entry.pending,
      });
    }),
    openStream: enqueueActions(
      (
        { context, enqueue },
        params: { kind: 'get' | 'post'; key: string; body?: string; pending: readonly RequestId[]; stream?: number },
      ) => {
        const stream = params.stream ?? allocateStream(context, context.nextStream);
        enqueue.assign({
          streams: {
            ...context.streams,
            [stream]: { kind: params.kind, key: params.key, pending: params.pending, body: params.body },
          },
          nextStream: params.stream === undefined ? stream + 1 : context.nextStream,
        });
        enqueue.spawnChild('connection', {
          id: streamChildId(stream),
          input: streamInput(context, stream, params.kind, params.body, params.pending, context.standaloneResumeId),
        });
        // Streams are the session's own business (its emitted events say so): the supervisor
        // hears only of session milestones, two events fewer per request.
        enqueue.emit({ type: 'session.stream.opened', sessionId: context.sessionId, key: params.key, stream });
      },
    ),
    rememberInitialized: assign(({ event }) =>
      event.type === 'session.request' && event.replayOnReinit ? { initializedBody: event.body } : {},
    ),
    /**
     * The upstream forgot the session: stop every stream (their entries stay, to be sent
     * again), forget the upstream ids, and replay the client's initialize on a hidden stream.
     */
    beginReinitialize: enqueueActions(({ context, enqueue }) => {
      for (const key of Object.keys(context.streams)) enqueue.stopChild(streamChildId(Number(key)));
      for (const stream of context.hiddenStreams) enqueue.stopChild(streamChildId(stream));
      const stream = allocateStream(context, context.nextStream);
      const fresh = { ...context, upstreamSessionId: undefined, protocolVersion: context.protocolVersion };
      enqueue.assign({
        upstreamSessionId: undefined,
        standaloneResumeId: undefined,
        reinitStream: stream,
        hiddenStreams: [stream],
        nextStream: stream + 1,
        reinitializations: context.reinitializations + 1,
      });
      enqueue.spawnChild('connection', {
        id: streamChildId(stream),
        input: streamInput(
          fresh,
          stream,
          'post',
          context.config.initialize.body,
          [context.config.initialize.requestId],
          undefined,
        ),
      });
    }),
    /** The upstream has a new session: replay notifications/initialized, re-send every stream. */
    resumeAfterReinitialize: enqueueActions(({ context, enqueue }) => {
      const reinit = context.reinitStream as number;
      enqueue.stopChild(streamChildId(reinit));
      let nextStream = context.nextStream;
      const hiddenStreams: number[] = [];
      if (context.initializedBody !== undefined) {
        const stream = allocateStream(context, nextStream);
        nextStream = stream + 1;
        hiddenStreams.push(stream);
        enqueue.spawnChild('connection', {
          id: streamChildId(stream),
          input: streamInput(context, stream, 'post', context.initializedBody, [], undefined),
        });
      }
      const streams: Record<number, StreamEntry> = {};
      for (const [key, entry] of Object.entries(context.streams)) {
        const stream = Number(key);
        if (entry.kind === 'post' && (entry.pending.length === 0 || entry.body === undefined)) {
          enqueue.emit({
            type: 'session.stream.ended',
            sessionId: context.sessionId,
            stream,
            state: 'closed',
            reason: 'upstream-reinitialized',
            unanswered: [],
          });
          continue;
        }
        streams[stream] = entry;
        enqueue.spawnChild('connection', {
          id: streamChildId(stream),
          input: streamInput(context, stream, entry.kind, entry.body, entry.pending, undefined),
        });
      }
      enqueue.assign({ streams, nextStream, hiddenStreams, reinitStream: undefined });
      enqueue.emit({ type: 'session.reinitialized', sessionId: context.sessionId, count: context.reinitializations });
      enqueue(named({ type: 'notify', params: { sessionId: context.sessionId, event: 'reinitialized' } }));
    }),
    refuse: emit(({ context, event }, params: { code: RefusalCode }) => ({
      type: 'session.refused' as const,
      sessionId: context.sessionId,
      key: 'key' in event ? event.key : '',
      code: params.code,
      message: REFUSAL_MESSAGES[params.code](context.limits),
    })),
    /** Stops every stream child (aborting its upstream request) and tells the runtime. */
    closeAllStreams: enqueueActions(({ context, enqueue }) => {
      for (const [key, entry] of Object.entries(context.streams)) {
        const stream = Number(key);
        enqueue.stopChild(streamChildId(stream));
        enqueue.emit({
          type: 'session.stream.ended',
          sessionId: context.sessionId,
          stream,
          state: 'stopped',
          reason: `session-${context.endReason}`,
          unanswered: entry.pending,
        });
      }
      for (const stream of context.hiddenStreams) enqueue.stopChild(streamChildId(stream));
      enqueue.assign({ streams: {}, hiddenStreams: [] });
    }),
    announceEnd: enqueueActions(({ context, enqueue }, params: { state: 'terminated' | 'expired' }) => {
      const reason = context.endReason ?? 'shutdown';
      enqueue.emit({ type: 'session.ended', sessionId: context.sessionId, state: params.state, reason });
      enqueue(named({ type: 'notify', params: { sessionId: context.sessionId, event: params.state, reason } }));
    }),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    config: {
      eventTag: input.eventTag,
      initialize: input.initialize,
      upstream: input.upstream,
      connectionOptions: input.connection,
      onUpstreamGone: input.onUpstreamGone ?? 'reinitialize',
    },
    limits: { ...DEFAULT_SESSION_LIMITS, ...input.limits },
    upstreamSessionId: undefined,
    protocolVersion: undefined,
    streams: {},
    nextStream: INITIALIZE_STREAM,
    nextSeq: 1,
    clientStreams: 0,
    standaloneResumeId: undefined,
    endReason: undefined,
    initializedBody: undefined,
    hiddenStreams: [],
    reinitStream: undefined,
    reinitializations: 0,
    hostAlive: false,
  }),
  initial: 'live',
  states: {
    live: {
      entry: 'startHost',
      after: {
        maxLifetime: { target: 'terminating', actions: { type: 'setEndReason', params: { reason: 'lifetime' } } },
      },
      on: {
        'session.delete': { target: 'terminating', actions: { type: 'setEndReason', params: { reason: 'deleted' } } },
        'session.shutdown': {
          target: 'terminating',
          actions: { type: 'setEndReason', params: { reason: 'shutdown' } },
        },
        'session.client.attach': { actions: assign({ clientStreams: ({ context }) => context.clientStreams + 1 }) },
        'session.client.detach': {
          actions: assign({ clientStreams: ({ context }) => Math.max(0, context.clientStreams - 1) }),
        },
        'connection.event': { actions: 'forward' },
        'connection.status': [
          // A stream that will be sent again after a re-initialization is not ended.
          { guard: and(['isStreamExpired', 'mayReinitialize']) },
          { actions: 'trackStream' },
        ],
        // A child's done event is the last thing it sends, so the session acts on it (not on
        // the status before it) when the child's end ends the session: nothing arrives after.
        'xstate.done.actor.*': [
          // The stdio process gave up (crashed too often): the client must start again.
          {
            guard: 'isHostDone',
            target: 'terminating',
            actions: ['markHostGone', { type: 'setEndReason', params: { reason: 'upstream-gone' } }],
          },
          // "When a client receives HTTP 404 in response to a request containing an
          // Mcp-Session-Id, it MUST start a new session": the upstream session is gone.
          // The proxy is that client; by policy it starts one itself, or ends this session.
          { guard: and(['isDoneExpired', 'mayReinitialize']), target: '.reinitializing', actions: 'beginReinitialize' },
          {
            guard: 'isDoneExpired',
            target: 'terminating',
            actions: { type: 'setEndReason', params: { reason: 'upstream-gone' } },
          },
        ],
      },
      initial: 'initializing',
      states: {
        initializing: {
          entry: enqueueActions(({ context, enqueue }) =>
            enqueue({
              type: 'openStream',
              params: {
                kind: 'post',
                key: context.config.initialize.key,
                body: context.config.initialize.body,
                pending: [context.config.initialize.requestId],
              },
            }),
          ),
          on: {
            ...refuseClientRequests('not-initialized'),
            'connection.event': {
              guard: 'isInitializeResult',
              target: 'active',
              actions: ['acceptInitializeResult', 'forward'],
            },
            // The initialize stream ended without a result (an error, a refusal, a drop).
            'connection.status': { actions: 'trackStream' },
            'xstate.done.actor.*': {
              guard: 'isInitializeStreamDone',
              target: '#session.terminating',
              actions: { type: 'setEndReason', params: { reason: 'initialize-failed' } },
            },
          },
        },
        active: {
          entry: [
            emit(({ context }) => ({
              type: 'session.initialized' as const,
              sessionId: context.sessionId,
              protocolVersion: context.protocolVersion,
            })),
            {
              type: 'notify',
              params: ({ context }) => ({ sessionId: context.sessionId, event: 'initialized' as const }),
            },
          ],
          on: {
            'session.request': [
              { guard: 'atStreamLimit', actions: { type: 'refuse', params: { code: 'too-many-streams' } } },
              {
                actions: [
                  'rememberInitialized',
                  {
                    type: 'openStream',
                    params: ({ event }) => {
                      const request = event as Extract<SessionEvent, { type: 'session.request' }>;
                      return {
                        kind: 'post' as const,
                        key: request.key,
                        body: request.body,
                        pending: request.requestIds,
                      };
                    },
                  },
                ],
              },
            ],
            'session.listen': [
              {
                guard: 'standaloneOpen',
                actions: emit(({ context, event }) => ({
                  type: 'session.stream.opened' as const,
                  sessionId: context.sessionId,
                  key: (event as { key: string }).key,
                  stream: STANDALONE_STREAM,
                })),
              },
              { guard: 'atStreamLimit', actions: { type: 'refuse', params: { code: 'too-many-streams' } } },
              {
                actions: {
                  type: 'openStream',
                  params: ({ event }) => ({
                    kind: 'get' as const,
                    key: (event as { key: string }).key,
                    pending: [],
                    stream: STANDALONE_STREAM,
                  }),
                },
              },
            ],
          },
          initial: 'idle',
          states: {
            idle: {
              always: { guard: 'hasActivity', target: 'busy' },
              after: {
                idleTimeout: {
                  target: '#session.terminating',
                  actions: { type: 'setEndReason', params: { reason: 'idle' } },
                },
              },
            },
            busy: {
              always: { guard: not('hasActivity'), target: 'idle' },
            },
          },
        },
        reinitializing: {
          on: {
            ...refuseClientRequests('reinitializing'),
            'connection.event': {
              guard: 'isReinitResult',
              target: 'active',
              actions: ['acceptInitializeResult', 'resumeAfterReinitialize'],
            },
            // Streams stopped for the re-initialization may still have reports in flight.
            'connection.status': [{ guard: 'isHiddenStream', actions: 'trackStream' }, {}],
            'xstate.done.actor.*': [
              {
                guard: 'isReinitStreamDone',
                target: '#session.terminating',
                actions: { type: 'setEndReason', params: { reason: 'upstream-gone' } },
              },
              // Only stopped streams' leftovers remain; the host's end is the live state's business.
              { guard: not('isHostDone') },
            ],
          },
        },
      },
    },
    terminating: {
      entry: 'closeAllStreams',
      always: [{ guard: 'hostAlive', target: 'stoppingHost' }, ...afterStreamsClosed],
    },
    // A stdio process is stopped gently (stdin closed, SIGTERM, SIGKILL) before the session ends.
    stoppingHost: {
      entry: sendTo(HOST_ID, { type: 'host.shutdown' }),
      on: { 'xstate.done.actor.*': { guard: 'isHostDone', target: 'terminating', actions: 'markHostGone' } },
      after: { hostStopTimeout: { target: 'terminating', actions: 'markHostGone' } },
    },
    deletingUpstream: {
      invoke: {
        id: 'deleteUpstream',
        src: 'deleteUpstream',
        input: ({ context }) => ({ upstream: context.config.upstream, headers: upstreamHeaders(context, 'GET') }),
        onDone: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
        // A failed DELETE changes nothing for the client: the session is over either way.
        onError: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
      },
      after: {
        deleteTimeout: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
      },
    },
    terminated: {
      type: 'final',
      entry: { type: 'announceEnd', params: { state: 'terminated' } },
    },
    expired: {
      type: 'final',
      entry: { type: 'announceEnd', params: { state: 'expired' } },
    },
  },
  output: ({ context }) => ({
    state: context.endReason !== undefined && END_IS_EXPIRY[context.endReason] ? 'expired' : 'terminated',
    reason: context.endReason ?? 'shutdown',
  }),
});

export type SessionActorRef = ActorRefFrom<typeof sessionMachine>;
