/**
 * The session statechart's vocabulary: its children, timers, guards and actions. The states
 * that use them are in session.machine.ts (live) and session-teardown.ts (ending).
 *
 * Effects are children and the event log port: `connection` (one per stream; src/ provides
 * how it reaches the upstream), `upstreamHost` (a stdio server process), `reinitialize`,
 * `deleteUpstream` (the upstream DELETE), `replayLog` (a resume's read of the log, which is
 * given in the input) and `notify` (tell the supervisor).
 */
import { assign, type EventObject, emit, enqueueActions, fromCallback, fromPromise, sendParent, setup } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type { ConnectionStatus, RequestId } from './connection.types.js';
import { deliveredEvents, firstRequest } from './connection-rules.js';
import { formatEventId } from './event-id.js';
import type { EventLog, LogPosition, ReplayRefusal, ReplayResult } from './event-log.js';
import { type ExchangeInput, exchangeConnecting } from './exchange.js';
import { errorResponse, responseIds, upstreamOutputProblem } from './jsonrpc.js';
import { processMachine } from './process.machine.js';
import { reinitializeMachine } from './reinitialize.machine.js';
import type {
  DeleteUpstreamInput,
  Forwarded,
  RefusalCode,
  SessionCommand,
  SessionEmitted,
  SessionEvent,
  SessionInput,
  SessionLifecycle,
  SessionOutput,
} from './session.types.js';
import { freeResumeSlot, resumeChildId, resumedEvent, resumeOf, resumeOutcome } from './session-resume.js';
import {
  acceptCredential,
  carriesInitializeResult,
  END_IS_EXPIRY,
  HOST_ID,
  hostStopTimeoutMs,
  hostSystemId,
  initializeResultIn,
  isReinitialized,
  isStatus,
  isTerminal,
  primingIdOf,
  REFUSAL_MESSAGES,
  rememberUpstreamId,
  type SessionContext,
  settle,
  spawnInput,
  standaloneAfterEnd,
  streamEnded,
  streamEndOf,
} from './session-rules.js';
import {
  answer,
  attachClient,
  clientOf,
  closeStream,
  detachClient,
  entryOf,
  hasClientActivity,
  INITIALIZE_STREAM,
  isLive,
  liveCount,
  liveStreams,
  markInvalid,
  markJson,
  openStream,
  restoreStream,
  STANDALONE_STREAM,
  splitForResend,
  streamChildId,
  streamOf,
} from './stream-table.js';
import type { UpstreamSession } from './upstream-request.js';

