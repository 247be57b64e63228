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

/** Headers on every upstream request after initialize (2025-06-18+ transports). */
export function upstreamHeaders(
  upstream: UpstreamTarget,
  session: UpstreamSession,
  method: 'GET' | 'POST' | 'DELETE',
): Record<string, string> {
  const headers: Record<string, string> = { ...upstream.headers };
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
}

/** The input of the connection child for one upstream stream. */
export function connectionInput(spec: StreamSpec): ConnectionInput {
  const method = spec.kind === 'get' ? 'GET' : 'POST';
  return {
    id: spec.id,
    session: spec.sessionId,
    url: spec.upstream.url,
    method,
    headers: upstreamHeaders(spec.upstream, spec.upstreamSession, method),
    ...(spec.body !== undefined ? { body: spec.body, awaitResponses: spec.pending ?? [] } : {}),
    ...(spec.kind === 'get' && spec.lastEventId !== undefined ? { lastEventId: spec.lastEventId } : {}),
    ...(spec.options ? { options: spec.options } : {}),
  };
}
