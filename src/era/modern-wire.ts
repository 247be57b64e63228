/**
 * What changes on the wire between a 2025 client and a 2026-07-28 upstream: the headers and
 * envelope every upstream request carries, the `initialize` answer the proxy gives from the
 * upstream's `server/discover`, and the result fields a 2025 client must not see.
 */

import { META, MODERN_VERSION, SESSION_ERA_VERSIONS } from '../../machines/era-rules.js';
import { isRecord } from '../../machines/jsonrpc.js';
import type { SessionBridge } from './session-bridge.js';
import { encodeHeaderValue, paramHeaders } from './tool-headers.js';

export type Message = Record<string, unknown>;

/** The methods whose name or URI goes in `Mcp-Name`, and which param it is. */
export const NAMED_PARAM: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'resources/read': 'uri',
  'prompts/get': 'name',
};
/** Session-era headers a modern upstream has no use for. */
const SESSION_HEADERS = ['mcp-session-id', 'last-event-id'];

/** The request with the client's envelope merged into its `_meta` (the client's own `_meta` keys kept). */
export function withEnvelope(message: Message, bridge: SessionBridge): Message {
  const params = isRecord(message.params) ? message.params : {};
  const meta = isRecord(params._meta) ? params._meta : {};
  return { ...message, params: { ...params, _meta: { ...meta, ...bridge.envelope() } } };
}

/**
 * "MCP-Protocol-Version ... MUST" on every POST, `Mcp-Method` on all requests, `Mcp-Name` on
 * tools/call, resources/read and prompts/get, and "Clients MUST mirror" `x-mcp-header`
 * properties as `Mcp-Param-*` (2026-07-28 streamable-http, Request Metadata).
 */
export function modernHeaders(base: Readonly<Record<string, string>>, message: Message, bridge: SessionBridge) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (!SESSION_HEADERS.includes(name) && !name.startsWith('mcp-param-')) headers[name] = value;
  }
  const method = String(message.method);
  const params = isRecord(message.params) ? message.params : {};
  headers['content-type'] = 'application/json';
  headers.accept = 'application/json, text/event-stream';
  headers['mcp-protocol-version'] = MODERN_VERSION;
  headers['mcp-method'] = method;
  const named = NAMED_PARAM[method];
  const name = named ? params[named] : undefined;
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  if (method === 'tools/call' && typeof name === 'string') {
    Object.assign(headers, paramHeaders(bridge.headerDeclarations(name), params.arguments));
  }
  return headers;
}

/** The version a 2025 client gets: its own when it is one the proxy serves, else the newest. */
export function negotiatedVersion(requested: unknown): string {
  return typeof requested === 'string' && (SESSION_ERA_VERSIONS as readonly string[]).includes(requested)
    ? requested
    : SESSION_ERA_VERSIONS[0];
}

/**
 * The `initialize` answer, from `server/discover`: its capabilities and instructions, and its
 * `serverInfo` (in the result's `_meta` since 2026-07-28; required in 2025).
 */
export function initializeResult(request: Message, discover: Record<string, unknown>): Message {
  const params = isRecord(request.params) ? request.params : {};
  const meta = isRecord(discover._meta) ? discover._meta : {};
  // Early 2026-07-28 servers still put it in the body.
  const info = isRecord(meta[META.serverInfo])
    ? meta[META.serverInfo]
    : isRecord(discover.serverInfo)
      ? discover.serverInfo
      : { name: 'mcp-shepherd (2026-07-28 upstream)', version: '0' };
  return {
    jsonrpc: '2.0',
    id: request.id,
    result: {
      protocolVersion: negotiatedVersion(params.protocolVersion),
      capabilities: isRecord(discover.capabilities) ? discover.capabilities : {},
      serverInfo: info,
      ...(typeof discover.instructions === 'string' ? { instructions: discover.instructions } : {}),
    },
  };
}

/** Result fields of 2026-07-28 that mean nothing to a 2025 client (`resultType`, the caching hints). */
const MODERN_RESULT_FIELDS = ['resultType', 'ttlMs', 'cacheScope'];

/** A response as a 2025 client gets it. */
export function forSessionClient(message: Message): Message {
  const { result } = message;
  if (!isRecord(result) || !MODERN_RESULT_FIELDS.some((field) => field in result)) return message;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) if (!MODERN_RESULT_FIELDS.includes(key)) kept[key] = value;
  return { ...message, result: kept };
}

/** A listen notification without its `subscriptionId` (the GET stream has one subscription). */
export function withoutSubscriptionId(message: Message): Message {
  const params = isRecord(message.params) ? message.params : undefined;
  const meta = params && isRecord(params._meta) ? params._meta : undefined;
  if (!params || !meta || !(META.subscriptionId in meta)) return message;
  const { [META.subscriptionId]: _id, ...rest } = meta;
  const { _meta: _old, ...others } = params;
  return { ...message, params: Object.keys(rest).length > 0 ? { ...others, _meta: rest } : others };
}

export { errorResponse as jsonRpcError } from '../../machines/jsonrpc.js';

/** A JSON-RPC error in a non-2xx body (the SDK's ladder errors: -32020, -32021, -32022, -32601). */
export function errorInBody(snippet: string | undefined): Message | undefined {
  if (!snippet) return undefined;
  try {
    const parsed = JSON.parse(snippet) as unknown;
    return isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.code === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
