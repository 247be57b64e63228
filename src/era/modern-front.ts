/**
 * 2026-07-28 clients in front of a 2025 session server: a request with the modern `_meta`
 * envelope is served statelessly, as 2026-07-28 says, on a pooled upstream session
 * (upstream-pool.ts). What a dual-era server does per the spec ("A request carrying modern
 * per-request `_meta` is served statelessly … an `initialize` request selects legacy
 * semantics", 2026-07-28 basic/versioning): the same endpoint serves both eras.
 *
 * - the validation ladder: 400 with -32020 (headers), -32602 (envelope), -32022 (version);
 *   404 with -32601 for a method 2026-07-28 does not have (initialize, ping, logging/setLevel,
 *   resources/(un)subscribe and unknown ones);
 * - `server/discover` from the pooled session's initialize result;
 * - calls and lists on the pooled session under ids of the proxy's, answered under the
 *   client's with `resultType` (and caching hints where 2026-07-28 requires them); a server
 *   request during a call becomes `input_required` (machines/pending-call.machine.ts);
 * - `subscriptions/listen` from the pooled session's GET stream.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createActor } from 'xstate';
import { META, MODERN_VERSION, SESSION_ERA_VERSIONS } from '../../machines/era-rules.js';
import { errorResponse, isRecord } from '../../machines/jsonrpc.js';
import { pendingCallMachine } from '../../machines/pending-call.machine.js';
import type { UpstreamTarget } from '../../machines/session.types.js';
import { type CredentialPolicy, forwardedFrom } from '../auth/credentials.js';
import type { JsonRpcMessage } from '../client/client-transport.js';
import { header } from '../proxy/http.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';
import { ModernAnswer } from './modern-answer.js';
import { NAMED_PARAM } from './modern-wire.js';
import { createStateCodec, type StateCodec } from './request-state.js';
import { decodeHeaderValue } from './tool-headers.js';
import { type PooledSession, type PoolRequest, UpstreamPool } from './upstream-pool.js';

type Message = Record<string, unknown>;

/** Methods served on a pooled session. */
const CALLS = new Set([
  'tools/call',
  'tools/list',
  'resources/read',
  'resources/list',
  'resources/templates/list',
  'prompts/get',
  'prompts/list',
  'completion/complete',
]);
/** "The fields are required on complete results of" these (2026-07-28 server/utilities/caching). */
const CACHEABLE = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface ModernFrontOptions {
  upstream: UpstreamTarget;
  credentials: CredentialPolicy;
  keepAliveMs: number;
  /** How long a client has to retry after `input_required`. Default 5 min. */
  retryTimeoutMs?: number | undefined;
  codec?: StateCodec | undefined;
}

class LadderError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The envelope's protocol version when the body claims the modern era. */
export function modernClaim(message: unknown): string | undefined {
  if (!isRecord(message) || !isRecord(message.params) || !isRecord(message.params._meta)) return undefined;
  const version = message.params._meta[META.protocolVersion];
  return typeof version === 'string' ? version : undefined;
}

/**
 * The POST's message when the proxy serves it as 2026-07-28: the body decides (its envelope),
 * and a modern header alone too. A request that names a session is session era, and is not
 * looked into (the request path); others get a substring test before any parse.
 */
export function modernRequestOf(req: IncomingMessage, text: string): unknown {
  if (header(req, 'mcp-session-id') !== undefined) return undefined;
  const modernHeader = header(req, 'mcp-protocol-version') === MODERN_VERSION;
  if (!modernHeader && !text.includes(META.protocolVersion)) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    message = undefined;
  }
  return modernHeader || modernClaim(message) !== undefined ? message : undefined;
}

