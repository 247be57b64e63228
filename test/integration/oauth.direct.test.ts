/**
 * The OAuth fixtures proved without the proxy: the SDK 1.x client, with the test client
 * provider, directly against the protected MCP server and its authorization server.
 * Discovery, registration, authorization (PKCE), token, refresh, audience, 401s, and the
 * property a through-the-proxy test relies on: this upstream does not bind sessions to users.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationServer } from '../support/oauth/authorization-server.js';
import { connectWithOAuth, TEST_REDIRECT_URL, TestOAuthClientProvider } from '../support/oauth/client-provider.js';
import { ProtectedServer, tokenFingerprint } from '../support/oauth/protected-server.js';
import { whoami, whoamiCall } from '../support/oauth/whoami.js';
import { initializeRequest, send } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

let as: AuthorizationServer;
let rs: ProtectedServer;

beforeEach(async () => {
  as = await AuthorizationServer.start();
  rs = await ProtectedServer.start({ authorizationServer: as });
});
afterEach(async () => {
  await rs.close();
  await as.close();
});

describe('OAuth fixtures: SDK client directly against the protected server', () => {
  it('answers a request without a token with 401 and WWW-Authenticate naming its resource metadata', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const response = await send(rs.url, method, method === 'POST' ? initializeRequest() : undefined);
      expect(response.status, method).toBe(401);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain('scope="mcp"');
      expect(challenge).toContain(`resource_metadata="${rs.resourceMetadataUrl}"`);
    }
    expect(rs.resourceMetadataUrl).toBe(`${rs.origin}/.well-known/oauth-protected-resource/mcp`);

    // RFC 9728 at the path-inserted and at the root well-known URI.
    for (const url of [rs.resourceMetadataUrl, `${rs.origin}/.well-known/oauth-protected-resource`]) {
      const metadata = await (await fetch(url)).json();
      expect(metadata).toMatchObject({
        resource: rs.url,
        authorization_servers: [as.issuer],
        scopes_supported: ['mcp'],
      });
    }
    // RFC 8414 at the issuer.
    const asMetadata = await (await fetch(as.metadataUrl)).json();
    expect(asMetadata).toMatchObject({
      issuer: as.issuer,
      authorization_endpoint: `${as.issuer}authorize`,
      token_endpoint: `${as.issuer}token`,
      registration_endpoint: `${as.issuer}register`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    });
    expect(rs.sessionIds).toEqual([]);
  });

  it('discovers, registers, authorizes with PKCE, gets a JWT for alice, and serves her tools', async () => {
    const provider = new TestOAuthClientProvider({ user: 'alice' });
    const { client, transport } = await connectWithOAuth(rs.url, provider);
    expect(await whoami(client)).toBe('user:alice');
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }]);
    const progress: number[] = [];
    await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3]);

    expect(as.counters).toEqual({
      registrations: 1,
      authorizations: 1,
      codeExchanges: 1,
      refreshes: 0,
      tokensIssued: 1,
      revocations: 0,
    });
    const [clientId] = [...as.clients.keys()];
    expect(as.clients.get(clientId ?? '')?.redirect_uris).toEqual([TEST_REDIRECT_URL]);
    const claims = as.decode(provider.accessToken);
    expect(claims).toMatchObject({ iss: as.issuer, sub: 'alice', aud: rs.url, scope: 'mcp', client_id: clientId });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(await as.verifyAccessToken(provider.accessToken)).toMatchObject({
      clientId,
      scopes: ['mcp'],
      resource: new URL(rs.url),
      extra: { sub: 'alice', jti: claims.jti },
    });

    // The authorization request carried PKCE S256, the resource (RFC 8707) and the user's hint.
    const authorization = provider.authorizations[0]?.url.searchParams;
    expect(authorization?.get('code_challenge_method')).toBe('S256');
    expect(authorization?.get('resource')).toBe(rs.url);
    expect(authorization?.get('login_hint')).toBe('alice');

    // What each server saw: metadata discovery via the WWW-Authenticate URL, then the OAuth endpoints.
    expect(rs.otherRequests).toEqual([{ method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' }]);
    expect(as.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'GET /.well-known/oauth-authorization-server',
      'POST /register',
      'GET /authorize',
      'POST /token',
    ]);
    // The first initialize had no token; every later request carried alice's, on her one session.
    const [first, ...rest] = rs.requests;
    expect(first).toMatchObject({ method: 'POST', token: undefined, accepted: false, rpc: ['initialize'] });
    expect(rest.length).toBeGreaterThan(0);
    for (const record of rest) {
      expect(record).toMatchObject({ token: tokenFingerprint(provider.accessToken), accepted: true, sub: 'alice' });
    }
    expect(rs.sessionIds).toEqual([transport.sessionId]);
    await client.close();
  });

  it('refreshes an expired token into a new JWT for the same subject, and the same session keeps working', async () => {
    const provider = new TestOAuthClientProvider({ user: 'alice' });
    const { client, transport } = await connectWithOAuth(rs.url, provider);
    const sessionId = transport.sessionId ?? '';
    const before = provider.accessToken;
    const firstRefreshToken = provider.tokens()?.refresh_token;
    // connect() resolves before the SDK's GET stream is open (it is not awaited); had that GET
    // met the expired token it would refresh too, concurrently with the call below.
    await waitFor(() => rs.requestsFor(sessionId).some((r) => r.method === 'GET' && r.accepted), 'the GET stream');

    as.expireAccessTokens();
    const refused = await send(rs.url, 'POST', whoamiCall(99), {
      authorization: `Bearer ${before}`,
      'mcp-session-id': sessionId,
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error_description="Token has expired"');

    // The SDK meets the 401, refreshes, and sends the call again on the same session.
    expect(await whoami(client)).toBe('user:alice');
    const after = provider.accessToken;
    expect(after).not.toBe(before);
    const [old, fresh] = [as.decode(before), as.decode(after)];
    expect(fresh.sub).toBe(old.sub);
    expect(fresh.jti).not.toBe(old.jti);
    expect(fresh.aud).toBe(rs.url);
    expect(as.issued.map(({ grant }) => grant)).toEqual(['authorization_code', 'refresh_token']);
    expect(as.counters).toMatchObject({ registrations: 1, authorizations: 1, refreshes: 1, tokensIssued: 2 });
    // The refresh token rotated (OAuth 2.1 §4.3.1, public client).
    expect(provider.tokens()?.refresh_token).toBeDefined();
    expect(provider.tokens()?.refresh_token).not.toBe(firstRefreshToken);

    expect(transport.sessionId).toBe(sessionId);
    expect(rs.sessionIds).toEqual([sessionId]);
    const calls = rs.requestsFor(sessionId).filter((record) => record.rpc.includes('tools/call'));
    expect(calls.map(({ token, accepted }) => [token, accepted])).toEqual([
      [tokenFingerprint(before), false], // the raw request above
      [tokenFingerprint(before), false], // the SDK's first try
      [tokenFingerprint(after), true], // after the refresh
    ]);
    await client.close();
  });

  it("accepts bob's token on alice's session: this upstream does not bind sessions to users", async () => {
    const aliceProvider = new TestOAuthClientProvider({ user: 'alice' });
    const alice = await connectWithOAuth(rs.url, aliceProvider);
    // Bob through the other knob (no login_hint: the AS's current user), as a confidential client.
    as.asUser('bob');
    const bobProvider = new TestOAuthClientProvider({ tokenEndpointAuthMethod: 'client_secret_post' });
    const bob = await connectWithOAuth(rs.url, bobProvider);
    expect(await whoami(bob.client)).toBe('user:bob');
    expect(as.decode(bobProvider.accessToken).sub).toBe('bob');
    expect(as.counters.registrations).toBe(2);
    expect(bobProvider.clientInformation()?.client_secret).toBeDefined();

    const aliceSession = alice.transport.sessionId ?? '';
    expect(aliceSession).not.toBe(bob.transport.sessionId);
    const crossed = await send(rs.url, 'POST', whoamiCall(7), {
      authorization: `Bearer ${bobProvider.accessToken}`,
      'mcp-session-id': aliceSession,
      'mcp-protocol-version': '2025-11-25',
    });
    expect(crossed.status).toBe(200);
    expect(crossed.messages).toEqual([
      { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'user:bob' }] } },
    ]);
    const bobOnAlice = rs.requestsFor(aliceSession).filter((record) => record.sub === 'bob');
    expect(bobOnAlice).toMatchObject([{ method: 'POST', rpc: ['tools/call'], accepted: true }]);
    // And alice's own client is unaffected.
    expect(await whoami(alice.client)).toBe('user:alice');
    await alice.client.close();
    await bob.client.close();
  });

  it('refuses tokens for another audience, expired by exp, or not signed by the AS', async () => {
    const headers = (token: string) => ({ authorization: `Bearer ${token}` });
    const cases: [string, string][] = [
      [
        await as.mintAccessToken({ sub: 'alice', aud: 'http://127.0.0.1:9/mcp' }),
        'Token was not issued for this resource',
      ],
      [await as.mintAccessToken({ sub: 'alice', aud: rs.url, ttl: -60 }), 'Token has expired'],
      [`${(await as.mintAccessToken({ sub: 'alice', aud: rs.url })).slice(0, -4)}AAAA`, 'Invalid access token'],
    ];
    for (const [token, description] of cases) {
      const response = await send(rs.url, 'POST', initializeRequest(), headers(token));
      expect(response.status, description).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain(`error_description="${description}"`);
    }
    const good = await send(
      rs.url,
      'POST',
      initializeRequest(),
      headers(await as.mintAccessToken({ sub: 'carol', aud: rs.url })),
    );
    expect(good.status).toBe(200);

    // Published under a gateway's URL, the server wants that audience and says so in its metadata.
    rs.setResourceUrl('http://127.0.0.1:9/mcp');
    const metadata = (await (await fetch(rs.resourceMetadataUrl)).json()) as { resource: string };
    expect(metadata.resource).toBe('http://127.0.0.1:9/mcp');
    const stale = await send(
      rs.url,
      'POST',
      initializeRequest(),
      headers(await as.mintAccessToken({ sub: 'carol', aud: rs.url })),
    );
    expect(stale.status).toBe(401);
    const gateway = await send(
      rs.url,
      'POST',
      initializeRequest(),
      headers(await as.mintAccessToken({ sub: 'carol', aud: 'http://127.0.0.1:9/mcp' })),
    );
    expect(gateway.status).toBe(200);
  });

  it('checks PKCE S256 at /token: a wrong code_verifier gets invalid_grant', async () => {
    const registered = (await (
      await fetch(`${as.issuer}register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: [TEST_REDIRECT_URL],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
        }),
      })
    ).json()) as { client_id: string };
    const authorize = new URL(`${as.issuer}authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: registered.client_id,
      redirect_uri: TEST_REDIRECT_URL,
      code_challenge: await s256('right-verifier-right-verifier-right-verifier-43'),
      code_challenge_method: 'S256',
      login_hint: 'dave',
    }).toString();
    const redirect = await fetch(authorize, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const token = (verifier: string) =>
      fetch(`${as.issuer}token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: registered.client_id,
          code,
          code_verifier: verifier,
          redirect_uri: TEST_REDIRECT_URL,
        }),
      });
    const wrong = await token('wrong-verifier-wrong-verifier-wrong-verifier-43');
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const right = await token('right-verifier-right-verifier-right-verifier-43');
    expect(right.status).toBe(200);
    const tokens = (await right.json()) as { access_token: string; refresh_token?: string };
    expect(as.decode(tokens.access_token)).toMatchObject({ sub: 'dave', client_id: registered.client_id });
    expect(as.decode(tokens.access_token).aud).toBeUndefined(); // no resource asked for
    expect(tokens.refresh_token).toBeUndefined(); // not registered for the refresh_token grant
    // The code is single-use.
    expect((await token('right-verifier-right-verifier-right-verifier-43')).status).toBe(400);
  });
});

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return Buffer.from(digest).toString('base64url');
}
