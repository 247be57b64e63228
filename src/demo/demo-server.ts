/**
 * The demo MCP server: the official SDK 1.x McpServer behind its Streamable HTTP transport,
 * one transport per session, with an event store so that it replays after Last-Event-ID.
 * `npm start` puts mcp-shepherd in front of it; the tests use it as a real upstream.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  StreamableHTTPServerTransport,
  type StreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { registerDemoFeatures } from './demo-tools.js';
import { OrderedEventStore } from './event-store.js';

/** What the server offers; the defaults are the demo's tools, resource and prompt. */
export interface DemoServerOptions {
  name?: string;
  capabilities?: ServerCapabilities;
  register?: (server: McpServer) => void;
  /** Passed to every session's transport: retryInterval, allowedHosts, enableJsonResponse... */
  transport?: Omit<StreamableHTTPServerTransportOptions, 'sessionIdGenerator' | 'eventStore' | 'onsessioninitialized'>;
}

interface UpstreamSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export class DemoServer {
  readonly sessions = new Map<string, UpstreamSession>();
  /** Upstream session ids ended by DELETE, newest last; the last 10 000, so a long demo stays bounded. */
  readonly deleted: string[] = [];
  /** Server-to-client GET streams whose response is still open. */
  openGetStreams = 0;
  /** Sees every request first; returns true when it answered it (tests inject faults here). */
  beforeRequest: ((req: IncomingMessage, res: ServerResponse, body: unknown) => boolean) | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly http: Server,
    readonly port: number,
    private readonly options: DemoServerOptions,
  ) {}

  static async start(port = 0, host = '127.0.0.1', options: DemoServerOptions = {}): Promise<DemoServer> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(port, host, resolve));
    const upstream = new DemoServer(http, (http.address() as AddressInfo).port, options);
    http.on('connection', (socket) => {
      upstream.sockets.add(socket);
      socket.on('close', () => upstream.sockets.delete(socket));
    });
    http.on('request', (req, res) => {
      upstream.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
    });
    return upstream;
  }

  /** Client connections open to it now. */
  get connections(): number {
    return this.sockets.size;
  }

  urlVia(port = this.port): string {
    return `http://127.0.0.1:${port}/mcp`;
  }

  /** A notification on the session's standalone (GET) stream; stored for replay if it is down. */
  async notify(upstreamSessionId: string, data: string): Promise<void> {
    const session = this.sessions.get(upstreamSessionId);
    if (!session) throw new Error(`no upstream session ${upstreamSessionId}`);
    await session.server.server.notification({ method: 'notifications/message', params: { level: 'info', data } });
  }

  /** `notifications/tools/list_changed` on every session's standalone stream. */
  toolsChanged(): void {
    for (const { server } of this.sessions.values()) server.sendToolListChanged();
  }

  /** Forgets a session as a restarted server would: its id now gets 404. */
  async forget(upstreamSessionId: string): Promise<void> {
    const session = this.sessions.get(upstreamSessionId);
    this.sessions.delete(upstreamSessionId);
    await session?.transport.close();
  }

  async close(): Promise<void> {
    for (const { transport } of this.sessions.values()) await transport.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (this.beforeRequest?.(req, res, body)) return;
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    const existing = sessionId ? this.sessions.get(sessionId) : undefined;
    if (req.method === 'GET') {
      this.openGetStreams++;
      res.on('close', () => this.openGetStreams--);
    }
    if (existing) {
      if (req.method === 'DELETE' && sessionId) {
        this.deleted.push(sessionId);
        if (this.deleted.length > 10_000) this.deleted.shift();
      }
      await existing.transport.handleRequest(req, res, body);
      return;
    }
    if (!sessionId && req.method === 'POST' && isInitializeRequest(body)) {
      const {
        name = 'mcp-shepherd-demo',
        capabilities = { logging: {} },
        register = registerDemoFeatures,
      } = this.options;
      const server = new McpServer({ name, version: '1.0.0' }, { capabilities });
      register(server);
      const transport = new StreamableHTTPServerTransport({
        ...this.options.transport,
        sessionIdGenerator: randomUUID,
        eventStore: new OrderedEventStore(),
        onsessioninitialized: (id) => {
          this.sessions.set(id, { transport, server });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) this.sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    res.writeHead(sessionId ? 404 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Session not found' } }));
  }
}