/** The ladder, in the reference server's order: header, envelope, agreement, version, method headers. */
function checkRequest(
  req: IncomingMessage,
  message: Message,
): { capabilities: Message; info?: Message; logLevel?: string } {
  const headerVersion = header(req, 'mcp-protocol-version');
  if (headerVersion === undefined) throw new LadderError(400, -32020, 'Missing MCP-Protocol-Version header');
  const params = isRecord(message.params) ? message.params : {};
  const meta = isRecord(params._meta) ? params._meta : {};
  const claimed = meta[META.protocolVersion];
  const capabilities = meta[META.clientCapabilities];
  if (typeof claimed !== 'string' || !isRecord(capabilities)) {
    throw new LadderError(
      400,
      -32602,
      `Invalid params: _meta must carry ${META.protocolVersion} and ${META.clientCapabilities}`,
    );
  }
  if (claimed !== headerVersion) {
    throw new LadderError(400, -32020, `MCP-Protocol-Version ${headerVersion} does not match _meta ${claimed}`);
  }
  if (claimed !== MODERN_VERSION) {
    throw new LadderError(400, -32022, `Unsupported protocol version: ${claimed}`, {
      supported: [MODERN_VERSION, ...SESSION_ERA_VERSIONS],
      requested: claimed,
    });
  }
  const method = String(message.method);
  if (header(req, 'mcp-method') !== method) throw new LadderError(400, -32020, `Mcp-Method must be ${method}`);
  const named = NAMED_PARAM[method];
  if (named !== undefined) {
    const value = header(req, 'mcp-name');
    if (value === undefined || decodeHeaderValue(value) !== params[named]) {
      throw new LadderError(400, -32020, `Mcp-Name must be the request's ${named}`);
    }
  }
  const logLevel = meta[META.logLevel];
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel))) {
    throw new LadderError(400, -32602, `Invalid params: unknown log level ${String(logLevel)}`);
  }
  return {
    capabilities,
    ...(isRecord(meta[META.clientInfo]) ? { info: meta[META.clientInfo] as Message } : {}),
    ...(typeof logLevel === 'string' ? { logLevel } : {}),
  };
}

/** The params as a 2025 server gets them: no envelope, no retry fields. */
function upstreamParams(params: unknown): Message {
  if (!isRecord(params)) return {};
  const { inputResponses: _responses, requestState: _state, _meta, ...rest } = params;
  const meta: Message = {};
  for (const [key, value] of Object.entries(isRecord(_meta) ? _meta : {})) {
    if (!key.startsWith('io.modelcontextprotocol/')) meta[key] = value;
  }
  return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
}

