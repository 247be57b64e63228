/**
 * The errors a client (or an embedder) sees, as named classes with stable codes: one base
 * class, a subclass per kind. Each knows its HTTP status and its JSON-RPC form; the code
 * travels in the JSON-RPC error's `data`, so a client can branch on it without parsing the
 * message, which is written for a person and says what to do.
 */
import type { RequestId } from '../machines/connection.types.js';

/** JSON-RPC 2.0 error codes the proxy uses. */
export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
/** Implementation-defined server errors (-32000 to -32099). */
export const PROXY_ERROR = -32000;

export type ShepherdErrorCode =
  | 'SHEPHERD_ORIGIN_NOT_ALLOWED'
  | 'SHEPHERD_METHOD_NOT_ALLOWED'
  | 'SHEPHERD_NOT_FOUND'
  | 'SHEPHERD_UNSUPPORTED_MEDIA_TYPE'
  | 'SHEPHERD_NOT_ACCEPTABLE'
  | 'SHEPHERD_PARSE_ERROR'
  | 'SHEPHERD_INVALID_REQUEST'
  | 'SHEPHERD_BATCH_NOT_ALLOWED'
  | 'SHEPHERD_SESSION_ID_REQUIRED'
  | 'SHEPHERD_SESSION_ID_NOT_ALLOWED'
  | 'SHEPHERD_UNSUPPORTED_PROTOCOL_VERSION'
  | 'SHEPHERD_PROTOCOL_VERSION_MISMATCH'
  | 'SHEPHERD_NOT_INITIALIZED'
  | 'SHEPHERD_BAD_LAST_EVENT_ID'
  | 'SHEPHERD_SESSION_GONE'
  | 'SHEPHERD_STREAM_ATTACHED'
  | 'SHEPHERD_BODY_TOO_LARGE'
  | 'SHEPHERD_TOO_MANY_STREAMS'
  | 'SHEPHERD_TOO_MANY_RESUMES'
  | 'SHEPHERD_TOO_MANY_SESSIONS'
  | 'SHEPHERD_DRAINING'
  | 'SHEPHERD_CLUSTER_UNAVAILABLE'
  | 'SHEPHERD_CLUSTER_FORBIDDEN'
  | 'SHEPHERD_REINITIALIZING'
  | 'SHEPHERD_EVENT_LOG_UNAVAILABLE'
  | 'SHEPHERD_UPSTREAM_STATUS'
  | 'SHEPHERD_UPSTREAM_UNAVAILABLE'
  | 'SHEPHERD_NO_STANDALONE_STREAM'
  | 'SHEPHERD_STREAM_ENDED'
  | 'SHEPHERD_UNAUTHORIZED'
  | 'SHEPHERD_ASSETS_MISSING'
  | 'SHEPHERD_INTERNAL';

export interface ShepherdErrorOptions {
  status: number;
  jsonRpcCode?: number;
  /** Response headers that belong to the error (Retry-After, Allow). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

export class ShepherdError extends Error {
  override readonly name: string = 'ShepherdError';
  readonly status: number;
  readonly jsonRpcCode: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ShepherdErrorCode,
    message: string,
    options: ShepherdErrorOptions,
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.jsonRpcCode = options.jsonRpcCode ?? PROXY_ERROR;
    this.headers = options.headers ?? {};
  }

  /** The JSON-RPC error response a client gets, with the stable code in `data`. */
  toJsonRpc(id: RequestId | null = null) {
    return {
      jsonrpc: '2.0' as const,
      id,
      error: { code: this.jsonRpcCode, message: this.message, data: { code: this.code } },
    };
  }
}

/** The request breaks a rule of the MCP transport or of JSON-RPC (4xx). */
export class ProtocolViolationError extends ShepherdError {
  override readonly name = 'ProtocolViolationError';
  constructor(code: ShepherdErrorCode, message: string, status = 400, jsonRpcCode = PROXY_ERROR) {
    super(code, message, { status, jsonRpcCode });
  }
}

/** "If the Origin header is present and invalid, servers MUST respond with HTTP 403 Forbidden." */
export class OriginNotAllowedError extends ShepherdError {
  override readonly name = 'OriginNotAllowedError';
  constructor(origin: string | undefined) {
    super(
      'SHEPHERD_ORIGIN_NOT_ALLOWED',
      `Origin ${origin} is not allowed; add it to allowedOrigins (--allow-origin).`,
      { status: 403 },
    );
  }
}

