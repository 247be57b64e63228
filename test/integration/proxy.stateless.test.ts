/**
 * A stateless upstream: the official SDK server without session ids (a fresh server and
 * transport per request, POST only, as the suite's own test servers are). Its 404s are not a
 * lost session, so the proxy's session lives on and the client never sees 404.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../support/wait.js';

let upstream: Server;
let shepherd: Shepherd;
let url: string;
let upstreamGets = 0;

beforeEach(async () => {
  upstreamGets = 0;
  upstream = createServer((req, res) => {
    if (req.method !== 'POST') {
      upstreamGets += req.method === 'GET' ? 1 : 0;
      res.writeHead(404).end('Cannot GET /mcp');
      return;
    }
    const server = new McpServer({ name: 'stateless', version: '1.0.0' });
    server.registerTool('add', { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({
      content: [{ type: 'text', text: String(a + b) }],
    }));
    const transport = new StreamableHTTPServerTransport({}); // no sessionIdGenerator: stateless
    res.on('close', () => void transport.close());
    server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
  shepherd = createShepherd({ upstream: { url: upstreamUrl }, logger: createLogger('silent') });
  ({ url } = await shepherd.listen({ port: 0 }));
});

afterEach(async () => {
  await shepherd.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

describe('stateless upstream', () => {
  it('serves tool calls; the GET stream is refused with 405 and the session lives on', async () => {
    const getStatuses: number[] = [];
    const client = new Client({ name: 'client', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'GET') getStatuses.push(response.status);
        return response;
      },
    });
    await client.connect(transport);
    const sessionId = transport.sessionId as string;
    await waitFor(() => getStatuses.length > 0, "the client's GET stream answered");
    expect(getStatuses).toEqual([405]);
    expect(upstreamGets).toBe(1);

    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    expect(result.content).toEqual([{ type: 'text', text: '5' }]);
    expect(shepherd.listSessions().map((s) => s.id)).toEqual([sessionId]);
    await transport.close();
  });
});