/** What a request gets when the process that held its stream failed before the upstream's first event id. */
export const UNRESUMABLE_MESSAGE =
  'The proxy replica that held this request failed before the upstream stream could be resumed; its outcome is unknown.';

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
    /** A one-shot POST: answered in one event, or handed over to a connection (machines/exchange.ts). */
    exchange: fromCallback<EventObject, ExchangeInput>(() => {
      throw new Error('session: provide the exchange actor');
    }),
    /** The upstream's own actor, when it needs one: a stdio server process. */
    upstreamHost: processMachine,
    reinitialize: reinitializeMachine,
    /** Ends the upstream session: DELETE with its Mcp-Session-Id. */
    deleteUpstream: fromPromise<void, DeleteUpstreamInput>(async () => {
      throw new Error('session: provide the deleteUpstream actor');
    }),
    /** Reads one stream's events after an id from the session's event log. */
    replayLog: fromPromise<ReplayResult, { log: EventLog; lastEventId: string; position: LogPosition }>(
      async ({ input }) => input.log.replayAfter(input.lastEventId, input.position),
    ),
  },
  delays: {
    idleTimeout: ({ context }) => context.limits.idleTimeoutMs,
    maxLifetime: ({ context }) => context.limits.maxLifetimeMs,
    deleteTimeout: ({ context }) => context.limits.deleteTimeoutMs,
    hostStopTimeout: ({ context }) => hostStopTimeoutMs(context.config.upstream),
    standaloneWait: ({ context }) => context.limits.standaloneWaitMs,
  },
  guards: {
    atStreamLimit: ({ context }) => liveCount(context.streams) >= context.limits.maxConnectionsPerSession,
    standaloneLive: ({ context }) => isLive(context.streams, STANDALONE_STREAM),
    standaloneAttached: ({ context }) => clientOf(context.streams, STANDALONE_STREAM) !== undefined,
    standaloneUnavailable: ({ context }) => context.standalone.unavailable,
    deferredFull: ({ context }) => context.deferred.length >= context.limits.maxConnectionsPerSession,
    /** The standalone stream said how it went (open, retrying, or not there): requests may go. */
    isStandaloneSettled: ({ event }) =>
      isStatus(event) && streamOf(event.id) === STANDALONE_STREAM && event.state !== 'connecting',
    /** Idle is what the client does (stream-table.ts), never the proxy's own upstream streams. */
    hasActivity: ({ context }) => hasClientActivity(context.streams),
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
    // Upstream-gone: nothing is left to delete; handoff: another process goes on with it.
    shouldDeleteUpstream: ({ context }) =>
      context.upstreamSessionId !== undefined &&
      context.endReason !== 'upstream-gone' &&
      context.endReason !== 'handoff',
    isRestored: ({ context }) => context.config.restore !== undefined,
    endIsExpiry: ({ context }) => context.endReason !== undefined && END_IS_EXPIRY[context.endReason],
    resumeSlotsFull: ({ context }) => freeResumeSlot(context.resuming, context.limits) === -1,
    resumeIs: ({ context, event }, params: { outcome: ReturnType<typeof resumeOutcome> }) =>
      resumeOutcome(context, event) === params.outcome,
    isResumeAnswer: ({ context, event }) => resumeOf(context, event) !== undefined,
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
    /** A client's DELETE goes upstream with that client's credential. */
    takeDeleteCredential: assign(({ context, event }) =>
      event.type === 'session.delete' && event.forward?.credential !== undefined
        ? { credentials: { ...context.credentials, latest: event.forward.credential } }
        : {},
    ),
    setEndReason: assign((_, params: { reason: SessionOutput['reason'] }) => ({ endReason: params.reason })),
    acceptInitializeResult: assign(({ context, event }) => {
      const version = initializeResultIn(context, event)?.protocolVersion;
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
      if (event.type !== 'connection.event' && event.type !== 'connection.events' && event.type !== 'exchange.answered')
        return;
      const stream = streamOf(event.id);
      // A run of events (one chunk upstream) is forwarded in one step: the context as each
      // event leaves it, assigned once at the end.
      let { streams, upstreamIds, nextSeq, standalone } = context;
      const { eventLog, eventTag } = context.config;
      for (const { id, data, message } of deliveredEvents(event)) {
        const entry = entryOf(streams, stream);
        if (entry === undefined || data === '') continue;
        // Only JSON-RPC reaches the client; anything else is dropped and reported.
        const problem = upstreamOutputProblem(data, message);
        if (problem !== undefined) {
          streams = markInvalid(streams, stream, problem);
          enqueue.emit({ type: 'session.upstream.invalid', sessionId: context.sessionId, stream, problem });
          continue;
        }
        const remembered = rememberUpstreamId(upstreamIds, id);
        if (remembered === undefined) continue;
        upstreamIds = remembered;
        const seq = nextSeq++;
        const eventId = formatEventId(eventTag, stream, seq);
        streams = answer(streams, stream, responseIds(message));
        // A standalone event while no client holds the stream waits in the log for the next one.
        if (stream === STANDALONE_STREAM && entry.client !== undefined) standalone = { ...standalone, delivered: seq };
        if (!entry.json) {
          const logged = { stream, seq, eventId, data };
          enqueue(() => settle(eventLog.append(logged)));
        }
        enqueue.emit({ type: 'session.event', sessionId: context.sessionId, stream, seq, eventId, data, message });
      }
      if (
        streams !== context.streams ||
        upstreamIds !== context.upstreamIds ||
        nextSeq !== context.nextSeq ||
        standalone !== context.standalone
      ) {
        enqueue.assign({ streams, upstreamIds, nextSeq, standalone });
      }
    }),
    /** Reports a stream's state; a finished stream's child is stopped and its entry dropped. */
    trackStream: enqueueActions(
      ({ context, event: received, enqueue }, params?: { status?: ConnectionStatus | undefined }) => {
        // An exchange's answer stands for the statuses its connection would have sent (exchange.ts).
        const event = params === undefined ? received : params.status;
        if (event === undefined || !isStatus(event)) return;
        const stream = streamOf(event.id);
        const entry = entryOf(context.streams, stream);
        if (stream === INITIALIZE_STREAM && event.sessionId !== undefined && context.upstreamSessionId === undefined) {
          enqueue.assign({ upstreamSessionId: event.sessionId });
        }
        if (entry === undefined) return;
        if (event.state === 'open' && event.bodyKind === 'json' && !entry.json) {
          enqueue.assign({ streams: markJson(context.streams, stream) });
        }
        // How the upstream answers a client's POST decides how the next one goes (exchange.ts).
        if (event.state === 'open' && entry.kind === 'post' && stream !== INITIALIZE_STREAM) {
          const answersInOne = event.bodyKind === 'json';
          if (answersInOne !== context.answersInOne) enqueue.assign({ answersInOne });
        }
        // The upstream took the request: its credential is the one the proxy's own requests carry.
        if (event.state === 'open' || event.reason === 'accepted') {
          enqueue.assign({ credentials: acceptCredential(context.credentials, entry.forward) });
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
          ...(stream === STANDALONE_STREAM ? { standalone: standaloneAfterEnd(context, event) } : {}),
        });
        enqueue.stopChild(streamChildId(stream));
        const { reason, status, answer: refusal } = event;
        const detail =
          entry.invalid !== undefined && entry.pending.length > 0
            ? `the upstream sent output that is not JSON-RPC (${entry.invalid})${event.detail ? `; ${event.detail}` : ''}`
            : event.detail;
        // A 404 from an upstream that never gave a session id is a failed request, not a lost session.
        const state = event.state === 'expired' && context.upstreamSessionId === undefined ? 'failed' : event.state;
        enqueue.emit(
          streamEnded(context, stream, { state, reason, status, detail, answer: refusal, unanswered: entry.pending }),
        );
      },
    ),
    /** A client request opens a stream: its entry, its connection child, and word to the client. */
    openStream: enqueueActions(
      (
        { context, enqueue },
        params: {
          kind: 'get' | 'post';
          key: string;
          body?: string;
          pending: readonly RequestId[];
          forward?: Forwarded | undefined;
          /** Through an exchange, when the upstream allows one (exchange.ts). */
          exchange?: boolean;
        },
      ) => {
        const { kind, key, body, pending, forward } = params;
        const opened = openStream(context.streams, { kind, client: key, body, pending, forward });
        enqueue.assign({ streams: opened.table });
        const id = streamChildId(opened.stream);
        const input = spawnInput({ ...context, streams: opened.table }, opened.stream, params.kind, params.body);
        // A POST to an HTTP upstream goes as an exchange; a stdio server's reader is the process's.
        const exchange =
          params.exchange === true && context.config.upstream.process === undefined && context.answersInOne;
        if (exchange) {
          enqueue.spawnChild('exchange', { id, input: { request: firstRequest(input), awaiting: pending } });
        } else enqueue.spawnChild('connection', { id, input });
        enqueue.emit({
          type: 'session.stream.opened',
          sessionId: context.sessionId,
          key: params.key,
          stream: opened.stream,
          primingId: primingIdOf(context, opened.stream),
          protocolVersion: context.protocolVersion,
        });
        // What its connection would have reported as it started.
        if (exchange) {
          const status = exchangeConnecting(input.id);
          const { sessionId } = context;
          enqueue.emit({
            type: 'session.stream.status',
            sessionId,
            stream: opened.stream,
            state: status.state,
            status,
          });
        }
      },
    ),
    /** The exchange handed its request over: the stream's connection adopts it (exchange.ts). */
    handOver: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'exchange.handover') return;
      const stream = streamOf(event.id);
      const entry = entryOf(context.streams, stream);
      if (entry === undefined) return;
      // The child's id is the stream's slot (stream-table.ts), not the stream's own number.
      enqueue.stopChild(streamChildId(stream));
      enqueue.spawnChild('connection', {
        id: streamChildId(stream),
        input: { ...spawnInput(context, stream, 'post', entry.body), waitedMs: event.waitedMs },
      });
    }),
    /** The proxy opens the upstream GET stream itself, as soon as the session is initialized. */
    openOwnStandalone: enqueueActions(({ context, enqueue }) => {
      const opened = openStream(context.streams, { kind: 'get', client: undefined });
      enqueue.assign({ streams: opened.table });
      enqueue.spawnChild('connection', {
        id: streamChildId(STANDALONE_STREAM),
        input: spawnInput({ ...context, streams: opened.table }, STANDALONE_STREAM, 'get'),
      });
    }),
    /**
     * Goes on with a session another process held: each stream that was open resumes
     * upstream from the upstream's id of the last event it carried. A POST stream with no such
     * id cannot be resumed (its request is never sent twice: tools are not idempotent), so
     * each of its requests gets an error in the log, where its client's resume finds it.
     */
    restoreStreams: enqueueActions(({ context, enqueue }) => {
      const restore = context.config.restore;
      if (restore === undefined) return;
      let { streams, nextSeq } = context;
      const spawned: Array<{ stream: number; kind: 'get' | 'post'; resumeId: string | undefined }> = [];
      for (const restored of restore.streams) {
        const { stream, kind, pending, resumeId } = restored;
        if (kind === 'get' || (resumeId !== undefined && pending.length > 0)) {
          streams = restoreStream(streams, stream, { kind, pending });
          spawned.push({ stream, kind, resumeId });
          continue;
        }
        for (const id of pending) {
          const seq = nextSeq++;
          const data = JSON.stringify(errorResponse(id, -32603, UNRESUMABLE_MESSAGE));
          const logged = { stream, seq, eventId: formatEventId(context.config.eventTag, stream, seq), data };
          const { eventLog } = context.config;
          enqueue(() => settle(eventLog.append(logged)));
        }
      }
      const next = { ...context, streams, nextSeq };
      enqueue.assign({ streams, nextSeq });
      for (const { stream, kind, resumeId } of spawned) {
        enqueue.spawnChild('connection', {
          id: streamChildId(stream),
          input: spawnInput(next, stream, kind, undefined, resumeId),
        });
      }
    }),
    /** Holds a client command until the upstream GET stream has opened. */
    defer: assign(({ context, event }) => ({ deferred: [...context.deferred, event as SessionCommand] })),
    /** Handles the held commands, in order, now that requests may go. */
    releaseDeferred: enqueueActions(({ context, enqueue }) => {
      for (const command of context.deferred) enqueue.raise(command);
      enqueue.assign({ deferred: [] });
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
        standalone: { ...context.standalone, resumeId: undefined },
        // Event ids are unique within one upstream session: the new one may count from 1 again.
        upstreamIds: [],
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
        enqueue.emit(
          streamEnded(context, stream, { state: 'closed', reason: 'upstream-reinitialized', unanswered: [] }),
        );
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
    /**
     * A replay actor reads the log for a client: a GET with Last-Event-ID from its id, or a
     * GET attaching to the live standalone stream from the last event a client was there for.
     */
    startReplay: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.resume' && event.type !== 'session.listen') return;
      const slot = freeResumeSlot(context.resuming, context.limits);
      const resume = event.type === 'session.resume';
      const lastEventId = resume
        ? event.lastEventId
        : formatEventId(context.config.eventTag, STANDALONE_STREAM, context.standalone.delivered);
      enqueue.assign({
        resuming: [
          ...context.resuming,
          { slot, key: event.key, kind: resume ? 'resume' : 'listen', forward: event.forward },
        ],
      });
      enqueue.spawnChild('replayLog', {
        id: resumeChildId(slot),
        input: {
          log: context.config.eventLog,
          lastEventId,
          position: { newestSeq: context.nextSeq - 1, nextStream: context.streams.next },
        },
      });
    }),
    /**
     * Answers a resume or a listen from the log (session-resume.ts says which outcome):
     * refused with why, or the replay and whether the client now holds the live stream.
     */
    answerResume: enqueueActions(({ context, event, enqueue }, params: { reopen: boolean }) => {
      const resume = resumeOf(context, event);
      const outcome = resumeOutcome(context, event);
      if (resume === undefined || outcome === undefined) return;
      enqueue.stopChild(resumeChildId(resume.slot));
      enqueue.assign({ resuming: context.resuming.filter((r) => r.slot !== resume.slot) });
      const refuse = (code: RefusalCode, message: string) =>
        enqueue.emit({ type: 'session.refused', sessionId: context.sessionId, key: resume.key, code, message });
      const messageOf = (code: Exclude<RefusalCode, ReplayRefusal>) => REFUSAL_MESSAGES[code](context.limits);
      if (outcome === 'failed') return refuse('log-unavailable', messageOf('log-unavailable'));
      if (outcome === 'refused' && resume.replay?.ok === false)
        return refuse(resume.replay.code, resume.replay.message);
      if (outcome === 'conflict') return refuse('stream-attached', messageOf('stream-attached'));
      const stream = resume.replay?.ok ? resume.replay.stream : STANDALONE_STREAM;
      let streams = context.streams;
      if (outcome === 'attached') streams = attachClient(streams, stream, resume.key);
      // Reopened only in `active` (session.machine.ts); elsewhere a closed standalone stream is over.
      const reopen = outcome === 'reopen' && params.reopen;
      if (reopen) {
        streams = openStream(streams, { kind: 'get', client: resume.key, forward: resume.forward }).table;
        enqueue.spawnChild('connection', {
          id: streamChildId(STANDALONE_STREAM),
          input: spawnInput({ ...context, streams }, STANDALONE_STREAM, 'get'),
        });
      }
      enqueue.assign({ streams });
      enqueue.emit(resumedEvent(context, resume, outcome === 'attached' || reopen));
    }),
    /**
     * Stops every stream child (aborting its upstream request) and tells the runtime. Handed
     * over, no request is unanswered: the process that holds the session now answers them.
     */
    closeAllStreams: enqueueActions(({ context, enqueue }) => {
      for (const stream of liveStreams(context.streams)) {
        enqueue.stopChild(streamChildId(stream));
        const unanswered = context.endReason === 'handoff' ? [] : (entryOf(context.streams, stream)?.pending ?? []);
        enqueue.emit(
          streamEnded(context, stream, { state: 'stopped', reason: `session-${context.endReason}`, unanswered }),
        );
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
