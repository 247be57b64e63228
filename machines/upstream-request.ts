/**
 * What a session's upstream requests carry: the headers that name the upstream session, and
 * the input of the connection child for one stream. Shared by the session and the
 * re-initialization it runs, so both build requests the same way.
 */
import type { ConnectionInput, ConnectionOptionsInput, RequestId } from './connection.types.js';
import type { UpstreamTarget } from './session.types.js';

/** What the upstream told the proxy in its initialize answer. */
export interface UpstreamSession {
  upstreamSessionId: string | undefined;
  protocolVersion: string | undefined;
}

const lowercase = (headers: Readonly<Record<string, string>> | undefined) => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
};
/**
 * The operator's headers are one object for every request of the upstream: lowercased once.
 * A client's are new with each request (and Node gives them lowercased): never cached, since
 * a WeakMap entry per request is work for every garbage collection.
 */
const fixedOnce = new WeakMap<object, Readonly<Record<string, string>>>();
const fixedHeaders = (headers: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> => {
  if (headers === undefined) return {};
  let out = fixedOnce.get(headers);
  if (out === undefined) {
    out = lowercase(headers);
    fixedOnce.set(headers, out);
  }
  return out;
};

/**
 * Headers on every upstream request: the operator's static ones and those forwarded from the
 * client (its credential, trace context), the client's winning on a conflict unless the
 * operator says `staticHeadersWin`; then the ones naming the upstream session (2025-06-18+).
 */
export function upstreamHeaders(
  upstream: UpstreamTarget,
  session: UpstreamSession,
  method: 'GET' | 'POST' | 'DELETE',
  forwarded?: Readonly<Record<string, string>>,
): Record<string, string> {
  const fixed = fixedHeaders(upstream.headers);
  const client = lowercase(forwarded);
  const headers: Record<string, string> = upstream.staticHeadersWin ? { ...client, ...fixed } : { ...fixed, ...client };
  if (method === 'POST') headers['content-type'] = 'application/json';
  // "the client MUST include it in the Mcp-Session-Id header on all of its subsequent
  // HTTP requests"; "the client MUST include the MCP-Protocol-Version: <protocol-version>
  // HTTP header on all subsequent requests to the MCP server".
  if (session.upstreamSessionId !== undefined) headers['mcp-session-id'] = session.upstreamSessionId;
  if (session.protocolVersion !== undefined) headers['mcp-protocol-version'] = session.protocolVersion;
  return headers;
}

export interface StreamSpec {
  /** The connection's id, which its reports carry. */
  id: string;
  /** The client-facing session id. */
  sessionId: string;
  upstream: UpstreamTarget;
  upstreamSession: UpstreamSession;
  kind: 'get' | 'post';
  body?: string | undefined;
  pending?: readonly RequestId[];
  lastEventId?: string | undefined;
  options?: ConnectionOptionsInput | undefined;
  /** Headers from the client whose request this stream serves (or its latest accepted credential). */
  forwarded?: Readonly<Record<string, string>> | undefined;
}

/** The input of the connection child for one upstream stream. */
export function connectionInput(spec: StreamSpec): ConnectionInput {
  const method = spec.kind === 'get' ? 'GET' : 'POST';
  return {
    id: spec.id,
    session: spec.sessionId,
    url: spec.upstream.url,
    method,
    headers: upstreamHeaders(spec.upstream, spec.upstreamSession, method, spec.forwarded),
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.kind === 'post' ? { awaitResponses: spec.pending ?? [] } : {}),
    // A POST stream given an id resumes (a restored session's): its request went up before.
    ...(spec.lastEventId !== undefined ? { lastEventId: spec.lastEventId } : {}),
    ...(spec.options ? { options: spec.options } : {}),
  };
}
