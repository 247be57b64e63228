/**
 * `sdk-400` and `sdk-404`: the official SDK 1.x server as its README shows it on express, one
 * StreamableHTTPServerTransport per session kept in a map (sessionIdGenerator randomUUID,
 * registered in onsessioninitialized), with an event store so that streams resume after
 * `Last-Event-ID` (as the SDK's simpleStreamableHttp example does). They differ only in how
 * they answer a request whose `Mcp-Session-Id` they do not hold:
 *
 * - `sdk-400`: as the README and server-everything do: POST gets 400
 *   `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}`,
 *   GET and DELETE 400 `Invalid or missing session ID` (text);
 * - `sdk-404`: as the spec says ("respond to requests containing that session ID with HTTP 404
 *   Not Found"): 404 `{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}`.
 */
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ElicitResultSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { OrderedEventStore } from '../../../src/demo/event-store.js';
import { LoopbackHttp } from './loopback-http.js';
import { confirmSchema, confirmText, type FrameworkServer, packageVersion, sleep, standardTools } from './types.js';

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'matrix-sdk1', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool(
    'count',
    { inputSchema: { n: z.number().int().min(1), delayMs: z.number().int().min(0).default(0) } },
    async ({ n, delayMs }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (i > 1) await sleep(delayMs);
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: n },
          });
        }
      }
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );
  server.registerTool('confirm', { inputSchema: {} }, async (_args, extra) => {
    const result = await extra.sendRequest(
      { method: 'elicitation/create', params: { message: 'Proceed?', requestedSchema: confirmSchema } },
      ElicitResultSchema,
    );
    return { content: [{ type: 'text', text: confirmText(result) }] };
  });
  return server;
}

/** One process's worth of state: the express app and its session map. */
function createApp(unknownSessionStatus: 400 | 404) {
  const transports = new Map<string, StreamableHTTPServerTransport>();

  /** A request without a session id that is not an initialize: 400 in both kinds, as the README does. */
  const noSession = (res: Response) =>
    res.status(400).json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
      id: null,
    });
  /** A session id this process does not hold: where the two kinds differ. */
  const unknownSession = (res: Response, method: 'POST' | 'GET/DELETE') => {
    if (unknownSessionStatus === 404) {
      res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    } else if (method === 'POST') noSession(res);
    else res.status(400).send('Invalid or missing session ID');
  };

  const app = express();
  app.use(express.json());
  app.post('/mcp', async (req: Request, res: Response) => {
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    let transport = sessionId ? transports.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) {
        unknownSession(res, 'POST');
        return;
      }
      if (!isInitializeRequest(req.body)) {
        noSession(res);
        return;
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new OrderedEventStore(),
        onsessioninitialized: (id) => {
          transports.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId) transports.delete(created.sessionId);
      };
      await createMcpServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, req.body);
  });
  const handleSessionRequest = async (req: Request, res: Response) => {
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    const transport = sessionId ? transports.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) unknownSession(res, 'GET/DELETE');
      else res.status(400).send('Invalid or missing session ID');
      return;
    }
    await transport.handleRequest(req, res);
  };
  app.get('/mcp', handleSessionRequest);
  app.delete('/mcp', handleSessionRequest);

  return {
    app,
    close: async () => {
      for (const transport of [...transports.values()]) await transport.close();
      transports.clear();
    },
  };
}

const NOTES: Record<400 | 404, string[]> = {
  400: [
    'The SDK 1.x README pattern on express: one `StreamableHTTPServerTransport` per session in a map, `sessionIdGenerator: randomUUID`, registered in `onsessioninitialized`.',
    'An unknown session id gets **400**, not the spec\'s 404: POST `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}`, GET and DELETE `Invalid or missing session ID` as text. A client cannot tell "your session is gone" from "your request is malformed" but by the message. The proxy reads the message (`--session-gone-pattern`) and re-initializes, as for a 404.',
    "Resumable: each session's transport has an event store (the repo's `OrderedEventStore`; the SDK example's `InMemoryEventStore` cannot resume the GET stream), as the SDK's simpleStreamableHttp example has.",
  ],
  404: [
    'The same server as sdk-400 but for one answer: an unknown session id gets **404** `{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}` on POST, GET and DELETE, as the spec says (and as the SDK\'s own simpleStreamableHttp example now does). A request without any session id still gets 400.',
  ],
};

async function start(name: string, unknownSession: 400 | 404): Promise<FrameworkServer> {
  let state = createApp(unknownSession);
  let http = await LoopbackHttp.listen((req, res) => state.app(req, res));
  const { port } = http;
  return {
    name,
    version: packageVersion('@modelcontextprotocol/sdk'),
    url: http.url,
    port,
    keepsSessions: true,
    resumable: true,
    supports: { progress: true, elicitation: true, standaloneStream: true },
    tools: standardTools,
    notes: NOTES[unknownSession],
    restart: async () => {
      await http.close();
      await state.close();
      state = createApp(unknownSession);
      http = await LoopbackHttp.listen((req, res) => state.app(req, res), port);
    },
    close: async () => {
      await http.close();
      await state.close();
    },
  };
}

export const startSdk400 = () => start('sdk-400', 400);
export const startSdk404 = () => start('sdk-404', 404);
