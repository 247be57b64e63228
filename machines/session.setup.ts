/**
 * The session statechart's vocabulary: its children, timers, guards and actions. The states
 * that use them are in session.machine.ts (live) and session-teardown.ts (ending).
 *
 * Effects are children and the event log port: `connection` (one per stream; src/ provides
 * how it reaches the upstream), `upstreamHost` (a stdio server process), `reinitialize`,
 * `deleteUpstream` (the upstream DELETE), `replayLog` (a resume's read of the log, which is
 * given in the input) and `notify` (tell the supervisor).
 */
import { assign, emit, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { RequestId } from './connection.types.js';
import { formatEventId } from './event-id.js';
import type { EventLog, ReplayRefusal, ReplayResult } from './event-log.js';
import { responseIds, resultFor } from './jsonrpc.js';
import { processMachine } from './process.machine.js';
import { reinitializeMachine } from './reinitialize.machine.js';
import type {
  DeleteUpstreamInput,
  RefusalCode,
  SessionEmitted,
  SessionEvent,
  SessionInput,
  SessionLifecycle,
  SessionOutput,
} from './session.types.js';
import {
  carriesInitializeResult,
  END_IS_EXPIRY,
  freeResumeSlot,
  HOST_ID,
  hostStopTimeoutMs,
  hostSystemId,
  isReinitialized,
  isStatus,
  isTerminal,
  primingIdOf,
  REFUSAL_MESSAGES,
  replayOfResume,
  resumeChildId,
  resumeOf,
  type SessionContext,
  settle,
  spawnInput,
  streamEndOf,
} from './session-rules.js';
import {
  answer,
  attachClient,
  clientOf,
  closeStream,
  detachClient,
  entryOf,
  INITIALIZE_STREAM,
  isLive,
  liveCount,
  liveStreams,
  markJson,
  openStream,
  STANDALONE_STREAM,
  splitForResend,
  streamChildId,
  streamOf,
} from './stream-table.js';
import type { UpstreamSession } from './upstream-request.js';

export const sessionSetup = setup({
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
    reinitialize: reinitializeMachine,
    /** Ends the upstream session: DELETE with its Mcp-Session-Id. */
    deleteUpstream: fromPromise<void, DeleteUpstreamInput>(async () => {
      throw new Error('session: provide the deleteUpstream actor');
    }),
    /** Reads one stream's events after an id from the session's event log. */
    replayLog: fromPromise<ReplayResult, { log: EventLog; lastEventId: string; newestSeq: number }>(async ({ input }) =>
      input.log.replayAfter(input.lastEventId, input.newestSeq),
    ),
  },
  delays: {
    idleTimeout: ({ context }) => context.limits.idleTimeoutMs,
    maxLifetime: ({ context }) => context.limits.maxLifetimeMs,
    deleteTimeout: ({ context }) => context.limits.deleteTimeoutMs,
    hostStopTimeout: ({ context }) => hostStopTimeoutMs(context.config.upstream),
  },
  guards: {
    atStreamLimit: ({ context }) => liveCount(context.streams) >= context.limits.maxConnectionsPerSession,
    standaloneLive: ({ context }) => isLive(context.streams, STANDALONE_STREAM),
    standaloneAttached: ({ context }) => clientOf(context.streams, STANDALONE_STREAM) !== undefined,
    hasActivity: ({ context }) => liveCount(context.streams) > 0,
    isInitializeResult: ({ context, event }) => carriesInitializeResult(context, event),
    isInitializeStreamDone: ({ event }) => streamEndOf(event)?.stream === INITIALIZE_STREAM,
    // "The server MAY terminate the session at any time, after which it MUST respond to
    // requests containing that session ID with HTTP 404": only an upstream that gave a
    // session id can lose it. A stateless upstream's 404 is an ordinary failure.
    isStreamExpired: ({ context, event }) =>
      isStatus(event) && event.state === 'expired' && context.upstreamSessionId !== undefined,
    isStreamDoneExpired: ({ context, event }) =>
      streamEndOf(event)?.output.state === 'expired' && context.upstreamSessionId !== undefined,
    mayReinitialize: ({ context }) =>
      context.config.onUpstreamGone === 'reinitialize' &&
      context.reinitializations < context.limits.maxReinitializations,
    isHostDone: ({ event }) => event.type === `xstate.done.actor.${HOST_ID}`,
    hostAlive: ({ context }) => context.hostAlive,
    shouldDeleteUpstream: ({ context }) =>
      context.upstreamSessionId !== undefined && context.endReason !== 'upstream-gone',
    endIsExpiry: ({ context }) => context.endReason !== undefined && END_IS_EXPIRY[context.endReason],
    resumeSlotsFull: ({ context }) => freeResumeSlot(context.resuming, context.limits) === -1,
    isResumeFailure: ({ context, event }) => resumeOf(context, event) !== undefined,
    isResumeRefused: ({ context, event }) => replayOfResume(context, event)?.ok === false,
    isResumeOfAttachedStream: ({ context, event }) => {
      const replay = replayOfResume(context, event);
      return replay?.ok === true && clientOf(context.streams, replay.stream) !== undefined;
    },
    isResumeOfLiveStream: ({ context, event }) => {
      const replay = replayOfResume(context, event);
      return replay?.ok === true && isLive(context.streams, replay.stream);
    },
    isResumeOfClosedStandalone: ({ context, event }) => {
      const replay = replayOfResume(context, event);
      return replay?.ok === true && replay.stream === STANDALONE_STREAM && !isLive(context.streams, STANDALONE_STREAM);
    },
    isResumeAnswer: ({ context, event }) => replayOfResume(context, event)?.ok === true,
    reinitSucceeded: ({ event }) => 'output' in event && isReinitialized(event.output),
  },
  actions: {
    /** Tells the supervisor; provided in tests to record it. */
    notify: sendParent(
      (_, params: Omit<SessionLifecycle, 'type'>): SessionLifecycle => ({ type: 'session.lifecycle', ...params }),
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
    setEndReason: assign((_, params: { reason: SessionOutput['reason'] }) => ({ endReason: params.reason })),
    acceptInitializeResult: assign(({ context, event }) => {
      if (event.type !== 'connection.event') return {};
      const version = resultFor(event.event.message, context.config.initialize.requestId)?.protocolVersion;
      return { protocolVersion: typeof version === 'string' ? version : undefined };
    }),
    announceInitialized: emit(({ context }) => ({
      type: 'session.initialized' as const,
      sessionId: context.sessionId,
      protocolVersion: context.protocolVersion,
    })),
    /**
     * Numbers an upstream event with the session's own id, logs it and hands it on. An
     * upstream priming event (id, empty data) is the upstream's resume point, which the
     * connection keeps; the client gets the session's own priming from the proxy.
     */
    forward: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'connection.event') return;
      const { data, message } = event.event;
      const stream = streamOf(event.id);
      const entry = entryOf(context.streams, stream);
      if (entry === undefined || data === '') return;
      const seq = context.nextSeq;
      const eventId = formatEventId(context.config.eventTag, stream, seq);
      enqueue.assign({ nextSeq: seq + 1, streams: answer(context.streams, stream, responseIds(message)) });
      if (!entry.json) {
        const { eventLog } = context.config;
        const logged = { stream, seq, eventId, data };
        enqueue(() => settle(eventLog.append(logged)));
      }
      enqueue.emit({ type: 'session.event', sessionId: context.sessionId, stream, seq, eventId, data, message });
    }),
    /** Reports a stream's state; a finished stream's child is stopped and its entry dropped. */
    trackStream: enqueueActions(({ context, event, enqueue }) => {
      if (!isStatus(event)) return;
      const stream = streamOf(event.id);
      const entry = entryOf(context.streams, stream);
      if (stream === INITIALIZE_STREAM && event.sessionId !== undefined && context.upstreamSessionId === undefined) {
        enqueue.assign({ upstreamSessionId: event.sessionId });
      }
      if (entry === undefined) return;
      if (event.state === 'open' && event.bodyKind === 'json' && !entry.json) {
        enqueue.assign({ streams: markJson(context.streams, stream) });
      }
      enqueue.emit({
        type: 'session.stream.status',
        sessionId: context.sessionId,
        stream,
        state: event.state,
        status: event,
      });
      if (!isTerminal(event.state)) return;
      enqueue.assign({
        streams: closeStream(context.streams, stream),
        ...(stream === STANDALONE_STREAM ? { standaloneResumeId: event.lastEventId } : {}),
      });
      enqueue.stopChild(streamChildId(stream));
      enqueue.emit({
        type: 'session.stream.ended',
        sessionId: context.sessionId,
        stream,
        // A 404 from an upstream that never gave a session id is a failed request, not a lost session.
        state: event.state === 'expired' && context.upstreamSessionId === undefined ? 'failed' : event.state,
        reason: event.reason,
        status: event.status,
        detail: event.detail,
        unanswered: entry.pending,
      });
    }),
    /** A client request opens a stream: its entry, its connection child, and word to the client. */
    openStream: enqueueActions(
      (
        { context, enqueue },
        params: { kind: 'get' | 'post'; key: string; body?: string; pending: readonly RequestId[] },
      ) => {
        const { kind, key, body, pending } = params;
        const opened = openStream(context.streams, { kind, client: key, body, pending });
        enqueue.assign({ streams: opened.table });
        enqueue.spawnChild('connection', {
          id: streamChildId(opened.stream),
          input: spawnInput({ ...context, streams: opened.table }, opened.stream, params.kind, params.body),
        });
        enqueue.emit({
          type: 'session.stream.opened',
          sessionId: context.sessionId,
          key: params.key,
          stream: opened.stream,
          alreadyLive: false,
          primingId: primingIdOf(context, opened.stream),
          protocolVersion: context.protocolVersion,
        });
      },
    ),
    /** A client GET attaches to the standalone stream, which is already open upstream. */
    attachStandalone: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.listen') return;
      enqueue.assign({ streams: attachClient(context.streams, STANDALONE_STREAM, event.key) });
      enqueue.emit({
        type: 'session.stream.opened',
        sessionId: context.sessionId,
        key: event.key,
        stream: STANDALONE_STREAM,
        alreadyLive: true,
        primingId: primingIdOf(context, STANDALONE_STREAM),
        protocolVersion: context.protocolVersion,
      });
    }),
    rememberInitialized: assign(({ event }) =>
      event.type === 'session.request' && event.replayOnReinit ? { initializedBody: event.body } : {},
    ),
    /** The client's response is over: it no longer holds its stream, or the stream's events can go. */
    detach: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.client.detach') return;
      if (isLive(context.streams, event.stream)) {
        enqueue.assign({ streams: detachClient(context.streams, event.stream, event.key) });
      } else if (event.delivered) {
        const { eventLog } = context.config;
        enqueue(() => settle(eventLog.evictStream(event.stream)));
      }
    }),
    /** The upstream forgot the session: stop every stream (their entries stay, to be sent again). */
    beginReinitialize: enqueueActions(({ context, enqueue }) => {
      for (const stream of liveStreams(context.streams)) enqueue.stopChild(streamChildId(stream));
      enqueue.assign({
        upstreamSessionId: undefined,
        standaloneResumeId: undefined,
        reinitializations: context.reinitializations + 1,
      });
    }),
    /** The upstream has a new session: every stream still waiting is sent again under it. */
    resumeAfterReinitialize: enqueueActions(({ context, enqueue }, params: UpstreamSession) => {
      const next = {
        ...context,
        upstreamSessionId: params.upstreamSessionId,
        protocolVersion: params.protocolVersion ?? context.protocolVersion,
      };
      const { resend, ended } = splitForResend(context.streams);
      for (const stream of ended) {
        enqueue.emit({
          type: 'session.stream.ended',
          sessionId: context.sessionId,
          stream,
          state: 'closed',
          reason: 'upstream-reinitialized',
          unanswered: [],
        });
      }
      for (const stream of liveStreams(resend)) {
        const entry = entryOf(resend, stream);
        enqueue.spawnChild('connection', {
          id: streamChildId(stream),
          input: spawnInput({ ...next, streams: resend }, stream, entry?.kind ?? 'post', entry?.body),
        });
      }
      enqueue.assign({
        streams: resend,
        upstreamSessionId: next.upstreamSessionId,
        protocolVersion: next.protocolVersion,
      });
      enqueue.emit({ type: 'session.reinitialized', sessionId: context.sessionId, count: context.reinitializations });
    }),
    refuse: emit(({ context, event }, params: { code: Exclude<RefusalCode, ReplayRefusal> }) => ({
      type: 'session.refused' as const,
      sessionId: context.sessionId,
      key: 'key' in event ? event.key : '',
      code: params.code,
      message: REFUSAL_MESSAGES[params.code](context.limits),
    })),
    /** A GET with Last-Event-ID: a replay actor reads the log; its answer decides the rest. */
    startResume: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.resume') return;
      const slot = freeResumeSlot(context.resuming, context.limits);
      enqueue.assign({ resuming: [...context.resuming, { slot, key: event.key }] });
      enqueue.spawnChild('replayLog', {
        id: resumeChildId(slot),
        input: { log: context.config.eventLog, lastEventId: event.lastEventId, newestSeq: context.nextSeq - 1 },
      });
    }),
    /**
     * Answers a resume: refused (with why), or the replay with whether the stream goes on.
     * `attach`: the client now holds the live stream; `reopen`: the standalone stream is
     * opened upstream again, from where it left off.
     */
    answerResume: enqueueActions(
      (
        { context, event, enqueue },
        params: { outcome: 'refused' | 'conflict' | 'failed' | 'replayed' | 'attached' | 'reopened' },
      ) => {
        const resume = resumeOf(context, event);
        if (resume === undefined) return;
        enqueue.stopChild(resumeChildId(resume.slot));
        enqueue.assign({ resuming: context.resuming.filter((r) => r.slot !== resume.slot) });
        const { key, replay } = resume;
        const refuse = (code: RefusalCode, message: string) =>
          enqueue.emit({ type: 'session.refused', sessionId: context.sessionId, key, code, message });
        const messageOf = (code: Exclude<RefusalCode, ReplayRefusal>) => REFUSAL_MESSAGES[code](context.limits);
        if (params.outcome === 'failed' || replay === undefined)
          return refuse('log-unavailable', messageOf('log-unavailable'));
        if (!replay.ok) return refuse(replay.code, replay.message);
        if (params.outcome === 'conflict') return refuse('stream-attached', messageOf('stream-attached'));
        let streams = context.streams;
        if (params.outcome === 'attached') streams = attachClient(streams, replay.stream, key);
        if (params.outcome === 'reopened') {
          streams = openStream(streams, { kind: 'get', client: key }).table;
          enqueue.spawnChild('connection', {
            id: streamChildId(STANDALONE_STREAM),
            input: spawnInput({ ...context, streams }, STANDALONE_STREAM, 'get'),
          });
        }
        enqueue.assign({ streams });
        enqueue.emit({
          type: 'session.resumed',
          sessionId: context.sessionId,
          key,
          stream: replay.stream,
          events: replay.events,
          afterSeq: replay.afterSeq,
          throughSeq: replay.throughSeq,
          live: params.outcome !== 'replayed',
          primingId: formatEventId(context.config.eventTag, replay.stream, replay.throughSeq),
          protocolVersion: context.protocolVersion,
        });
      },
    ),
    /** Stops every stream child (aborting its upstream request) and tells the runtime. */
    closeAllStreams: enqueueActions(({ context, enqueue }) => {
      for (const stream of liveStreams(context.streams)) {
        enqueue.stopChild(streamChildId(stream));
        enqueue.emit({
          type: 'session.stream.ended',
          sessionId: context.sessionId,
          stream,
          state: 'stopped',
          reason: `session-${context.endReason}`,
          unanswered: entryOf(context.streams, stream)?.pending ?? [],
        });
      }
      enqueue.assign({ streams: { ...context.streams, entries: {} } });
    }),
    /** The session is over: its clients are told, and its event log is freed. */
    announceEnd: enqueueActions(({ context, enqueue }, params: { state: 'terminated' | 'expired' }) => {
      const reason = context.endReason ?? 'shutdown';
      enqueue.emit({ type: 'session.ended', sessionId: context.sessionId, state: params.state, reason });
      const { eventLog } = context.config;
      enqueue(() => settle(eventLog.free()));
    }),
  },
});
