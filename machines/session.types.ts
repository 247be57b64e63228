import type {
  ConnectionDelivery,
  ConnectionOptionsInput,
  ConnectionRunDelivery,
  ConnectionStateName,
  ConnectionStatus,
  RequestId,
  UpstreamAnswer,
} from './connection.types.js';
import type { EventLog, LoggedEvent, ReplayRefusal } from './event-log.js';
import type { ExchangeEvent } from './exchange.js';
import type { ProcessInput, StdioCommand } from './process.types.js';

export interface SessionLimits {
  /** Upstream streams (connection children) open at once. Default 10. */
  maxConnectionsPerSession: number;
  /** No request and no open client stream for this long ends the session. Default 5 min. */
  idleTimeoutMs: number;
  /** The session ends this long after it was created, whatever it is doing. Default 30 min. */
  maxLifetimeMs: number;
  /** How long the upstream DELETE may take before the session ends anyway. Default 5 s. */
  deleteTimeoutMs: number;
  /** Upstream re-initializations (policy `reinitialize`) before a 404 ends the session. Default 3. */
  maxReinitializations: number;
  /**
   * After initialize, how long the client's next requests wait for the upstream GET stream
   * to open, so that nothing the server sends on it can be missed. Default 5 s.
   */
  standaloneWaitMs: number;
}

/** Where the upstream is; opaque to the session, handed to each stream child. */
export interface UpstreamTarget {
  /** The server's URL; for a stdio upstream, a description such as `stdio:<command>`. */
  url: string;
  /** Sent on every upstream request (auth, ...). */
  headers?: Readonly<Record<string, string>>;
  /** These static headers win over the ones forwarded from the client. Default false: the client's win. */
  staticHeadersWin?: boolean;
  /** A local server program: the session runs it as its `host` child (one process per session). */
  process?: StdioCommand;
  processOptions?: ProcessInput['options'];
}

/**
 * What a client request carries upstream besides its body: the headers forwarded from it
 * (credential, trace context), and its credential alone, with an id (a keyed hash, never the
 * credential itself) by which the session remembers that the upstream accepted it.
 */
export interface Forwarded {
  headers: Readonly<Record<string, string>>;
  credential?: { id: string; headers: Readonly<Record<string, string>> } | undefined;
}

export interface SessionInput {
  /** The id the client sees (minted by the proxy, never the upstream's). */
  sessionId: string;
  /** Random prefix of this session's event ids. */
  eventTag: string;
  /** The client's initialize request, saved so it can be replayed upstream. */
  initialize: { key: string; body: string; requestId: RequestId; forward?: Forwarded | undefined };
  /**
   * Who created the session (src/auth/identity.ts: a JWT's issuer and subject, or a keyed hash
   * of the credential): the proxy serves the session to this identity only.
   */
  identity?: string | undefined;
  upstream: UpstreamTarget;
  /** Where the session keeps the events it forwards, for resumption (machines/event-log.ts). */
  eventLog: EventLog;
  limits?: Partial<SessionLimits>;
  connection?: ConnectionOptionsInput;
  /**
   * What to do when the upstream answers 404 (its session is gone, e.g. it restarted):
   * `reinitialize` replays the saved initialize (and notifications/initialized) upstream and
   * re-sends the requests that got 404, keeping the client's session; `propagate` ends the
   * session so the client gets 404 and re-initializes. Default `reinitialize`.
   */
  onUpstreamGone?: UpstreamGonePolicy;
  /**
   * Start as a session another process held (a replica that failed or handed it over,
   * docs/replicas.md): no initialize goes upstream; the upstream session goes on, and every
   * stream that was open resumes from where its upstream stream was.
   */
  restore?: SessionRestore | undefined;
}

/** What a session needs to go on where another process left it. */
export interface SessionRestore {
  upstreamSessionId: string | undefined;
  protocolVersion: string | undefined;
  /** The first seq not issued yet: ids continue beyond every one a client may hold. */
  nextSeq: number;
  /** The first POST stream number not opened yet. */
  nextStream: number;
  initializedBody: string | undefined;
  reinitializations: number;
  /** The credential the upstream accepted last: the restored streams' requests carry it. */
  credential: Forwarded['credential'];
  /** The seq of the last standalone event a client was attached for. */
  standaloneDelivered: number;
  /** The streams that were open, each with the upstream's id of the last event it carried. */
  streams: readonly RestoredStream[];
}

export interface RestoredStream {
  stream: number;
  kind: 'get' | 'post';
  /** Requests of the stream still waiting for their response. */
  pending: readonly RequestId[];
  /** The upstream event id to resume from; a POST stream without one cannot be resumed. */
  resumeId: string | undefined;
}

export type UpstreamGonePolicy = 'reinitialize' | 'propagate';

/** `handoff`: another process holds the session now; it ends here without ending upstream. */
export type SessionEndReason =
  | 'deleted'
  | 'shutdown'
  | 'idle'
  | 'lifetime'
  | 'upstream-gone'
  | 'initialize-failed'
  | 'handoff';

