/**
 * The MCP endpoint: POST, GET and DELETE, checked against the Streamable HTTP transport
 * rules, then handed to the session that owns the request. What a session does with it
 * (which stream, a resume, a refusal) is the session's answer, relayed by StreamRelay.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Forwarded, UpstreamTarget } from '../../machines/session.types.js';
import { type CredentialPolicy, credentialPolicy, forwardedFrom } from '../auth/credentials.js';
import { IdentityResolver } from '../auth/identity.js';
import type { ResourceMetadata } from '../auth/resource-metadata.js';
import { verifyCredential } from '../auth/verify.js';
import type { Cluster } from '../cluster/cluster.js';
import { createModernFront, modernRequestOf } from '../era/modern-front.js';
import {
  BodyTooLargeError,
  InternalError,
  OriginNotAllowedError,
  ProtocolViolationError,
  RouteError,
  SessionGoneError,
  ShepherdError,
  UnavailableError,
} from '../errors.js';
import type { SessionHandle } from '../session/session-handle.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';
import { accepts, header, mediaTypeOf, originAllowed, readBody, sendAnswer, sendError } from './http.js';
import {
  allowsBatches,
  effectiveVersion,
  parseBody,
  type VersionMismatchPolicy,
  versionHeaderProblem,
} from './protocol.js';
import { type SseClientPolicy, StreamRelay } from './stream-relay.js';

export interface McpHandlerOptions {
  /** Origins allowed besides requests without Origin; default: only localhost origins. `*` allows all. */
  allowedOrigins?: readonly string[] | undefined;
  /** Largest POST body. Default 4 MiB. */
  maxBodyBytes?: number | undefined;
  /** Interval of `: keep-alive` comments on SSE responses. Default 15 s; 0 disables. */
  keepAliveMs?: number | undefined;
  /** The `retry:` hint sent to 2025-11-25 clients with each priming event. Default 1 s. */
  sseRetryMs?: number | undefined;
  /** Close 2025-11-25 clients' SSE streams after this long so they poll (SEP-1699). Default 0: never. */
  ssePollMs?: number | undefined;
  /** Which client headers go upstream, and the key that names credentials (src/auth/credentials.ts). */
  credentials?: CredentialPolicy | undefined;
  /** Who a request is (src/auth/identity.ts); a session is served to the identity that created it only. */
  identities?: IdentityResolver | undefined;
  /** The proxy's protected resource metadata, which upstream challenges are pointed at. */
  metadata?: ResourceMetadata | undefined;
  /** A supported MCP-Protocol-Version other than the negotiated one: served by the negotiated rules (default), or 400. */
  protocolVersionMismatch?: VersionMismatchPolicy | undefined;
  /** The upstream of 2026-07-28 clients' pooled sessions (docs/era-bridge.md); without it they are not served. */
  upstream?: UpstreamTarget | undefined;
  /** Serve 2026-07-28 clients (default true when `upstream` is given). */
  modernClients?: boolean | undefined;
  /** Cluster mode (docs/replicas.md): a session held by another replica is served through it. */
  cluster?: Cluster | undefined;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_KEEP_ALIVE_MS = 15_000;
export const DEFAULT_SSE_RETRY_MS = 1_000;

