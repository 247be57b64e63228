/**
 * An OAuth-protected upstream behind the proxy, with the SDK 1.x client and its
 * OAuthClientProvider: discovery through the proxy's metadata, authorization, token, calls,
 * a refresh that keeps the session, and sessions bound to the user who created them, against
 * an upstream that itself does not bind sessions to users (oauth.direct.test.ts shows it).
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { AuthorizationServer } from '../support/oauth/authorization-server.js';
import { connectWithOAuth, TestOAuthClientProvider } from '../support/oauth/client-provider.js';
import { ProtectedServer, tokenFingerprint } from '../support/oauth/protected-server.js';
import { whoami, whoamiCall } from '../support/oauth/whoami.js';
import { initializeRequest, send } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

let as: AuthorizationServer;
let rs: ProtectedServer;
let shepherd: Shepherd;
let proxyUrl: string;
let logs: string;

beforeEach(async () => {
  as = await AuthorizationServer.start();
  rs = await ProtectedServer.start({ authorizationServer: as });
  logs = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  shepherd = createShepherd({ upstream: { url: rs.url }, logger: createLogger('trace', destination) });
  proxyUrl = (await shepherd.listen({ port: 0 })).url;
  // Published under the proxy's URL: tokens are minted for it, and the upstream wants that audience.
  rs.setResourceUrl(proxyUrl);
});
afterEach(async () => {
  await shepherd.close();
  await rs.close();
  await as.close();
});

const proxyMetadataUrl = () => `${new URL(proxyUrl).origin}/.well-known/oauth-protected-resource/mcp`;
const VERSION = '2025-11-25';

/** POSTs a call and reads its SSE answer up to the first event with data; returns that event's id, then hangs up. */
async function firstEventId(body: unknown, headers: Record<string, string>): Promise<string> {
  const abort = new AbortController();
  const response = await fetch(proxyUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before an event with data: ${text}`);
    text += decoder.decode(value, { stream: true });
    const event = text.split('\n\n').find((block) => /^data: .+/m.test(block) && /^id: /m.test(block));
    if (event) {
      abort.abort();
      return /^id: (.*)$/m.exec(event)?.[1] ?? '';
    }
  }
}

describe('OAuth through the proxy: the SDK client in front of a protected server', () => {
  it("answers a tokenless client with the upstream's 401, its challenge pointing at the proxy's metadata", async () => {
    const refused = await send(proxyUrl, 'POST', initializeRequest());
    expect(refused.status).toBe(401);
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(`resource_metadata="${proxyMetadataUrl()}"`);
    expect(refused.messages).toEqual([expect.objectContaining({ error: 'invalid_token' })]);

    // RFC 9728 at the path-inserted and the root well-known URI: the upstream's document, resource the proxy.
    for (const url of [proxyMetadataUrl(), `${new URL(proxyUrl).origin}/.well-known/oauth-protected-resource`]) {
      const metadata = await (await fetch(url)).json();
      expect(metadata).toMatchObject({
        resource: proxyUrl,
        authorization_servers: [as.issuer],
        scopes_supported: ['mcp'],
      });
    }
    // 403 (a token without the scope) the same way: status, body and challenge as the upstream sent them.
    const narrow = await as.mintAccessToken({ sub: 'alice', aud: proxyUrl, scope: 'other' });
    const forbidden = await send(proxyUrl, 'POST', initializeRequest(), { authorization: `Bearer ${narrow}` });
    const direct = await send(rs.url, 'POST', initializeRequest(), { authorization: `Bearer ${narrow}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).toBe(direct.text);
    expect(forbidden.headers.get('www-authenticate')).toBe(
      direct.headers.get('www-authenticate')?.replace(rs.resourceMetadataUrl, proxyMetadataUrl()),
    );
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect(shepherd.listSessions()).toEqual([]);
    expect(rs.sessionIds).toEqual([]);
  });

  it('discovers through the proxy, authorizes, and calls with a token every upstream request carries', async () => {
    const provider = new TestOAuthClientProvider({ user: 'alice' });
    const { client, transport } = await connectWithOAuth(proxyUrl, provider);
    expect(await whoami(client)).toBe('user:alice');
    const progress: number[] = [];
    await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3]);

    // The token is for the proxy's URL (RFC 8707 resource), found through the proxy's metadata.
    expect(provider.authorizations[0]?.url.searchParams.get('resource')).toBe(proxyUrl);
    expect(as.decode(provider.accessToken)).toMatchObject({ sub: 'alice', aud: proxyUrl });
    expect(as.counters).toMatchObject({ registrations: 1, authorizations: 1, codeExchanges: 1, refreshes: 0 });

    // The era probe carries the client's headers: refused without a token (no era evidence),
    // answered as a session-era server with alice's.
    const isProbe = (record: (typeof rs.requests)[number]) => record.rpc?.[0] === 'server/discover';
    const probes = rs.requests.filter(isProbe);
    expect(probes.map((p) => p.token !== undefined)).toEqual([false, true]);
    expect(probes[1]).toMatchObject({ token: tokenFingerprint(provider.accessToken) });
    // Upstream: the tokenless first initialize got its 401; every later request had alice's token,
    // the proxy's own GET stream included, all on one upstream session.
    const [first, ...rest] = rs.requests.filter((record) => !isProbe(record));
    expect(first).toMatchObject({ method: 'POST', token: undefined, accepted: false, rpc: ['initialize'] });
    for (const record of rest) {
      expect(record).toMatchObject({ token: tokenFingerprint(provider.accessToken), accepted: true, sub: 'alice' });
    }
    expect(rest.some((record) => record.method === 'GET')).toBe(true);
    expect(rs.sessionIds).toHaveLength(1);
    expect(transport.sessionId).not.toBe(rs.sessionIds[0]);

    // The token shows nowhere an operator looks.
    expect(JSON.stringify(shepherd.listSessions())).not.toContain(provider.accessToken);
    expect(logs).toContain('session initialized');
    expect(logs).not.toContain(provider.accessToken);
    await client.close();
  });

  it('refreshes an expired token for the same user and keeps the session; the drain DELETE carries the new one', async () => {
    const provider = new TestOAuthClientProvider({ user: 'alice' });
    const { client, transport } = await connectWithOAuth(proxyUrl, provider);
    const sessionId = transport.sessionId ?? '';
    expect(await whoami(client)).toBe('user:alice');
    const upstreamSession = rs.sessionIds[0] ?? '';
    const before = provider.accessToken;
    await waitFor(
      () => rs.requestsFor(upstreamSession).some((r) => r.method === 'GET' && r.accepted),
      'the GET stream',
    );

    as.expireAccessTokens();
    // The SDK meets the upstream's 401 through the proxy, refreshes, sends the call again.
    expect(await whoami(client)).toBe('user:alice');
    const after = provider.accessToken;
    expect(after).not.toBe(before);
    expect(as.decode(after).sub).toBe('alice');
    expect(as.counters).toMatchObject({ authorizations: 1, refreshes: 1 });
    expect(transport.sessionId).toBe(sessionId);
    expect(rs.sessionIds).toEqual([upstreamSession]);
    const calls = rs.requestsFor(upstreamSession).filter((record) => record.rpc.includes('tools/call'));
    expect(calls.map(({ token, accepted }) => [token, accepted])).toEqual([
      [tokenFingerprint(before), true],
      [tokenFingerprint(before), false],
      [tokenFingerprint(after), true],
    ]);

    // The proxy's own DELETE, when it drains, carries the latest token the upstream accepted.
    await shepherd.close();
    const deletes = rs.requestsFor(upstreamSession).filter((record) => record.method === 'DELETE');
    expect(deletes).toMatchObject([{ token: tokenFingerprint(after), accepted: true }]);
    await client.close();
  });

  it("gives bob's valid token on alice's session id a 404, on a request and on a resume, and sends none of it upstream", async () => {
    const aliceProvider = new TestOAuthClientProvider({ user: 'alice' });
    const alice = await connectWithOAuth(proxyUrl, aliceProvider);
    as.asUser('bob');
    const bobProvider = new TestOAuthClientProvider();
    const bob = await connectWithOAuth(proxyUrl, bobProvider);
    expect(await whoami(bob.client)).toBe('user:bob');
    const aliceSession = alice.transport.sessionId ?? '';
    const headers = (token: string) => ({
      authorization: `Bearer ${token}`,
      'mcp-session-id': aliceSession,
      'mcp-protocol-version': VERSION,
    });

    // Alice's raw call, cut after its first progress event: the rest waits in the proxy's log.
    const call = {
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: 'count', arguments: { n: 3, delayMs: 100 }, _meta: { progressToken: 'p' } },
    };
    const cutAt = await firstEventId(call, headers(aliceProvider.accessToken));
    const aliceView = () => shepherd.listSessions().find((view) => view.id === aliceSession);
    await waitFor(() => aliceView()?.streams.every((stream) => stream.kind === 'get') === true, 'the call to end');
    const upstreamBefore = rs.requests.length;

    const crossed = await send(proxyUrl, 'POST', whoamiCall(7), headers(bobProvider.accessToken));
    expect(crossed.status).toBe(404);
    const resumed = await send(proxyUrl, 'GET', undefined, {
      ...headers(bobProvider.accessToken),
      accept: 'text/event-stream',
      'last-event-id': cutAt,
    });
    expect(resumed.status).toBe(404);
    const tokenless = await send(proxyUrl, 'POST', whoamiCall(8), {
      'mcp-session-id': aliceSession,
      'mcp-protocol-version': VERSION,
    });
    expect(tokenless.status).toBe(404);
    expect(rs.requests.slice(upstreamBefore)).toEqual([]);

    // Alice resumes the same id and gets her answer replayed; her client is unaffected.
    const replay = await send(proxyUrl, 'GET', undefined, {
      ...headers(aliceProvider.accessToken),
      accept: 'text/event-stream',
      'last-event-id': cutAt,
    });
    expect(replay.status).toBe(200);
    expect(replay.messages).toEqual([
      expect.objectContaining({ method: 'notifications/progress', params: expect.objectContaining({ progress: 2 }) }),
      expect.objectContaining({ method: 'notifications/progress', params: expect.objectContaining({ progress: 3 }) }),
      { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'counted to 3' }] } },
    ]);
    expect(await whoami(alice.client)).toBe('user:alice');
    await alice.client.close();
    await bob.client.close();
  });

  it("forwards each request's trace context with it, never on the proxy's own requests", async () => {
    const provider = new TestOAuthClientProvider({ user: 'alice' });
    const { client, transport } = await connectWithOAuth(proxyUrl, provider);
    const upstreamSession = rs.sessionIds[0] ?? '';
    await waitFor(() => rs.requestsFor(upstreamSession).some((r) => r.method === 'GET'), 'the GET stream');
    const trace = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'a=1',
      baggage: 'b=2',
    };
    const call = await send(proxyUrl, 'POST', whoamiCall(3), {
      authorization: `Bearer ${provider.accessToken}`,
      'mcp-session-id': transport.sessionId ?? '',
      'mcp-protocol-version': VERSION,
      'x-not-forwarded': 'no',
      ...trace,
    });
    expect(call.status).toBe(200);
    const upstreamCall = rs.requestsFor(upstreamSession).find((r) => r.rpc.includes('tools/call'));
    expect(upstreamCall?.context).toEqual(trace);
    await shepherd.close();
    const own = rs.requestsFor(upstreamSession).filter((r) => r.method === 'GET' || r.method === 'DELETE');
    expect(own.map((r) => [r.method, r.context, r.accepted])).toEqual([
      ['GET', {}, true],
      ['DELETE', {}, true],
    ]);
    await client.close();
  });
});

