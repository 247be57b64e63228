import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  challengeMetadataUrl,
  ResourceMetadata,
  rewriteChallenge,
  wellKnownUrl,
} from '../../src/auth/resource-metadata.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('protected resource metadata URLs and challenges', () => {
  it('inserts the well-known path between host and path (RFC 9728 §3.1)', () => {
    expect(wellKnownUrl('https://proxy.example/mcp')).toBe(
      'https://proxy.example/.well-known/oauth-protected-resource/mcp',
    );
    expect(wellKnownUrl('https://proxy.example/a/mcp/')).toBe(
      'https://proxy.example/.well-known/oauth-protected-resource/a/mcp',
    );
    expect(wellKnownUrl('https://proxy.example/')).toBe('https://proxy.example/.well-known/oauth-protected-resource');
  });

  it("reads and replaces a challenge's resource_metadata, quoted or not, keeping the rest", () => {
    const quoted = 'Bearer error="invalid_token", resource_metadata="http://up/.well-known/x", scope="mcp"';
    expect(challengeMetadataUrl(quoted)).toBe('http://up/.well-known/x');
    expect(rewriteChallenge(quoted, 'https://p/m')).toBe(
      'Bearer error="invalid_token", resource_metadata="https://p/m", scope="mcp"',
    );
    const bare = 'Bearer resource_metadata=http://up/x, scope="mcp"';
    expect(challengeMetadataUrl(bare)).toBe('http://up/x');
    expect(rewriteChallenge(bare, 'https://p/m')).toBe('Bearer resource_metadata="https://p/m", scope="mcp"');
    expect(challengeMetadataUrl('Bearer realm="x"')).toBeUndefined();
    expect(rewriteChallenge('Bearer realm="x"', 'https://p/m')).toBe('Bearer realm="x"');
  });
});

describe('the metadata the proxy serves', () => {
  it("serves the upstream's document with the proxy as resource, at both well-known paths, fetched once per cache period", async () => {
    let fetched = 0;
    const upstream = await listen((req, res) => {
      if (req.url === '/.well-known/oauth-protected-resource/mcp') {
        fetched += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ resource: 'http://upstream/mcp', authorization_servers: ['https://as'] }));
      } else res.writeHead(404).end();
    });
    let now = 0;
    const metadata = new ResourceMetadata({ upstreamUrl: `${upstream}/mcp`, cacheMs: 1000, now: () => now });
    const proxy = await listen((req, res) => {
      void metadata.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end();
      });
    });
    metadata.setListenUrl(`${proxy}/mcp`);
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(`${proxy}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ resource: `${proxy}/mcp`, authorization_servers: ['https://as'] });
    }
    expect(fetched).toBe(1);
    now = 2000;
    await metadata.document();
    expect(fetched).toBe(2);

    expect((await fetch(`${proxy}/.well-known/oauth-protected-resource/other`)).status).toBe(418);
    const post = await fetch(`${proxy}/.well-known/oauth-protected-resource/mcp`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(metadata.challenge('Bearer resource_metadata="x"')).toBe(
      `Bearer resource_metadata="${proxy}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('tries the URL an upstream challenge named first, and says 404 when the upstream publishes none', async () => {
    const asked: string[] = [];
    const upstream = await listen((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/meta/custom') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ resource: 'u' }));
      } else res.writeHead(404).end();
    });
    const none = new ResourceMetadata({ upstreamUrl: `${upstream}/mcp`, publicUrl: 'https://proxy.example/mcp' });
    expect(await none.document()).toBeUndefined();
    expect(asked).toEqual(['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']);

    const named = new ResourceMetadata({ upstreamUrl: `${upstream}/mcp`, publicUrl: 'https://proxy.example/mcp' });
    named.challenge(`Bearer resource_metadata="${upstream}/meta/custom"`);
    expect(await named.document()).toEqual({ resource: 'https://proxy.example/mcp' });
  });

  it('serves a static document instead, its resource still the public URL', async () => {
    const metadata = new ResourceMetadata({
      upstreamUrl: 'http://127.0.0.1:1/mcp',
      publicUrl: 'https://proxy.example/mcp',
      document: { resource: 'ignored', authorization_servers: ['https://as'], scopes_supported: ['mcp'] },
    });
    expect(await metadata.document()).toEqual({
      resource: 'https://proxy.example/mcp',
      authorization_servers: ['https://as'],
      scopes_supported: ['mcp'],
    });
    expect(metadata.metadataUrl()).toBe('https://proxy.example/.well-known/oauth-protected-resource/mcp');
  });
});