/** Why a request, listen or resume was refused; the proxy turns it into an HTTP answer. */
export type RefusalCode =
  | 'too-many-streams'
  | 'not-initialized'
  | 'reinitializing'
  /** The stream already has a client: a message goes on one stream to one client. */
  | 'stream-attached'
  | 'too-many-resumes'
  /** The upstream offers no server-to-client stream (its GET got 405 or 404). */
  | 'no-standalone-stream'
  /** The event log could not be read. */
  | 'log-unavailable'
  | ReplayRefusal;

/** Events the runtime (proxy) sends to a session. */
export type SessionCommand =
  /** A client POST: `requestIds` are the JSON-RPC requests in it (none for notifications). */
  | {
      type: 'session.request';
      key: string;
      body: string;
      requestIds: readonly RequestId[];
      /** notifications/initialized: kept to be replayed if the upstream is re-initialized. */
      replayOnReinit?: boolean;
      forward?: Forwarded | undefined;
    }
  /** A client GET: attach to the standalone stream, opening it upstream if needed. */
  | { type: 'session.listen'; key: string; forward?: Forwarded | undefined }
  /** A client GET with Last-Event-ID: replay that stream from the log, then attach if it is live. */
  | { type: 'session.resume'; key: string; lastEventId: string; forward?: Forwarded | undefined }
  /**
   * The client response `key` on `stream` is over. `delivered`: it was written to its end after
   * the stream finished, so nobody will resume the stream and its events can go.
   */
  | { type: 'session.client.detach'; key: string; stream: number; delivered: boolean }
  | { type: 'session.delete'; forward?: Forwarded | undefined }
  | { type: 'session.shutdown' }
  /** Another process holds the session now: stop here, leave the upstream session alone. */
  | { type: 'session.handoff' };

export type SessionEvent =
  | SessionCommand
  | ConnectionStatus
  | ConnectionDelivery
  | ConnectionRunDelivery
  /** A one-shot POST answered, or handed over to a connection (machines/exchange.ts). */
  | ExchangeEvent
  /** Children that finish: the host process, replay actors, stream connections. */
  | { type: `xstate.done.actor.${string}`; output: unknown; actorId?: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId?: string };

/** What a session emits (`actor.on(type, ...)`): the proxy writes these to clients. */
export type SessionEmitted =
  | { type: 'session.initialized'; sessionId: string; protocolVersion: string | undefined }
  | { type: 'session.reinitialized'; sessionId: string; count: number }
  | {
      type: 'session.stream.opened';
      sessionId: string;
      key: string;
      stream: number;
      /** An id naming this stream at the current position, for an SSE priming event. */
      primingId: string;
      protocolVersion: string | undefined;
    }
  | { type: 'session.refused'; sessionId: string; key: string; code: RefusalCode; message: string }
  | {
      type: 'session.resumed';
      sessionId: string;
      key: string;
      stream: number;
      /** The stream's events after the client's Last-Event-ID, from the log. */
      events: readonly LoggedEvent[];
      /** The position the client's Last-Event-ID names. */
      afterSeq: number;
      /** Live events of the stream with a seq up to this one are in `events` or were before it. */
      throughSeq: number;
      /** The stream goes on (the client is now attached to it); otherwise it is over after `events`. */
      live: boolean;
      /** An id for the stream at `throughSeq`: where the client's cursor may move when nothing is replayed. */
      primingId: string;
      protocolVersion: string | undefined;
    }
  /** Upstream output that is not JSON-RPC: not forwarded (the request gets an error if it goes unanswered). */
  | { type: 'session.upstream.invalid'; sessionId: string; stream: number; problem: string }
  | {
      type: 'session.event';
      sessionId: string;
      stream: number;
      seq: number;
      eventId: string;
      data: string;
      message: unknown;
    }
  | {
      type: 'session.stream.status';
      sessionId: string;
      stream: number;
      state: ConnectionStateName;
      status: ConnectionStatus;
    }
  | {
      type: 'session.stream.ended';
      sessionId: string;
      stream: number;
      state: 'closed' | 'failed' | 'expired' | 'stopped';
      reason: string | undefined;
      status?: number | undefined;
      detail?: string | undefined;
      /** The JSON-RPC requests of this stream that never got a response. */
      unanswered: readonly RequestId[];
      /** An upstream 401 or 403, which the client gets as it came. */
      answer?: UpstreamAnswer | undefined;
    }
  | { type: 'session.ended'; sessionId: string; state: 'terminated' | 'expired'; reason: SessionEndReason };

/**
 * What a session tells its supervisor, which re-emits it as a lifecycle event: milestones
 * only. Streams opening and closing are the session's own emitted events.
 */
export interface SessionLifecycle {
  type: 'session.lifecycle';
  sessionId: string;
  event: 'initialized' | 'reinitialized' | 'expired' | 'terminated';
  reason?: string | undefined;
}

export interface SessionOutput {
  state: 'terminated' | 'expired';
  reason: SessionEndReason;
}

/** What the `deleteUpstream` actor gets: where, and the headers naming the upstream session. */
export interface DeleteUpstreamInput {
  upstream: UpstreamTarget;
  headers: Record<string, string>;
}
