/**
 * An MCP server protected as the MCP authorization spec says (2025-06-18, 2025-11-25): an
 * OAuth 2.1 resource server on 127.0.0.1 with an ephemeral port, the SDK 1.x `McpServer`
 * behind its `StreamableHTTPServerTransport` at `/mcp`, one transport per session.
 *
 * - Every request to /mcp (POST, GET, DELETE) passes the SDK's `requireBearerAuth` with the
 *   authorization server's verifier; without a valid token it gets 401 and
 *   `WWW-Authenticate: Bearer error=..., scope="mcp", resource_metadata="<metadata URL>"`
 *   ("MCP servers MUST implement one of the following discovery mechanisms ... Include the
 *   resource metadata URL in the WWW-Authenticate HTTP header", authorization.mdx §Protected
 *   Resource Metadata Discovery Requirements). Tokens must carry aud = `resourceUrl`
 *   ("MCP servers MUST validate that access tokens were issued specifically for them").
 * - RFC 9728 metadata at `/.well-known/oauth-protected-resource/mcp` and at the root
 *   `/.well-known/oauth-protected-resource`: resource = `resourceUrl`, authorization_servers =
 *   [the AS issuer].
 * - Tools: `whoami` → `user:<sub>` of the token on the request that called it, plus the demo
 *   server's `echo`, `count` (progress notifications), `summarize`, `confirm`.
 *
 * On purpose it does NOT bind sessions to users: any valid token, of any user, is served on
 * any existing session id. A proxy that binds sessions to credentials is then observable.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { registerDemoFeatures } from '../../../src/demo/demo-tools.js';

export interface ProtectedServerOptions {
  /** The authorization server: its issuer goes into the metadata, its verifier checks every token. */
  authorizationServer: OAuthTokenVerifier & { issuer: string };
  /** Scopes a token must have; named in the 401's WWW-Authenticate `scope`. Default ['mcp']. */
  requiredScopes?: string[];
  /** Scopes the resource metadata advertises. Default: `requiredScopes`. */
  scopesSupported?: string[];
  /** Registers more tools/resources on each session's McpServer, after the built-in ones. */
  register?: (server: McpServer) => void;
}

/** One request to /mcp, as it arrived. */
export interface McpRequestRecord {
  method: string;
  /** Its Mcp-Session-Id header. */
  sessionId: string | undefined;
  /** `tokenFingerprint` of its bearer token; undefined without an Authorization header. */
  token: string | undefined;
  /** The Authorization header's first 16 characters (e.g. 'Bearer eyJhbGciO'), for messages. */
  authorization: string | undefined;
  /** The verified token's subject, client and jti; undefined when the token was refused. */
  sub: string | undefined;
  clientId: string | undefined;
  jti: string | undefined;
  /** The token passed requireBearerAuth (a session lookup may still refuse the request). */
  accepted: boolean;
  /** The JSON-RPC method(s) of a POST body. */
  rpc: string[];
  /** Its W3C trace context and `x-*` headers (what a gateway forwards or adds). */
  context: Record<string, string>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

/** A short stable digest of a bearer token (or of anything), to compare what reached the server. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

function rpcMethods(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((message: unknown) =>
    typeof message === 'object' && message !== null && typeof (message as { method?: unknown }).method === 'string'
      ? [(message as { method: string }).method]
      : [],
  );
}

export class ProtectedServer {
  /** The MCP endpoint: `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The RFC 9728 metadata URL named in WWW-Authenticate: `<origin>/.well-known/oauth-protected-resource/mcp`. */
  readonly resourceMetadataUrl: string;
  readonly sessions = new Map<string, Session>();
  /** Every session id this server minted, oldest first. */
  readonly sessionIds: string[] = [];
  /** Every request to /mcp, oldest first. */
  readonly requests: McpRequestRecord[] = [];
  /** Paths of every other request (metadata discovery), oldest first. */
  readonly otherRequests: { method: string; path: string }[] = [];
  private current: { resource: string; auth: RequestHandler; metadata: RequestHandler };
  private readonly requiredScopes: string[];
  private readonly scopesSupported: string[];