/** The session does not exist (any more): "the client MUST start a new session" (404). */
export class SessionGoneError extends ShepherdError {
  override readonly name = 'SessionGoneError';
  constructor(message = 'Session not found: it ended or expired. Start a new session with initialize.') {
    super('SHEPHERD_SESSION_GONE', message, { status: 404 });
  }
}

/** A stream already has a client (409). */
export class StreamConflictError extends ShepherdError {
  override readonly name = 'StreamConflictError';
  constructor(message: string) {
    super('SHEPHERD_STREAM_ATTACHED', message, { status: 409 });
  }
}

/** A limit of the proxy was reached: streams or resumes (429), sessions (503). */
export class LimitReachedError extends ShepherdError {
  override readonly name = 'LimitReachedError';
  constructor(code: ShepherdErrorCode, message: string, status: 429 | 503, retryAfterSeconds?: number) {
    super(code, message, {
      status,
      ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }),
    });
  }
}

/**
 * The body is over maxBodyBytes (413). The connection closes after it: the rest of the body
 * is not read, and a client that keeps sending must not wait on it.
 */
export class BodyTooLargeError extends ShepherdError {
  override readonly name = 'BodyTooLargeError';
  constructor(limit: number) {
    super('SHEPHERD_BODY_TOO_LARGE', `Payload Too Large: the body exceeds ${limit} bytes (maxBodyBytes).`, {
      status: 413,
      headers: { connection: 'close' },
    });
  }
}

/** The proxy cannot serve this now, but will: draining, re-initializing, log unreadable (503). */
export class UnavailableError extends ShepherdError {
  override readonly name = 'UnavailableError';
  constructor(code: ShepherdErrorCode, message: string, retryAfterSeconds = 1) {
    super(code, message, { status: 503, headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

/** The upstream answered with an error status, passed on (or 502 where its status would mislead). */
export class UpstreamStatusError extends ShepherdError {
  override readonly name = 'UpstreamStatusError';
  constructor(
    readonly upstreamStatus: number,
    detail: string,
  ) {
    // The proxy's session still exists: an upstream 404 (without a session to lose) must
    // not read as "session not found" to the client.
    super('SHEPHERD_UPSTREAM_STATUS', `Upstream answered: ${detail}`, {
      status: upstreamStatus === 404 ? 502 : upstreamStatus,
    });
  }
}

/** The upstream could not be reached, or its stream ended before it answered (502). */
export class UpstreamUnavailableError extends ShepherdError {
  override readonly name = 'UpstreamUnavailableError';
  constructor(message: string, code: ShepherdErrorCode = 'SHEPHERD_UPSTREAM_UNAVAILABLE') {
    super(code, message, { status: 502 });
  }
}

/** The upstream has no server-to-client stream (its GET is 405 or 404): neither has the proxy. */
export class NoStandaloneStreamError extends ShepherdError {
  override readonly name = 'NoStandaloneStreamError';
  constructor() {
    super('SHEPHERD_NO_STANDALONE_STREAM', 'The upstream server does not offer a server-to-client stream (GET).', {
      status: 405,
      headers: { allow: 'POST, DELETE' },
    });
  }
}

/** Not this method, or not this path (405, 404). */
/** A request to the internal (cluster) listener without the cluster's secret. */
export class ClusterForbiddenError extends ShepherdError {
  override readonly name = 'ClusterForbiddenError';
  constructor() {
    super('SHEPHERD_CLUSTER_FORBIDDEN', 'Forbidden: the internal listener serves cluster replicas only.', {
      status: 403,
    });
  }
}

export class RouteError extends ShepherdError {
  override readonly name = 'RouteError';
  constructor(code: 'SHEPHERD_METHOD_NOT_ALLOWED' | 'SHEPHERD_NOT_FOUND', message: string, allow?: string) {
    super(code, message, {
      status: code === 'SHEPHERD_NOT_FOUND' ? 404 : 405,
      ...(allow === undefined ? {} : { headers: { allow } }),
    });
  }
}

/** The admin listener's bearer token is missing or wrong (401). */
export class UnauthorizedError extends ShepherdError {
  override readonly name = 'UnauthorizedError';
  constructor(message: string, realm: string) {
    super('SHEPHERD_UNAUTHORIZED', message, {
      status: 401,
      headers: { 'www-authenticate': `Bearer realm="${realm}"` },
    });
  }
}

/** A bug or an unexpected failure inside mcp-shepherd (500). */
export class InternalError extends ShepherdError {
  override readonly name = 'InternalError';
  constructor(message: string, cause?: unknown) {
    super('SHEPHERD_INTERNAL', `Internal error in mcp-shepherd: ${message}`, { status: 500, cause });
  }
}
