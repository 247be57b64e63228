import type { BackoffOptions, DelaySource } from './delay-policy.js';

/** A JSON-RPC id, as MCP uses them (never null for a request). */
export type RequestId = string | number;

export interface ConnectionOptions {
  backoff: BackoffOptions;
  /** Time allowed from sending the request to receiving response headers. Default 30 s. */
  connectTimeoutMs: number;
  /** No bytes (events or `:` comments) for this long marks the stream stalled. 0 disables. Default 45 s. */
  heartbeatTimeoutMs: number;
  /** How long a stalled stream may stay stalled before it is aborted and resumed. Default 15 s. */
  stallGraceMs: number;
  /** An open stream that lasts this long resets the failed-attempt counter. Default 30 s. */
  healthyAfterMs: number;
  /** How many recent event ids are remembered to drop repeats after a resume. Default 128. */
  dedupeWindow: number;
  /**
   * A POST stream resumed with GET must carry something for its request within this long,
   * or it is resumed again (an upstream whose event store loses the stream's later events).
   * Default 30 s; 0 disables.
   */
  resumeSilenceMs: number;
  /** Silent resumes of one stream before its request gets an error. Default 2. */
  maxSilentResumes: number;
  /**
   * Besides 404: a 400 or 404 whose body matches one of these (case-insensitive regular
   * expressions), answering a request that carried the upstream's Mcp-Session-Id, means the
   * upstream session is gone. Default: the SDK's "No valid session ID", "Session not found",
   * and the JSON-RPC code -32001.
   */
  sessionGonePatterns: readonly string[];
}

/** Options as a caller gives them: any subset, backoff included. */
export type ConnectionOptionsInput = Partial<Omit<ConnectionOptions, 'backoff'>> & {
  backoff?: Partial<BackoffOptions>;
};

/** What the connection needs to open (and later resume) one SSE stream. */
export interface ConnectionInput {
  /** Echoed in every report, so a parent with many streams knows which one spoke. */
  id: string;
  /** The session the stream belongs to (a stdio reader finds the session's process by it). */
  session?: string;
  url: string;
  /** GET opens a server-to-client stream; POST sends `body` and reads its response stream. */
  method?: 'GET' | 'POST';
  /** Sent on every attempt (Mcp-Session-Id, MCP-Protocol-Version, auth, ...). */
  headers?: Readonly<Record<string, string>>;
  body?: string;
  /** Start as a resume of an earlier stream. */
  lastEventId?: string;
  /** POST only: the stream is complete once every one of these requests has its response. */
  awaitResponses?: readonly RequestId[];
  options?: ConnectionOptionsInput;
  /** Random source for jitter, in [0, 1). Tests inject a fixed one. */
  random?: () => number;
  /**
   * The request is already on its way (an exchange handed it over, machines/exchange.ts): how
   * long it has waited for its response headers, which the first connect timeout counts.
   */
  waitedMs?: number;
}