  private constructor(
    private readonly http: Server,
    readonly port: number,
    private readonly options: ProtectedServerOptions,
  ) {
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/mcp`;
    this.resourceMetadataUrl = `${this.origin}/.well-known/oauth-protected-resource/mcp`;
    this.requiredScopes = options.requiredScopes ?? ['mcp'];
    this.scopesSupported = options.scopesSupported ?? this.requiredScopes;
    this.current = this.build(this.url);
  }

  static async start(options: ProtectedServerOptions): Promise<ProtectedServer> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = new ProtectedServer(http, (http.address() as AddressInfo).port, options);
    http.on('request', server.app());
    return server;
  }

  /** The resource identifier (RFC 8707/9728): what the metadata's `resource` says and what a token's `aud` must be. */
  get resourceUrl(): string {
    return this.current.resource;
  }

  /**
   * Publishes this server under another URL, as a gateway in front of it would: the metadata's
   * `resource` becomes `url` and only tokens with that audience are accepted. (The SDK client
   * refuses metadata whose `resource` has another origin than the URL it connects to, so a
   * client that reaches this server through a proxy needs the proxy's URL here.)
   */
  setResourceUrl(url: string): void {
    this.current = this.build(url);
  }

  /** The requests to /mcp that carried this session id. */
  requestsFor(sessionId: string): McpRequestRecord[] {
    return this.requests.filter((record) => record.sessionId === sessionId);
  }

  async close(): Promise<void> {
    for (const { transport } of this.sessions.values()) await transport.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private build(resource: string) {
    const metadata: OAuthProtectedResourceMetadata = {
      resource,
      authorization_servers: [this.options.authorizationServer.issuer],
      scopes_supported: this.scopesSupported,
      bearer_methods_supported: ['header'],
      resource_name: 'mcp-shepherd OAuth test server',
    };
    return {
      resource,
      auth: requireBearerAuth({
        verifier: this.options.authorizationServer,
        requiredScopes: this.requiredScopes,
        resourceMetadataUrl: this.resourceMetadataUrl,
        expectedResource: new URL(resource),
      }),
      metadata: metadataHandler(metadata),
    };
  }

  private app(): express.Express {
    const app = express();
    app.use((req, _res, next) => {
      if (req.path !== '/mcp') this.otherRequests.push({ method: req.method, path: req.path });
      next();
    });
    // RFC 9728 §3.1 path insertion first, then the root, as the MCP spec's discovery order has them.
    const metadata: RequestHandler = (req, res, next) => this.current.metadata(req, res, next);
    app.use('/.well-known/oauth-protected-resource/mcp', metadata);
    app.use('/.well-known/oauth-protected-resource', metadata);
    app.all(
      '/mcp',
      express.json({ limit: '4mb' }),
      (req, res, next) => this.authenticate(req, res, next),
      (req, res) => {
        this.serve(req, res).catch((error: unknown) => {
          if (!res.headersSent)
            res.status(500).json({ jsonrpc: '2.0', id: null, error: { code: -32603, message: String(error) } });
        });
      },
    );
    return app;
  }

  private authenticate(req: Request, res: Response, next: NextFunction): void {
    const header = req.headers.authorization;
    const sessionHeader = req.headers['mcp-session-id'];
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const record: McpRequestRecord = {
      method: req.method,
      sessionId: typeof sessionHeader === 'string' ? sessionHeader : undefined,
      token: bearer === undefined ? undefined : tokenFingerprint(bearer),
      authorization: header?.slice(0, 16),
      sub: undefined,
      clientId: undefined,
      jti: undefined,
      accepted: false,
      rpc: req.method === 'POST' ? rpcMethods(req.body) : [],
      context: Object.fromEntries(
        Object.entries(req.headers).flatMap(([name, value]) =>
          typeof value === 'string' && (/^x-/.test(name) || ['traceparent', 'tracestate', 'baggage'].includes(name))
            ? [[name, value]]
            : [],
        ),
      ),
    };
    this.requests.push(record);
    void this.current.auth(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      record.accepted = true;
      record.clientId = req.auth?.clientId;
      const extra = req.auth?.extra;
      record.sub = typeof extra?.sub === 'string' ? extra.sub : undefined;
      record.jti = typeof extra?.jti === 'string' ? extra.jti : undefined;
      next();
    });
  }

  private async serve(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
    if (existing) {
      // No check of who the session belongs to: see the header comment.
      await existing.transport.handleRequest(req, res, body);
      return;
    }
    if (sessionId === undefined && req.method === 'POST' && isInitializeRequest(body)) {
      const server = new McpServer(
        { name: 'oauth-protected-server', version: '1.0.0' },
        { capabilities: { logging: {} } },
      );
      server.registerTool('whoami', { description: "The subject of the request's access token." }, async (extra) => {
        const sub = extra.authInfo?.extra?.sub;
        return { content: [{ type: 'text', text: `user:${typeof sub === 'string' ? sub : '?'}` }] };
      });
      registerDemoFeatures(server);
      this.options.register?.(server);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          this.sessions.set(id, { transport, server });
          this.sessionIds.push(id);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) this.sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    res.status(sessionId === undefined ? 400 : 404).json({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: sessionId ? 'Session not found' : 'No session' },
    });
  }
}