export function createModernFront(runtime: SupervisorRuntime, options: ModernFrontOptions) {
  const pool = new UpstreamPool(runtime, options.upstream, options.credentials);
  const codec = options.codec ?? createStateCodec();
  const retryTimeoutMs = options.retryTimeoutMs ?? 5 * 60_000;

  const jsonAnswer = (res: ServerResponse, status: number, message: unknown) => {
    const body = JSON.stringify(message);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, message: unknown): Promise<void> {
    if (!isRecord(message)) {
      return jsonAnswer(res, 400, errorResponse(null, -32600, 'Invalid Request: batches are not part of 2026-07-28'));
    }
    const id = message.id;
    if (!('id' in message)) {
      // "Notification POST: 202 … if accepted"; none has a meaning over HTTP in 2026-07-28.
      res.writeHead(202).end();
      return;
    }
    let envelope: ReturnType<typeof checkRequest>;
    try {
      envelope = checkRequest(req, message);
    } catch (error) {
      if (!(error instanceof LadderError)) throw error;
      return jsonAnswer(res, error.status, errorResponse(id, error.code, error.message, error.data));
    }
    const method = String(message.method);
    const forward = forwardedFrom(req, options.credentials);
    const request: PoolRequest = {
      credentialId: forward.credential?.id ?? '',
      headers: forward.headers,
      clientCapabilities: envelope.capabilities,
      clientInfo: envelope.info,
    };
    if (method !== 'server/discover' && method !== 'subscriptions/listen' && !CALLS.has(method)) {
      return jsonAnswer(res, 404, errorResponse(id, -32601, `Method not found: ${method}`));
    }
    const session = pool.sessionFor(request);
    let initialized: Message;
    try {
      initialized = await session.ready;
    } catch (error) {
      return jsonAnswer(
        res,
        502,
        errorResponse(id, -32603, `The upstream could not be reached: ${(error as Error).message}`),
      );
    }
    const serverInfo = isRecord(initialized.serverInfo) ? initialized.serverInfo : undefined;
    const withServerInfo = (result: Message): Message => ({
      ...result,
      _meta: {
        ...(isRecord(result._meta) ? result._meta : {}),
        ...(serverInfo ? { [META.serverInfo]: serverInfo } : {}),
      },
    });
    if (method === 'server/discover') {
      return jsonAnswer(res, 200, {
        jsonrpc: '2.0',
        id,
        result: withServerInfo({
          resultType: 'complete',
          // The endpoint serves both eras: an initialize opens a session as before.
          supportedVersions: [MODERN_VERSION, ...SESSION_ERA_VERSIONS],
          capabilities: isRecord(initialized.capabilities) ? initialized.capabilities : {},
          ...(typeof initialized.instructions === 'string' ? { instructions: initialized.instructions } : {}),
          // Per credential and capabilities: never shared beyond that authorization context.
          ttlMs: 0,
          cacheScope: 'private',
        }),
      });
    }
    if (method === 'subscriptions/listen') return listen(session, initialized, message, res);
    return call(session, message, method, envelope, res, request.credentialId, withServerInfo);
  }

  function call(
    session: PooledSession,
    message: Message,
    method: string,
    envelope: ReturnType<typeof checkRequest>,
    res: ServerResponse,
    credential: string,
    withServerInfo: (result: Message) => Message,
  ): void {
    const answer = new ModernAnswer(res, options.keepAliveMs);
    const params = isRecord(message.params) ? message.params : {};
    const progressToken = isRecord(params._meta) ? params._meta.progressToken : undefined;
    const minLevel = envelope.logLevel === undefined ? Number.POSITIVE_INFINITY : LOG_LEVELS.indexOf(envelope.logLevel);
    const refuse = (text: string) =>
      answer.finish(errorResponse(message.id, -32602, text, { reason: 'invalid_request_state' }));

    let actor: ReturnType<typeof createActor<typeof pendingCallMachine>>;
    let upstreamId: string;
    if ('requestState' in params) {
      const verified = codec.verify(params.requestState, { method, credential });
      const pending = verified.ok ? session.calls.get(verified.state.call as string) : undefined;
      if (!verified.ok || pending === undefined || verified.state.pool !== session.key) {
        refuse('Invalid or expired requestState');
        return;
      }
      // A state answers one round: an older one is a replay.
      if (
        verified.state.round !== pending.actor.getSnapshot().context.round ||
        !pending.actor.getSnapshot().matches('parked')
      ) {
        refuse('Invalid or expired requestState: that round was answered already');
        return;
      }
      actor = pending.actor;
      upstreamId = String(verified.state.call);
    } else {
      upstreamId = session.mintId();
      actor = createActor(pendingCallMachine, {
        input: {
          upstreamId,
          clientId: message.id as string | number,
          clientCapabilities: envelope.capabilities,
          retryTimeoutMs,
          ...(isRecord(params.inputResponses) ? { prefilled: params.inputResponses } : {}),
        },
      });
    }

    const stops: Array<() => void> = [];
    const detach = () => {
      for (const stop of stops.splice(0)) stop();
    };
    answer.onGone = () => {
      detach();
      actor.send({ type: 'client.gone' });
    };
    stops.push(
      actor.on('call.send', ({ message: out, final }) => {
        if (final) {
          detach();
          const result = isRecord(out.result) ? out.result : undefined;
          // "-32002 (resource not found) became -32602" (2026-07-28 changelog, SEP-2164).
          if (isRecord(out.error) && out.error.code === -32002) {
            return answer.finish({ ...out, error: { ...out.error, code: -32602 } });
          }
          // -32021 is one of the ladder's: "HTTP 400" (when nothing of the answer has gone yet).
          if (isRecord(out.error) && out.error.code === -32021) return answer.finish(out, 400);
          const shaped = result
            ? {
                ...out,
                result: withServerInfo(CACHEABLE.has(method) ? { ttlMs: 0, cacheScope: 'private', ...result } : result),
              }
            : out;
          return answer.finish(shaped);
        }
        if (out.method === 'notifications/message') {
          const level = isRecord(out.params) ? LOG_LEVELS.indexOf(String(out.params.level)) : -1;
          // "If it is absent, the server MUST NOT emit notifications/message for that request."
          if (level < minLevel) return;
        }
        if (out.method === 'notifications/progress' && progressToken === undefined) return;
        answer.send(out);
      }).unsubscribe,
      actor.on('call.inputRequired', ({ clientId, inputRequests, round }) => {
        detach();
        const requestState = codec.mint({
          pool: session.key,
          call: upstreamId,
          round,
          method,
          credential,
          expires: Date.now() + retryTimeoutMs,
        });
        answer.finish({
          jsonrpc: '2.0',
          id: clientId,
          result: { resultType: 'input_required', inputRequests, requestState },
        });
      }).unsubscribe,
    );

    if ('requestState' in params) {
      const responses = isRecord(params.inputResponses) ? params.inputResponses : {};
      actor.send({ type: 'client.retry', clientId: message.id as string | number, inputResponses: responses });
      return;
    }
    actor.on('call.upstream', ({ message: out }) => {
      void session.send(out).catch(() => {});
    });
    actor.start();
    void session
      .startCall(upstreamId, actor, {
        jsonrpc: '2.0',
        id: upstreamId,
        method,
        params: upstreamParams(params),
      } as JsonRpcMessage)
      .catch((error: unknown) => actor.send({ type: 'upstream.ended', detail: (error as Error).message }));
  }

  function listen(session: PooledSession, initialized: Message, message: Message, res: ServerResponse): void {
    const answer = new ModernAnswer(res, options.keepAliveMs);
    const capabilities = isRecord(initialized.capabilities) ? initialized.capabilities : {};
    const has = (name: string, flag: string) => isRecord(capabilities[name]) && capabilities[name][flag] === true;
    const params = isRecord(message.params) ? message.params : {};
    const asked = isRecord(params.notifications) ? params.notifications : {};
    // The subset the server can honour ("MUST NOT send a type that was not requested").
    const honoured: Message = {};
    if (asked.toolsListChanged === true && has('tools', 'listChanged')) honoured.toolsListChanged = true;
    if (asked.promptsListChanged === true && has('prompts', 'listChanged')) honoured.promptsListChanged = true;
    if (asked.resourcesListChanged === true && has('resources', 'listChanged')) honoured.resourcesListChanged = true;
    const uris =
      Array.isArray(asked.resourceSubscriptions) && has('resources', 'subscribe')
        ? asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
        : [];
    if (uris.length > 0) honoured.resourceSubscriptions = uris;
    const tag = (params_: unknown): Message => ({
      ...(isRecord(params_) ? params_ : {}),
      _meta: {
        ...(isRecord(params_) && isRecord(params_._meta) ? params_._meta : {}),
        [META.subscriptionId]: message.id,
      },
    });
    answer.startStream();
    // "The first message carrying the subscription id MUST be the acknowledgement."
    answer.send({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { ...tag({}), notifications: honoured },
    });
    for (const uri of uris) void session.ask('resources/subscribe', { uri }).catch(() => undefined);
    const wanted: Record<string, boolean> = {
      'notifications/tools/list_changed': honoured.toolsListChanged === true,
      'notifications/prompts/list_changed': honoured.promptsListChanged === true,
      'notifications/resources/list_changed': honoured.resourcesListChanged === true,
    };
    const listener = (note: Message) => {
      const method = String(note.method);
      const updated =
        method === 'notifications/resources/updated' && isRecord(note.params) && uris.includes(String(note.params.uri));
      if (wanted[method] || updated) answer.send({ jsonrpc: '2.0', method, params: tag(note.params) });
    };
    session.listeners.add(listener);
    const stop = () => session.listeners.delete(listener);
    // A graceful close when the pooled session ends: the listen's result, then the end.
    const closed = () => {
      stop();
      answer.finish({
        jsonrpc: '2.0',
        id: message.id,
        result: { resultType: 'complete', _meta: { [META.subscriptionId]: message.id } },
      });
    };
    session.closeListeners.add(closed);
    answer.onGone = () => {
      stop();
      session.closeListeners.delete(closed);
    };
  }

  return { handle };
}

export type ModernFront = ReturnType<typeof createModernFront>;
