/** What the proxy checks of MCP's Streamable HTTP transport before anything goes upstream. */
import type { RequestId } from '../../machines/connection.types.js';
import { SESSION_ERA_VERSIONS } from '../../machines/era-rules.js';
import { messageProblem } from '../../machines/jsonrpc.js';
import { JSONRPC_INVALID_REQUEST, JSONRPC_PARSE_ERROR, ProtocolViolationError } from '../errors.js';

/** Session-era revisions this proxy speaks (machines/era-rules.ts). */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = SESSION_ERA_VERSIONS;

/**
 * "If the server does not receive an MCP-Protocol-Version header, and has no other way to
 * identify the version ... the server SHOULD assume protocol version 2025-03-26."
 */
export const DEFAULT_ASSUMED_VERSION = '2025-03-26';

export const isSupportedVersion = (version: string) =>
  (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version);

/** Batches were removed in 2025-06-18; 2025-03-26 allows them. */
export const allowsBatches = (version: string) => version === '2025-03-26';

/** Priming events and server-initiated stream closes (SEP-1699) arrived in 2025-11-25. */
export const supportsPriming = (version: string | undefined) => version !== undefined && version >= '2025-11-25';

/**
 * What to do with a request whose MCP-Protocol-Version is supported but is not the one its
 * session negotiated. The spec: "The protocol version sent by the client SHOULD be the one
 * negotiated during initialization" (a SHOULD: the official conformance suite itself sends
 * 2025-03-26 on 2025-11-25 sessions). Either way every per-version rule (batches, priming)
 * follows the negotiated version, so a header cannot switch a rule off.
 */
export type VersionMismatchPolicy = 'negotiated' | 'reject';

/**
 * Why a request's MCP-Protocol-Version header is refused, or undefined. "If the server
 * receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST respond
 * with 400 Bad Request."
 */
export function versionHeaderProblem(
  header: string | undefined,
  negotiated: string | undefined,
  policy: VersionMismatchPolicy,
): ProtocolViolationError | undefined {
  if (header === undefined) return undefined;
  if (!isSupportedVersion(header)) {
    return new ProtocolViolationError(
      'SHEPHERD_UNSUPPORTED_PROTOCOL_VERSION',
      `Bad Request: unsupported MCP-Protocol-Version ${header}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.`,
    );
  }
  if (policy === 'reject' && negotiated !== undefined && header !== negotiated) {
    return new ProtocolViolationError(
      'SHEPHERD_PROTOCOL_VERSION_MISMATCH',
      `Bad Request: MCP-Protocol-Version ${header} is not the version this session negotiated (${negotiated}); send ${negotiated}.`,
    );
  }
  return undefined;
}

/** The version a request is judged by: the session's negotiated one; before it, the header's. */
export const effectiveVersion = (negotiated: string | undefined, header: string | undefined) =>
  negotiated ?? header ?? DEFAULT_ASSUMED_VERSION;

export interface ParsedBody {
  messages: Record<string, unknown>[];
  isBatch: boolean;
  /** ids of the requests (messages with a method and an id) */
  requestIds: RequestId[];
  initialize: { requestId: RequestId; protocolVersion: string | undefined } | undefined;
  /** True when the body is only `notifications/initialized`. */
  isInitializedNotification: boolean;
}

export type ParseResult = { ok: true; body: ParsedBody } | { ok: false; error: ProtocolViolationError };

const invalid = (message: string): ParseResult => ({
  ok: false,
  error: new ProtocolViolationError(
    'SHEPHERD_INVALID_REQUEST',
    `Invalid Request: ${message}`,
    400,
    JSONRPC_INVALID_REQUEST,
  ),
});

const isRequestId = (id: unknown): id is RequestId => typeof id === 'string' || typeof id === 'number';

/** Validates a POST body as one JSON-RPC 2.0 message or a batch of them. */
export function parseBody(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = `Parse error: ${(error as Error).message}`;
    return { ok: false, error: new ProtocolViolationError('SHEPHERD_PARSE_ERROR', message, 400, JSONRPC_PARSE_ERROR) };
  }
  const isBatch = Array.isArray(value);
  const list = isBatch ? (value as unknown[]) : [value];
  if (list.length === 0) return invalid('empty batch');
  const messages: Record<string, unknown>[] = [];
  const requestIds: RequestId[] = [];
  let initialize: ParsedBody['initialize'];
  for (const item of list) {
    const problem = messageProblem(item);
    if (problem !== undefined) return invalid(problem);
    const message = item as Record<string, unknown>;
    if (typeof message.method === 'string' && isRequestId(message.id)) {
      requestIds.push(message.id);
      if (message.method === 'initialize') {
        const version = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
        initialize = { requestId: message.id, protocolVersion: typeof version === 'string' ? version : undefined };
      }
    }
    messages.push(message);
  }
  if (initialize && list.length > 1) {
    // 2025-03-26: "The initialize request MUST NOT be part of a JSON-RPC batch".
    return invalid('initialize must not be part of a batch');
  }
  const isInitializedNotification =
    messages.length === 1 && messages[0]?.method === 'notifications/initialized' && !('id' in (messages[0] ?? {}));
  return { ok: true, body: { messages, isBatch, requestIds, initialize, isInitializedNotification } };
}
