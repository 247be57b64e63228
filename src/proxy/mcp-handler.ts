/**
 * The MCP endpoint: POST, GET and DELETE, checked against the Streamable HTTP transport
 * rules, then handed to the session that owns the request.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { INITIALIZE_STREAM, type SessionActorRef, STANDALONE_STREAM } from '../../machines/session.machine.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';
import { accepts, header, mediaTypeOf, originAllowed, readBody, sendError } from './http.js';
import {
  allowsBatches,
  DEFAULT_ASSUMED_VERSION,
  isSupportedVersion,
  parseBody,
  SUPPORTED_PROTOCOL_VERSIONS,
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
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_KEEP_ALIVE_MS = 15_000;
export const DEFAULT_SSE_RETRY_MS = 1_000;

export interface McpHandler {
  post(req: IncomingMessage, res: ServerResponse): Promise<void>;
  get(req: IncomingMessage, res: ServerResponse): Promise<void>;
  delete(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Any request: dispatches on the method (405 for others). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function createMcpHandler(runtime: SupervisorRuntime, options: McpHandlerOptions = {}): McpHandler {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const sse: SseClientPolicy = {
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    retryMs: options.sseRetryMs ?? DEFAULT_SSE_RETRY_MS,
    pollMs: options.ssePollMs ?? 0,
  };
  /** The client GET attached to each session's standalone stream (one at a time). */
  const standaloneClients = new Map<string, StreamRelay>();

  function checkOrigin(req: IncomingMessage, res: ServerResponse): boolean {
    if (originAllowed(header(req, 'origin'), options.allowedOrigins)) return true;
    sendError(res, 403, `Origin ${header(req, 'origin')} is not allowed; add it to allowedOrigins (--allow-origin).`);
    return false;
  }

  /** The session named by Mcp-Session-Id, after the version header check; or an answer sent. */
  function sessionFor(req: IncomingMessage, res: ServerResponse): { id: string; session: SessionActorRef } | undefined {
    const id = header(req, 'mcp-session-id');
    if (!id) {
      // "Servers that require a session ID SHOULD respond to requests without an
      // Mcp-Session-Id header (other than initialization) with HTTP 400 Bad Request."
      sendError(res, 400, 'Bad Request: Mcp-Session-Id header is required; send initialize first to get one.');
      return undefined;
    }
    const session = runtime.session(id);
    if (session?.getSnapshot().status !== 'active') {
      // "The server ... MUST respond to requests containing that session ID with 404".
      sendError(res, 404, 'Session not found: it ended or expired. Start a new session with initialize.');
      return undefined;
    }
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !isSupportedVersion(version)) {
      // "If the server receives a request with an invalid or unsupported
      // MCP-Protocol-Version, it MUST respond with 400 Bad Request."
      sendError(
        res,
        400,
        `Bad Request: unsupported MCP-Protocol-Version ${version}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.`,
      );
      return undefined;
    }
    return { id, session };
  }

  const handler: McpHandler = {
    async post(req, res) {
      if (!checkOrigin(req, res)) return;
      if (mediaTypeOf(header(req, 'content-type')) !== 'application/json') {
        sendError(res, 415, 'Unsupported Media Type: Content-Type must be application/json.');
        return;
      }
      const accept = header(req, 'accept');
      if (!accepts(accept, 'application/json') || !accepts(accept, 'text/event-stream')) {
        // "The client MUST include an Accept header, listing both application/json and
        // text/event-stream as supported content types."
        sendError(res, 406, 'Not Acceptable: Accept must list both application/json and text/event-stream.');
        return;
      }
      const body = await readBody(req, maxBodyBytes);
      if (!body.ok) {
        sendError(res, 413, `Payload Too Large: the body exceeds ${maxBodyBytes} bytes (maxBodyBytes).`);
        return;
      }
      const parsed = parseBody(body.text);
      if (!parsed.ok) {
        sendError(res, 400, parsed.message, { code: parsed.code });
        return;
      }
      const { initialize, requestIds, isBatch } = parsed.body;

      if (initialize) {
        if (header(req, 'mcp-session-id')) {
          sendError(res, 400, 'Bad Request: initialize starts a new session and must not carry Mcp-Session-Id.', {
            id: initialize.requestId,
          });
          return;
        }
        const created = runtime.createSession({ body: body.text, requestId: initialize.requestId });
        if (!created.ok) {
          sendError(res, 503, created.message, { id: initialize.requestId, headers: { 'retry-after': '5' } });
          return;
        }
        const relay = new StreamRelay({
          session: created.session,
          res,
          kind: 'request',
          stream: INITIALIZE_STREAM,
          requestIds,
          requestedVersion: initialize.protocolVersion,
          headers: { 'mcp-session-id': created.sessionId },
          sse,
        });
        await relay.done;
        return;
      }

      const found = sessionFor(req, res);
      if (!found) return;
      const version =
        header(req, 'mcp-protocol-version') ??
        found.session.getSnapshot().context.protocolVersion ??
        DEFAULT_ASSUMED_VERSION;
      if (isBatch && !allowsBatches(version)) {
        sendError(res, 400, `Invalid Request: JSON-RPC batches are not allowed in protocol version ${version}.`, {
          code: -32600,
        });
        return;
      }
      const key = randomUUID();
      const relay = new StreamRelay({
        session: found.session,
        res,
        kind: 'request',
        key,
        requestIds,
        headers: { 'mcp-session-id': found.id },
        sse,
      });
      found.session.send({
        type: 'session.request',
        key,
        body: body.text,
        requestIds,
        replayOnReinit: parsed.body.isInitializedNotification,
      });
      await relay.done;
    },

    async get(req, res) {
      if (!checkOrigin(req, res)) return;
      if (!accepts(header(req, 'accept'), 'text/event-stream')) {
        sendError(res, 406, 'Not Acceptable: a GET must accept text/event-stream.');
        return;
      }
      const found = sessionFor(req, res);
      if (!found) return;
      const { id, session } = found;
      const headers = { 'mcp-session-id': id };
      const lastEventId = header(req, 'last-event-id');

      if (lastEventId !== undefined) {
        const replay = runtime.replay(id, lastEventId);
        if (!replay.ok) {
          sendError(res, 400, `Bad Request: ${replay.message}`);
          return;
        }
        const live = replay.stream in session.getSnapshot().context.streams;
        const key = randomUUID();
        const relay = new StreamRelay({
          session,
          res,
          kind: 'resume',
          stream: replay.stream,
          key,
          replay: replay.events,
          headers,
          sse,
        });
        relay.startNow();
        if (!live && replay.stream === STANDALONE_STREAM) session.send({ type: 'session.listen', key });
        else if (!live) relay.close();
        await relay.done;
        return;
      }

      if (standaloneClients.has(id)) {
        sendError(
          res,
          409,
          'Conflict: this session already has a server-to-client stream open; close it or resume with Last-Event-ID.',
        );
        return;
      }
      const wasOpen = STANDALONE_STREAM in session.getSnapshot().context.streams;
      const key = randomUUID();
      const relay = new StreamRelay({ session, res, kind: 'listen', key, headers, sse });
      standaloneClients.set(id, relay);
      session.send({ type: 'session.listen', key });
      if (wasOpen) relay.startNow();
      await relay.done;
      standaloneClients.delete(id);
    },

    async delete(req, res) {
      if (!checkOrigin(req, res)) return;
      const found = sessionFor(req, res);
      if (!found) return;
      const ended = new Promise<void>((resolve) => {
        found.session.subscribe({ complete: () => resolve(), error: () => resolve() });
      });
      found.session.send({ type: 'session.delete' });
      await ended;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },

    async handle(req, res) {
      try {
        if (req.method === 'POST') await handler.post(req, res);
        else if (req.method === 'GET') await handler.get(req, res);
        else if (req.method === 'DELETE') await handler.delete(req, res);
        else
          sendError(res, 405, 'Method Not Allowed: use POST, GET or DELETE.', {
            headers: { allow: 'POST, GET, DELETE' },
          });
      } catch (error) {
        sendError(res, 500, `Internal error in mcp-shepherd: ${(error as Error).message}`);
      }
    },
  };
  return handler;
}
