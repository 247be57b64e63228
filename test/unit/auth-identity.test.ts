import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerOf, credentialId, credentialPolicy, forwardedFrom } from '../../src/auth/credentials.js';
import { ANONYMOUS, IdentityResolver, jwtSubject } from '../../src/auth/identity.js';

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256' }) =>
  `${part(header)}.${part(claims)}.c2lnbmF0dXJl`;

const request = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;

describe('forwarded headers and credential ids', () => {
  const policy = credentialPolicy({ key: 'k' });

  it('forwards the named headers; the credential is all but the trace context', () => {
    const forward = forwardedFrom(
      request({ authorization: 'Bearer abc', traceparent: '00-1-2-01', cookie: 'x=1', 'x-api-key': 'no' }),
      policy,
    );
    expect(forward.headers).toEqual({ authorization: 'Bearer abc', traceparent: '00-1-2-01' });
    expect(forward.credential?.headers).toEqual({ authorization: 'Bearer abc' });
    expect(forward.credential?.id).toBe(credentialId(policy, { authorization: 'Bearer abc' }));
    expect(bearerOf(forward)).toBe('abc');
  });

  it('has no credential for a request with only trace context, or none of the headers', () => {
    expect(forwardedFrom(request({ traceparent: '00-1-2-01' }), policy).credential).toBeUndefined();
    expect(forwardedFrom(request({}), policy)).toEqual({ headers: {} });
  });

  it('forwards the headers the operator names instead, case-insensitively', () => {
    const custom = credentialPolicy({ forwardHeaders: ['X-Api-Key'], key: 'k' });
    const forward = forwardedFrom(request({ authorization: 'Bearer abc', 'x-api-key': 'secret' }), custom);
    expect(forward.headers).toEqual({ 'x-api-key': 'secret' });
    expect(bearerOf(forward)).toBeUndefined();
  });

  it('names a credential by a keyed hash: stable for a key and header order, different across keys, never the secret', () => {
    const a = credentialId(policy, { authorization: 'Bearer abc', 'x-api-key': 'z' });
    expect(credentialId(policy, { 'x-api-key': 'z', authorization: 'Bearer abc' })).toBe(a);
    expect(
      credentialId(credentialPolicy({ key: 'other' }), { authorization: 'Bearer abc', 'x-api-key': 'z' }),
    ).not.toBe(a);
    expect(credentialId(policy, { authorization: 'Bearer abd', 'x-api-key': 'z' })).not.toBe(a);
    expect(a).not.toContain('abc');
  });
});

describe('identity of a request', () => {
  const policy = credentialPolicy({ key: 'k' });
  const forward = (authorization?: string) =>
    forwardedFrom(request(authorization === undefined ? {} : { authorization }), policy);
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("reads a JWT's issuer and subject, and refuses what is not a JWT naming both", () => {
    expect(jwtSubject(jwt({ iss: 'https://as', sub: 'alice' }))).toEqual({ iss: 'https://as', sub: 'alice' });
    expect(jwtSubject(jwt({ sub: 'alice' }))).toBeUndefined();
    expect(jwtSubject(jwt({ iss: 'https://as', sub: '' }))).toBeUndefined();
    expect(jwtSubject(jwt({ iss: 'https://as', sub: 'alice' }, { typ: 'JWT' }))).toBeUndefined();
    expect(jwtSubject('opaque-token')).toBeUndefined();
    expect(jwtSubject('a.b.c')).toBeUndefined();
  });

  it('is the JWT subject (a refreshed token keeps it), else the keyed hash, else anonymous', async () => {
    const identities = new IdentityResolver();
    const first = await identities.identityOf(forward(`Bearer ${jwt({ iss: 'https://as', sub: 'alice', jti: '1' })}`));
    const refreshed = await identities.identityOf(
      forward(`Bearer ${jwt({ iss: 'https://as', sub: 'alice', jti: '2' })}`),
    );
    expect(first).toBe('jwt:https://as alice');
    expect(refreshed).toBe(first);
    expect(await identities.identityOf(forward(`Bearer ${jwt({ iss: 'https://other', sub: 'alice' })}`))).not.toBe(
      first,
    );
    const opaque = await identities.identityOf(forward('Bearer opaque-1'));
    expect(opaque).toBe(`key:${forward('Bearer opaque-1').credential?.id}`);
    expect(await identities.identityOf(forward('Bearer opaque-2'))).not.toBe(opaque);
    expect(await identities.identityOf(forward())).toBe(ANONYMOUS);
  });

  it('asks an RFC 7662 endpoint whose an opaque token is, with client credentials, and caches the answer', async () => {
    const seen: { authorization: string | undefined; body: string }[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        const token = new URLSearchParams(body).get('token');
        const answer =
          token === 'opaque-alice' || token === 'opaque-alice-2'
            ? { active: true, sub: 'alice', iss: 'https://as' }
            : { active: false };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
    const identities = new IdentityResolver({ url, clientId: 'proxy', clientSecret: 's3cret' });

    const alice = await identities.identityOf(forward('Bearer opaque-alice'));
    expect(alice).toBe('introspected:https://as alice');
    // Another token of the same subject is the same identity: an opaque token's refresh keeps the session.
    expect(await identities.identityOf(forward('Bearer opaque-alice-2'))).toBe(alice);
    expect(await identities.identityOf(forward('Bearer opaque-alice'))).toBe(alice);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('proxy:s3cret').toString('base64')}`);
    expect(new URLSearchParams(seen[0]?.body).get('token_type_hint')).toBe('access_token');
    // An inactive token falls back to its keyed hash: it is still nobody else's.
    const inactive = forward('Bearer revoked');
    expect(await identities.identityOf(inactive)).toBe(`key:${inactive.credential?.id}`);
  });
});
