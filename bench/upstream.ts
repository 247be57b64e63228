/**
 * The bench upstream: the official SDK 1.x McpServer behind its StreamableHTTPServerTransport,
 * one transport per session, on 127.0.0.1 and an ephemeral port. Every subject and baseline
 * of a scenario talks to the same one of these processes.
 *
 *   tsx bench/upstream.ts [--json-response] [--retry-ms N]
 *
 * --json-response: tools/call answers are one JSON body (enableJsonResponse), not SSE.
 * --retry-ms N:    an event store (resumable streams) and `retry: N` in the priming event.
 *
 * Tools: `noop` (answers "ok"), `stream` ({ count, intervalMs }: `count` small
 * notifications/message on the request's stream, then the result).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { IndexedEventStore } from './support/indexed-event-store.js';
import { announceReady } from './support/ready.js';

const { values } = parseArgs({
  options: { 'json-response': { type: 'boolean' }, 'retry-ms': { type: 'string' } },
});
const jsonResponse = values['json-response'] === true;
const retryMs = values['retry-ms'] === undefined ? undefined : Number(values['retry-ms']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToIo = () => new Promise((resolve) => setImmediate(resolve));

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'mcp-shepherd-bench', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('noop', { description: 'Answers ok.' }, async () => ({
    content: [{ type: 'text', text: 'ok' }],
  }));
  server.registerTool(
    'stream',
    {
      description: 'Sends count small notifications on the request stream, then answers.',
      inputSchema: { count: z.number().int().min(1), intervalMs: z.number().min(0).optional() },
    },
    async ({ count, intervalMs = 0 }, extra) => {
      for (let i = 1; i <= count; i++) {
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: i } });
        if (intervalMs > 0) await sleep(intervalMs);
        // Unpaced: still let the socket drain now and then, as a real producer would.
        else if (i % 256 === 0) await yieldToIo();
      }
      return { content: [{ type: 'text', text: `sent ${count}` }] };
    },
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

const http = createServer((req, res) => {
  const handle = async () => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    const existing = sessionId ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (!sessionId && req.method === 'POST' && isInitializeRequest(body)) {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: jsonResponse,
        ...(retryMs === undefined ? {} : { eventStore: new IndexedEventStore(), retryInterval: retryMs }),
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await createMcpServer().connect(transport);
      return transport.handleRequest(req, res, body);
    }
    res.writeHead(sessionId ? 404 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Session not found' } }));
  };
  handle().catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500).end(String(error));
  });
});
// Thousands of sessions hold a GET stream each; Node's default of no limit is what we want.
http.keepAliveTimeout = 60_000;
http.listen(0, '127.0.0.1', () => {
  announceReady(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