/** The request the reader actor must make for the current attempt. */
export interface StreamRequest {
  /** The connection's id, e.g. `stream-3`: a stdio reader registers with the process under it. */
  id: string;
  /** The session the stream belongs to: a stdio reader finds the session's process by it. */
  session?: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** One server-sent event, as parsed from the stream. */
export interface StreamEvent {
  id?: string | undefined;
  event?: string | undefined;
  data: string;
  /** The data parsed as JSON, when it is JSON; the reader parses it once for everyone. */
  message?: unknown;
}

/** Events the reader actor (provided by src/) sends back to the connection. */
export type ReaderEvent =
  | {
      type: 'stream.response';
      status: number;
      contentType: string | null;
      /** `Retry-After` already turned into milliseconds from now (capped). */
      retryAfterMs?: number | undefined;
      /** First bytes of a non-2xx body, for the error report. */
      bodySnippet?: string | undefined;
      /** The `WWW-Authenticate` header of a 401 or 403, passed on to the client. */
      wwwAuthenticate?: string | undefined;
      /** The `Mcp-Session-Id` response header, which the initialize response carries. */
      sessionId?: string | undefined;
    }
  | ({ type: 'stream.event' } & StreamEvent)
  /**
   * Several events that arrived together (one chunk of the body), read as one step: the
   * machine handles a run of events the way it handles each alone (connection-rules.ts,
   * readBatch), for a fraction of the steps.
   */
  | { type: 'stream.events'; events: StreamEvent[] }
  | { type: 'stream.retry'; ms: number }
  | { type: 'stream.bytes' }
  | { type: 'stream.end' }
  | { type: 'stream.error'; message: string; code?: string | undefined };

export type ConnectionEvent = ReaderEvent | { type: 'connection.stop' };

/**
 * What a reader actor may be sent by the upstream it reads: a stdio server process pushes
 * its messages to the stream's reader (an HTTP reader pulls, and is sent nothing).
 */
export type ReaderInbound =
  | { type: 'host.message'; message: Record<string, unknown>; line: string }
  | { type: 'host.failed'; message: string };

export type WaitReason =
  | 'network-error'
  | 'http-status'
  | 'connect-timeout'
  | 'dropped'
  | 'server-closed'
  | 'stalled'
  /** a resumed stream carried nothing for its request */
  | 'resume-silent';

export type FailReason =
  | 'http-status'
  | 'content-type'
  | 'attempts-exhausted'
  | 'not-resumable'
  | 'network-error'
  /** resumed again and again, the stream never carried its request's answer */
  | 'resume-lost';

export type CloseReason = 'stopped' | 'completed' | 'accepted';

export type ConnectionReason =
  | WaitReason
  | FailReason
  | CloseReason
  | 'session-not-found'
  | 'opened'
  | 'resumed'
  | 'recovered';

export type ConnectionStateName = 'connecting' | 'open' | 'stalled' | 'waiting' | 'closed' | 'failed' | 'expired';

/** Sent to the parent on every state change. */
export interface ConnectionStatus {
  type: 'connection.status';
  id: string;
  state: ConnectionStateName;
  reason?: ConnectionReason | undefined;
  /** Consecutive failed attempts so far. */
  attempt: number;
  /** Successful (re)opens so far; 1 after the first open. */
  opens: number;
  lastEventId?: string | undefined;
  /** The server's `Mcp-Session-Id`, when its response carried one. */
  sessionId?: string | undefined;
  /** `json` when the server answered a POST with one JSON body instead of a stream. */
  bodyKind?: 'json' | 'sse' | undefined;
  /** HTTP status behind the reason, when there is one. */
  status?: number | undefined;
  /** Human-readable detail: error message, content type, body snippet. */
  detail?: string | undefined;
  /** In `waiting`: how long, and which rule chose it. */
  delayMs?: number | undefined;
  delaySource?: DelaySource | undefined;
  /** An upstream 401 or 403, as the client must get it. */
  answer?: UpstreamAnswer | undefined;
}

/**
 * An upstream's refusal on authorization grounds: "the server MUST respond with HTTP 401"
 * and a `WWW-Authenticate` header naming its resource metadata (2025-06-18+ authorization).
 * The proxy passes it on unchanged, so the client can authorize.
 */
export interface UpstreamAnswer {
  status: number;
  contentType: string | null;
  body: string;
  wwwAuthenticate: string | undefined;
}

/** Sent to the parent for each event, in order, never the same id twice. */
export interface ConnectionDelivery {
  type: 'connection.event';
  id: string;
  event: StreamEvent;
}

/**
 * Several events delivered at once (they came in one chunk), in order: for the parent the
 * same as one ConnectionDelivery each, in one step.
 */
export interface ConnectionRunDelivery {
  type: 'connection.events';
  id: string;
  events: StreamEvent[];
}

export interface ConnectionOutput {
  /** The connection's id, as in its reports. */
  id: string;
  state: 'closed' | 'failed' | 'expired';
  reason: ConnectionReason | undefined;
  status?: number | undefined;
  detail?: string | undefined;
  answer?: UpstreamAnswer | undefined;
  lastEventId?: string | undefined;
}
