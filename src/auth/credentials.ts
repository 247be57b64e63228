/**
 * What crosses the proxy from a client request to the upstream: the headers named by
 * `--forward-header` (by default the client's `Authorization` and the W3C trace context),
 * and the credential among them with an id by which a session remembers that its upstream
 * accepted it. The id is a keyed hash: the credential itself is never stored for it, logged
 * or shown.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Forwarded } from '../../machines/session.types.js';

/** Forwarded by default: the credential, and the trace context of the request. */
export const DEFAULT_FORWARD_HEADERS = ['authorization', 'traceparent', 'tracestate', 'baggage'] as const;

/** Headers that belong to one request, not to the client: never reused for the proxy's own requests. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate', 'baggage']);

export interface CredentialPolicy {
  /** Lowercase header names forwarded upstream from every client request. */
  forwardHeaders: readonly string[];
  /** The key of the keyed hash naming credentials. */
  key: Buffer;
}

export function credentialPolicy(options: { forwardHeaders?: readonly string[]; key?: string | Buffer } = {}) {
  return {
    forwardHeaders: (options.forwardHeaders ?? DEFAULT_FORWARD_HEADERS).map((name) => name.toLowerCase()),
    // A random key per process: ids are only compared within it. Replicas sharing sessions
    // must share the key.
    key: typeof options.key === 'string' ? Buffer.from(options.key) : (options.key ?? randomBytes(32)),
  } satisfies CredentialPolicy;
}

/** A keyed hash of a credential (a set of header values): equal credentials, equal ids. */
export function credentialId(policy: CredentialPolicy, headers: Readonly<Record<string, string>>): string {
  const canonical = Object.keys(headers)
    .sort()
    .map((name) => `${name}:${headers[name]}`)
    .join('\n');
  return createHmac('sha256', policy.key).update(canonical).digest('base64url').slice(0, 32);
}

/** The headers of a client request that go upstream with what it causes. */
export function forwardedFrom(req: IncomingMessage, policy: CredentialPolicy): Forwarded {
  return forwardedFromHeaders(req.headers, policy);
}

/** The same from a header record (lowercase names): an in-process client's request headers. */
export function forwardedFromHeaders(
  given: Readonly<Record<string, string | readonly string[] | undefined>>,
  policy: CredentialPolicy,
): Forwarded {
  const headers: Record<string, string> = {};
  for (const name of policy.forwardHeaders) {
    const value = given[name];
    const text = Array.isArray(value) ? value.join(', ') : (value as string | undefined);
    if (text !== undefined && text !== '') headers[name] = text;
  }
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!TRACE_HEADERS.has(name)) secret[name] = value;
  const credential = Object.keys(secret).length > 0 ? { id: credentialId(policy, secret), headers: secret } : undefined;
  return { headers, ...(credential ? { credential } : {}) };
}

/** The bearer token of a forwarded credential, if it is one. */
export function bearerOf(forward: Forwarded): string | undefined {
  const value = forward.credential?.headers.authorization;
  return value === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1];
}
