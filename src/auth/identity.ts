/**
 * Who a request is, for binding a session to the identity that created it. A bearer token
 * that is a JWT names its issuer and subject (read, not verified: the upstream verifies it;
 * a session is bound once the upstream accepted the token that created it, and a resume is
 * served from the proxy's log only for a credential the upstream accepted). Any other
 * credential is its keyed hash, unless an RFC 7662 introspection endpoint says whose it is.
 * No credential at all is the anonymous identity.
 */
import { request } from 'undici';
import type { Forwarded } from '../../machines/session.types.js';
import { bearerOf } from './credentials.js';

export const ANONYMOUS = 'anonymous';

export interface IntrospectionOptions {
  /** The RFC 7662 token introspection endpoint. */
  url: string;
  /** Client credentials the endpoint wants (HTTP Basic), if any. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** How long an answer is kept when the token says no expiry. Default 60 s. */
  cacheMs?: number;
}

function jsonPart(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The issuer and subject a JWT claims, when the token is a JWT that names both. */
export function jwtSubject(token: string): { iss: string; sub: string } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = jsonPart(parts[0]);
  const claims = jsonPart(parts[1]);
  if (header === undefined || typeof header.alg !== 'string' || claims === undefined) return undefined;
  const { iss, sub } = claims;
  return typeof iss === 'string' && typeof sub === 'string' && sub !== '' ? { iss, sub } : undefined;
}

export class IdentityResolver {
  private readonly cache = new Map<string, { identity: string; until: number }>();

  constructor(
    private readonly introspection?: IntrospectionOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async identityOf(forward: Forwarded): Promise<string> {
    const credential = forward.credential;
    if (credential === undefined) return ANONYMOUS;
    const token = bearerOf(forward);
    const claimed = token === undefined ? undefined : jwtSubject(token);
    if (claimed) return `jwt:${claimed.iss} ${claimed.sub}`;
    if (token !== undefined && this.introspection) {
      const introspected = await this.introspect(token, credential.id);
      if (introspected !== undefined) return introspected;
    }
    return `key:${credential.id}`;
  }

  /** RFC 7662: POST the token; an active one's `sub` (and `iss`) is who it is. Cached by credential id. */
  private async introspect(token: string, id: string): Promise<string | undefined> {
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now()) return cached.identity;
    const options = this.introspection as IntrospectionOptions;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (options.clientId !== undefined) {
      const basic = Buffer.from(`${options.clientId}:${options.clientSecret ?? ''}`).toString('base64');
      headers.authorization = `Basic ${basic}`;
    }
    try {
      const response = await request(options.url, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      const answer = (await response.body.json()) as { active?: unknown; sub?: unknown; iss?: unknown; exp?: unknown };
      if (response.statusCode !== 200 || answer.active !== true || typeof answer.sub !== 'string') return undefined;
      const identity = `introspected:${typeof answer.iss === 'string' ? answer.iss : options.url} ${answer.sub}`;
      const expires = typeof answer.exp === 'number' ? answer.exp * 1000 : Number.POSITIVE_INFINITY;
      this.cache.set(id, { identity, until: Math.min(expires, this.now() + (options.cacheMs ?? 60_000)) });
      if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
      return identity;
    } catch {
      return undefined;
    }
  }
}
