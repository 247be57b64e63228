/**
 * Which protocol era an upstream speaks, from what it answered a `server/discover` probe.
 *
 * "Dual-era clients over HTTP: send a modern request first. If the server responds with HTTP
 * 400 and a recognised modern error (-32022, -32021 or -32020) stay modern; if the body is
 * empty or unrecognised, fall back to `initialize`" (2026-07-28 streamable-http, Backward
 * Compatibility); a 404, 405 or a timeout is a legacy server too. A 401 or 403 is an
 * authorization answer, never era evidence.
 */

import { isRecord } from './jsonrpc.js';

/**
 * The session-era revisions the proxy speaks (Streamable HTTP appeared in 2025-03-26),
 * newest first: what it negotiates with 2025 clients and lists beside 2026-07-28.
 */
export const SESSION_ERA_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export const MODERN_VERSION = '2026-07-28';

/** The `_meta` keys of 2026-07-28 (basic/index, _meta). */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** "Every request MUST include" the version and the capabilities; info and log level when known. */
export function envelopeOf(client: {
  capabilities?: Record<string, unknown> | undefined;
  info?: Record<string, unknown> | undefined;
  logLevel?: string | undefined;
}): Record<string, unknown> {
  return {
    [META.protocolVersion]: MODERN_VERSION,
    [META.clientCapabilities]: client.capabilities ?? {},
    ...(client.info ? { [META.clientInfo]: client.info } : {}),
    ...(client.logLevel ? { [META.logLevel]: client.logLevel } : {}),
  };
}

/** Which client capability a request for input needs (2026-07-28 `InputRequest` methods). */
export const INPUT_CAPABILITY: Readonly<Record<string, string>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

/** The error codes only a modern server answers with (2026-07-28 basic/index, Error Codes). */
export const MODERN_ERROR_CODES = {
  headerMismatch: -32020,
  missingClientCapability: -32021,
  unsupportedVersion: -32022,
} as const;

/** What a probe's HTTP exchange came to, as src/ reports it to the era machine. */
export type ProbeAnswer =
  | { kind: 'http'; status: number; body: unknown }
  | { kind: 'timeout' }
  | { kind: 'network'; detail: string };

export type ProbeVerdict =
  /** A DiscoverResult that lists this revision: the upstream is modern. */
  | { kind: 'modern'; discover: Record<string, unknown>; ttlMs: number }
  /** A modern server that refused the probe (another revision, a capability): nothing to cache. */
  | { kind: 'modern-refusal'; error: { code: number; message: string; data?: unknown } }
  /** The credential was refused: the session's own initialize goes on and gets the same answer. */
  | { kind: 'unauthorized'; status: number }
  | { kind: 'legacy'; detail: string };

const MODERN_CODES = new Set<number>(Object.values(MODERN_ERROR_CODES));

export function judgeProbe(answer: ProbeAnswer): ProbeVerdict {
  if (answer.kind === 'timeout') return { kind: 'legacy', detail: 'server/discover timed out' };
  if (answer.kind === 'network') return { kind: 'legacy', detail: `server/discover failed: ${answer.detail}` };
  const { status, body } = answer;
  if (status === 401 || status === 403) return { kind: 'unauthorized', status };
  const result = isRecord(body) && isRecord(body.result) ? body.result : undefined;
  if (status >= 200 && status < 300 && result !== undefined) {
    const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions : [];
    if (versions.includes(MODERN_VERSION) && isRecord(result.capabilities)) {
      const ttl = typeof result.ttlMs === 'number' && result.ttlMs > 0 ? result.ttlMs : 0;
      return { kind: 'modern', discover: result, ttlMs: ttl };
    }
    return { kind: 'legacy', detail: `server/discover answered without ${MODERN_VERSION} among its versions` };
  }
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (error !== undefined && typeof error.code === 'number' && MODERN_CODES.has(error.code)) {
    return {
      kind: 'modern-refusal',
      error: {
        code: error.code,
        message: String(error.message ?? ''),
        ...('data' in error ? { data: error.data } : {}),
      },
    };
  }
  return { kind: 'legacy', detail: `server/discover answered HTTP ${status}` };
}