describe('a static upstream credential', () => {
  it("is sent when the client has none, loses to the client's by default, wins when the operator says so", async () => {
    const service = await as.mintAccessToken({ sub: 'gateway', aud: proxyUrl });
    const alice = await as.mintAccessToken({ sub: 'alice', aud: proxyUrl });
    const start = async (staticHeadersWin: boolean) => {
      const proxy = createShepherd({
        upstream: {
          url: rs.url,
          headers: { authorization: `Bearer ${service}`, 'x-gateway': 'shepherd' },
          staticHeadersWin,
        },
        logger: createLogger('silent'),
      });
      return { proxy, url: (await proxy.listen({ port: 0 })).url };
    };
    const whoamiVia = async (url: string, token?: string) => {
      const auth = token === undefined ? {} : { authorization: `Bearer ${token}` };
      const init = await send(url, 'POST', initializeRequest(0, VERSION), auth);
      expect(init.status).toBe(200);
      const headers = {
        ...auth,
        'mcp-session-id': init.headers.get('mcp-session-id') ?? '',
        'mcp-protocol-version': VERSION,
      };
      const answer = await send(url, 'POST', whoamiCall(1), headers);
      return (answer.messages[0] as { result: { content: { text: string }[] } }).result.content[0]?.text;
    };

    const clientWins = await start(false);
    expect(await whoamiVia(clientWins.url)).toBe('user:gateway');
    expect(await whoamiVia(clientWins.url, alice)).toBe('user:alice');
    await clientWins.proxy.close();
    const staticWins = await start(true);
    expect(await whoamiVia(staticWins.url, alice)).toBe('user:gateway');
    await staticWins.proxy.close();
    expect(rs.requests.every((r) => r.context['x-gateway'] === 'shepherd')).toBe(true);
  });
});