export interface McpHandler {
  /** `body`: already read (a request routed in the cluster first). */
  post(req: IncomingMessage, res: ServerResponse, body?: string): Promise<void>;
  get(req: IncomingMessage, res: ServerResponse): Promise<void>;
  delete(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Any request: dispatches on the method (405 for others). `internal`: forwarded by another
   * replica, which looked the owner up already: a session not held here is never routed again.
   */
  handle(req: IncomingMessage, res: ServerResponse, options?: { internal?: boolean }): Promise<void>;
}

export function createMcpHandler(runtime: SupervisorRuntime, options: McpHandlerOptions = {}): McpHandler {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const sse: SseClientPolicy = {
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    retryMs: options.sseRetryMs ?? DEFAULT_SSE_RETRY_MS,
    pollMs: options.ssePollMs ?? 0,
  };

  const versionPolicy = options.protocolVersionMismatch ?? 'negotiated';
  const credentials = options.credentials ?? credentialPolicy();
  const identities = options.identities ?? new IdentityResolver();
  const modern =
    options.upstream && options.modernClients !== false
      ? createModernFront(runtime, {
          upstream: options.upstream,
          credentials,
          keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
        })
      : undefined;
  const challengeFor = (req: IncomingMessage) => (header: string) => options.metadata?.challenge(header, req) ?? header;

  /**
   * The session named by the request, for the identity that created it only: another
   * identity (another user's valid token with a stolen session id) gets the 404 of a session
   * that does not exist, and nothing of its request reaches the upstream.
   */
  async function boundSession(req: IncomingMessage): Promise<{ handle: SessionHandle; forward: Forwarded }> {
    const handle = sessionFor(req);
    const forward = forwardedFrom(req, credentials);
    if (handle.identity !== undefined && (await identities.identityOf(forward)) !== handle.identity) {
      throw new SessionGoneError();
    }
    return { handle, forward };
  }

  function checkOrigin(req: IncomingMessage): void {
    if (!originAllowed(header(req, 'origin'), options.allowedOrigins)) {
      throw new OriginNotAllowedError(header(req, 'origin'));
    }
  }

  /** The session named by Mcp-Session-Id, after the version header check. */
  function sessionFor(req: IncomingMessage): SessionHandle {
    const id = header(req, 'mcp-session-id');
    if (!id) {
      // "Servers that require a session ID SHOULD respond to requests without an
      // Mcp-Session-Id header (other than initialization) with HTTP 400 Bad Request."
      throw new ProtocolViolationError(
        'SHEPHERD_SESSION_ID_REQUIRED',
        'Bad Request: Mcp-Session-Id header is required; send initialize first to get one.',
      );
    }
    const handle = runtime.handle(id);
    // "The server ... MUST respond to requests containing that session ID with 404".
    if (handle === undefined) throw new SessionGoneError();
    const problem = versionHeaderProblem(header(req, 'mcp-protocol-version'), handle.protocolVersion, versionPolicy);
    if (problem) throw problem;
    return handle;
  }

  const handler: McpHandler = {
    async post(req, res, preread) {
      checkOrigin(req);
      if (mediaTypeOf(header(req, 'content-type')) !== 'application/json') {
        throw new ProtocolViolationError(
          'SHEPHERD_UNSUPPORTED_MEDIA_TYPE',
          'Unsupported Media Type: Content-Type must be application/json.',
          415,
        );
      }
      const accept = header(req, 'accept');
      if (!accepts(accept, 'application/json') || !accepts(accept, 'text/event-stream')) {
        // "The client MUST include an Accept header, listing both application/json and
        // text/event-stream as supported content types."
        throw new ProtocolViolationError(
          'SHEPHERD_NOT_ACCEPTABLE',
          'Not Acceptable: Accept must list both application/json and text/event-stream.',
          406,
        );
      }
      const body = preread !== undefined ? { ok: true as const, text: preread } : await readBody(req, maxBodyBytes);
      if (!body.ok) {
        if (body.problem === 'aborted') return;
        throw new BodyTooLargeError(maxBodyBytes);
      }
      // "A request carrying modern per-request _meta is served statelessly" (2026-07-28).
      const modernMessage = modern === undefined ? undefined : modernRequestOf(req, body.text);
      if (modernMessage !== undefined) return modern?.handle(req, res, modernMessage);
      const parsed = parseBody(body.text);
      if (!parsed.ok) throw parsed.error;
      const { initialize, requestIds, isBatch } = parsed.body;

      if (initialize) {
        if (header(req, 'mcp-session-id')) {
          sendError(
            res,
            new ProtocolViolationError(
              'SHEPHERD_SESSION_ID_NOT_ALLOWED',
              'Bad Request: initialize starts a new session and must not carry Mcp-Session-Id.',
            ),
            initialize.requestId,
          );
          return;
        }
        if (options.cluster && !options.cluster.acceptsNewSessions) {
          throw new UnavailableError(
            'SHEPHERD_CLUSTER_UNAVAILABLE',
            'Service Unavailable: the cluster store is unreachable, so no new session can be kept; retry shortly.',
          );
        }
        const forward = forwardedFrom(req, credentials);
        const identity = await identities.identityOf(forward);
        const created = runtime.createSession(
          { body: body.text, requestId: initialize.requestId, forward },
          { identity },
        );
        if (!created.ok) {
          sendError(res, created.error, initialize.requestId);
          return;
        }
        const relay = new StreamRelay({
          handle: created.handle,
          res,
          kind: 'request',
          key: 'initialize',
          opened: created.initializeStream,
          requestIds,
          requestedVersion: initialize.protocolVersion,
          headers: { 'mcp-session-id': created.sessionId },
          sse,
          challenge: challengeFor(req),
        });
        await relay.done;
        return;
      }

      const { handle, forward } = await boundSession(req);
      const version = effectiveVersion(handle.protocolVersion, header(req, 'mcp-protocol-version'));
      if (isBatch && !allowsBatches(version)) {
        throw new ProtocolViolationError(
          'SHEPHERD_BATCH_NOT_ALLOWED',
          `Invalid Request: JSON-RPC batches are not allowed in protocol version ${version}.`,
          400,
          -32600,
        );
      }
      const key = randomUUID();
      const relay = new StreamRelay({
        handle,
        res,
        kind: 'request',
        key,
        requestIds,
        headers: { 'mcp-session-id': handle.sessionId },
        sse,
        challenge: challengeFor(req),
      });
      await relay.send({
        type: 'session.request',
        key,
        body: body.text,
        requestIds,
        replayOnReinit: parsed.body.isInitializedNotification,
        forward,
      });
    },

    async get(req, res) {
      checkOrigin(req);
      if (!accepts(header(req, 'accept'), 'text/event-stream')) {
        throw new ProtocolViolationError(
          'SHEPHERD_NOT_ACCEPTABLE',
          'Not Acceptable: a GET must accept text/event-stream.',
          406,
        );
      }
      const { handle, forward } = await boundSession(req);
      const headers = { 'mcp-session-id': handle.sessionId };
      const lastEventId = header(req, 'last-event-id');
      // The log is served only for a credential the upstream accepted on this session.
      if (lastEventId !== undefined && forward.credential && !handle.hasAccepted(forward.credential.id)) {
        const verdict = await verifyCredential(handle, forward);
        if (!verdict.ok) {
          if ('answer' in verdict) sendAnswer(res, verdict.answer, challengeFor(req));
          else sendError(res, verdict.error);
          return;
        }
      }
      const key = randomUUID();
      const kind = lastEventId === undefined ? 'listen' : 'resume';
      const relay = new StreamRelay({ handle, res, kind, key, headers, sse, challenge: challengeFor(req) });
      // "The client MAY issue an HTTP GET to the MCP endpoint ... to open an SSE stream";
      // with Last-Event-ID it resumes one: the session answers either.
      await relay.send(
        lastEventId === undefined
          ? { type: 'session.listen', key, forward }
          : { type: 'session.resume', key, lastEventId, forward },
      );
    },

    async delete(req, res) {
      checkOrigin(req);
      const { handle, forward } = await boundSession(req);
      const ended = handle.ended();
      handle.send({ type: 'session.delete', forward });
      await ended;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },

    async handle(req, res, how) {
      try {
        let preread: string | undefined;
        const sessionId = header(req, 'mcp-session-id');
        // Store down: nothing more can be made durable, so nothing is served that might need it.
        if (options.cluster && sessionId && !options.cluster.healthy) {
          throw new UnavailableError(
            'SHEPHERD_CLUSTER_UNAVAILABLE',
            'Service Unavailable: the cluster store is unreachable; the session is kept, retry shortly.',
          );
        }
        if (
          options.cluster &&
          sessionId &&
          (runtime.handle(sessionId) === undefined || !(await options.cluster.holdsLocally(sessionId)))
        ) {
          // "421 Misdirected Request": the forwarder's view of the owner is stale; it looks again.
          if (how?.internal) return void res.writeHead(421).end();
          const routed = await options.cluster.route(req, res, sessionId, maxBodyBytes);
          if (routed.kind === 'answered') return;
          preread = routed.body;
        }
        if (req.method === 'POST') await handler.post(req, res, preread);
        else if (req.method === 'GET') await handler.get(req, res);
        else if (req.method === 'DELETE') await handler.delete(req, res);
        else
          throw new RouteError(
            'SHEPHERD_METHOD_NOT_ALLOWED',
            'Method Not Allowed: use POST, GET or DELETE.',
            'POST, GET, DELETE',
          );
      } catch (error) {
        // Every refusal is a ShepherdError thrown by a check above; anything else is a bug.
        sendError(res, error instanceof ShepherdError ? error : new InternalError((error as Error).message, error));
      }
    },
  };
  return handler;
}
