/**
 * mcp-shepherd as a library: a session supervisor and Streamable-HTTP proxy to mount in an
 * express app (`app.use('/mcp', shepherd.router)`) or to run on its own (`listen`).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { DEFAULT_SESSION_LIMITS } from '../machines/session.machine.js';
import type { UpstreamTarget } from '../machines/session.types.js';
import type { StoreObserver } from './admin/metrics.js';
import { credentialPolicy } from './auth/credentials.js';
import { IdentityResolver, type IntrospectionOptions } from './auth/identity.js';
import { ResourceMetadata } from './auth/resource-metadata.js';
import { Cluster, DEFAULT_REPLICA_TTL_MS } from './cluster/cluster.js';
import { RedisStore } from './cluster/redis-store.js';
import { ClusterForbiddenError, InternalError, RouteError } from './errors.js';
import { listenerTimeouts } from './listener-limits.js';
import { sendError } from './proxy/http.js';
import { createMcpHandler, type McpHandler, type McpHandlerOptions } from './proxy/mcp-handler.js';
import { createSupervision, type Supervision, type SupervisionOptions } from './session/supervision.js';

export interface ShepherdOptions extends McpHandlerOptions, SupervisionOptions {
  /**
   * The MCP server to stand in front of: `{ url }` for Streamable HTTP (session era), or
   * `{ url: 'stdio:…', process: { command, args, env, cwd } }` for a local stdio server run
   * once per session (see docs/stdio.md).
   */
  upstream: UpstreamTarget;
  /**
   * Client headers that go upstream with every request the client's request causes. Default
   * `authorization`, `traceparent`, `tracestate`, `baggage`. A static `upstream.headers` entry of
   * the same name is overridden by the client's, unless `upstream.staticHeadersWin`.
   */
  forwardHeaders?: readonly string[];
  /** Key of the keyed hash that names credentials (opaque tokens' identities). Default: random per process. */
  credentialKey?: string;
  /** RFC 7662 token introspection, so that an opaque token's subject is its identity. */
  introspection?: IntrospectionOptions;
  /** The proxy's MCP endpoint as clients reach it (protected resource metadata). Default: where it listens. */
  publicUrl?: string;
  /** Protected resource metadata to serve instead of the upstream's (its `resource` is set to publicUrl). */
  resourceMetadata?: Record<string, unknown>;
  /** `listen()`: a connection that has not sent its request headers within this long is closed. Default 10 s. */
  headersTimeoutMs?: number;
  /** `listen()`: a request (headers and body) not received within this long gets 408. Default 30 s; 0: off. */
  requestTimeoutMs?: number;
  /** Several replicas sharing sessions through Redis (docs/replicas.md); off by default. */
  replicas?: ReplicaOptions | undefined;
}

export interface ReplicaOptions {
  /** The Redis (or Valkey) URL, e.g. `redis://10.0.0.9:6379`. */
  redisUrl: string;
  /** Where this replica's internal listener (forwarded requests) listens. */
  listen: { host: string; port: number };
  /** Where other replicas reach it. Default: `http://<listen host>:<port>`. */
  advertiseUrl?: string | undefined;
  /** Shared by every replica; internal requests without it get 403. */
  secret: string;
  /** A replica whose heartbeat is this old is dead. Default 3 s. */
  replicaTtlMs?: number | undefined;
  /** On close: hand this replica's sessions over to the others (default), or end them upstream. */
  drain?: 'handoff' | 'end' | undefined;
}

export interface Shepherd extends Supervision {
  /** Cluster mode (`replicas`): this replica's part; undefined otherwise. */
  cluster: Cluster | undefined;
  /** Mount it: `app.use('/mcp', shepherd.router)`. */
  router: Router;
  /** The same endpoint as a plain Node handler. */
  handler: McpHandler;
  /** Serves the endpoint at `path` (default /mcp) on host:port (default 127.0.0.1:8080). */
  listen(options?: { port?: number; host?: string; path?: string }): Promise<{ url: string; server: Server }>;
  /**
   * Serves `/.well-known/oauth-protected-resource[<path>]` (RFC 9728); false when the request
   * is for something else. `listen()` serves it itself; mount it at the root when embedding.
   */
  wellKnown(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Drains: refuses new sessions, ends every session (DELETE upstream), closes the server. Idempotent. */
  close(): Promise<void>;
}

/** The request targets the endpoint: `/mcp`, `/mcp/`, with or without a query. */
/** The internal listener, for requests other replicas forward. */
async function listenInternal(
  replicas: ReplicaOptions,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(replicas.listen.port, replicas.listen.host, () => resolve());
  });
  return server;
}

function servesPath(url: string | undefined, path: string): boolean {
  const pathname = (url ?? '/').split('?', 1)[0];
  return pathname === path || pathname === `${path}/`;
}

export function createShepherd(options: ShepherdOptions): Shepherd {
  const replicas = options.replicas;
  const lifetimeMs = options.limits?.maxLifetimeMs ?? DEFAULT_SESSION_LIMITS.maxLifetimeMs;
  let observeStore: StoreObserver | undefined;
  const store = replicas
    ? new RedisStore({
        url: replicas.redisUrl,
        sessionTtlMs: lifetimeMs + 60_000,
        // A heartbeat that hangs must fail within a renewal period, well before the key's TTL.
        commandTimeoutMs: Math.max(
          100,
          Math.min(2000, Math.floor((replicas.replicaTtlMs ?? DEFAULT_REPLICA_TTL_MS) / 3)),
        ),
        observe: (operation, ms, ok) => observeStore?.(operation, ms, ok),
      })
    : undefined;
  const cluster = store
    ? new Cluster({
        store,
        advertiseUrl: replicas?.advertiseUrl,
        secret: replicas?.secret ?? '',
        ...(replicas?.replicaTtlMs !== undefined ? { replicaTtlMs: replicas.replicaTtlMs } : {}),
        sessionTtlMs: lifetimeMs + 60_000,
        logger: options.logger,
      })
    : undefined;
  const supervision = createSupervision({ ...options, ...(cluster ? { runtimeCluster: cluster.forRuntime() } : {}) });
  const { runtime, logger, metrics } = supervision;
  if (cluster) observeStore = metrics.watchCluster(cluster);
  const resourceMetadata = new ResourceMetadata({
    upstreamUrl: options.upstream.url,
    publicUrl: options.publicUrl,
    document: options.resourceMetadata,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const endpoint = createMcpHandler(runtime, {
    ...options,
    credentials: credentialPolicy({
      ...(options.forwardHeaders ? { forwardHeaders: options.forwardHeaders } : {}),
      // Replicas must name a credential alike (a session's identity is checked on whichever
      // replica holds it): without a key of its own, the cluster's secret derives one.
      ...(options.credentialKey
        ? { key: options.credentialKey }
        : replicas
          ? { key: createHmac('sha256', replicas.secret).update('mcp-shepherd credential key').digest('base64url') }
          : {}),
    }),
    identities: new IdentityResolver(options.introspection),
    metadata: resourceMetadata,
    cluster,
  });
  const handler: McpHandler = {
    ...endpoint,
    handle(req, res, how) {
      metrics.timeRequest(req, res);
      return endpoint.handle(req, res, how);
    },
  };
  const router = express.Router();
  router.all('/', (req, res) => handler.handle(req, res));
  let server: Server | undefined;
  let internal: Server | undefined;
  let closing: Promise<void> | undefined;

  return {
    ...supervision,
    cluster,
    router,
    handler,
    wellKnown: (req, res) => resourceMetadata.handle(req, res),
    async listen({ port = 8080, host = '127.0.0.1', path = '/mcp' } = {}) {
      const failed = (res: ServerResponse) => (error: unknown) => {
        logger.error({ err: error }, 'request failed');
        if (!res.headersSent) sendError(res, new InternalError('the request failed', error));
        else res.destroy();
      };
      const timeouts = listenerTimeouts(options.headersTimeoutMs, options.requestTimeoutMs);
      if (cluster && store && replicas) {
        await store.connect();
        internal = await listenInternal(replicas, (req, res) => {
          // Not reachable by clients: every request carries the cluster's secret.
          if (!cluster.isInternal(req)) {
            sendError(res, new ClusterForbiddenError());
          } else if (!servesPath(req.url, path)) {
            sendError(res, new RouteError('SHEPHERD_NOT_FOUND', `Not Found: the MCP endpoint is ${path}.`));
          } else handler.handle(req, res, { internal: true }).catch(failed(res));
        });
        const address = internal.address() as AddressInfo;
        await cluster.start(runtime, `http://${replicas.listen.host}:${address.port}`);
        logger.info({ replica: cluster.replicaId, internal: address.port }, 'joined the cluster');
      }
      // A bare Node handler: express's routing cost more CPU per request than nothing at all.
      server = createServer(timeouts, (req, res) => {
        if (servesPath(req.url, path)) {
          handler.handle(req, res).catch(failed(res));
          return;
        }
        resourceMetadata
          .handle(req, res)
          .then((served) => {
            if (!served)
              sendError(res, new RouteError('SHEPHERD_NOT_FOUND', `Not Found: the MCP endpoint is ${path}.`));
          })
          .catch(failed(res));
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => resolve());
      });
      const address = listening.address() as AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}${path}`;
      resourceMetadata.setListenUrl(url);
      logger.info({ url, upstream: options.upstream.url }, 'mcp-shepherd listening');
      return { url, server: listening };
    },
    close() {
      // Once: a second close (a signal handler and a test's cleanup) waits for the first.
      closing ??= (async () => {
        // A rolling deploy: the sessions go on on the other replicas, upstream untouched.
        if (cluster && replicas?.drain !== 'end') await cluster.drain();
        cluster?.stop();
        await supervision.close();
        if (internal) {
          const listening = internal;
          listening.closeAllConnections();
          await new Promise<void>((resolve) => listening.close(() => resolve()));
        }
        await store?.close();
        if (server) {
          const listening = server;
          listening.closeAllConnections();
          await new Promise<void>((resolve) => listening.close(() => resolve()));
        }
      })();
      return closing;
    },
  };
}

export { connectionMachine } from '../machines/connection.machine.js';
export type { EventLog, EventLogStats, LoggedEvent, ReplayResult } from '../machines/event-log.js';
export { processMachine } from '../machines/process.machine.js';
export { reinitializeMachine } from '../machines/reinitialize.machine.js';
export { sessionMachine } from '../machines/session.machine.js';
export { supervisorMachine } from '../machines/supervisor.machine.js';
export type { HostView, SessionDetail, SessionView, StreamView } from './admin/session-view.js';
export {
  type ClientSupervisor,
  type ClientSupervisorOptions,
  createClientTransport,
  createSupervisor,
  type UpstreamOptions,
} from './client/client-supervisor.js';
export {
  type ClientTransportOptions,
  type JsonRpcMessage,
  ShepherdClientTransport,
} from './client/client-transport.js';
export * from './errors.js';
export { SessionHandle } from './session/session-handle.js';
export type { SessionClosedInfo, SessionCreatedInfo, SessionHooks } from './session/session-hooks.js';
export { type HostInfo, type SessionInfo, type StreamInfo, SupervisorRuntime } from './session/supervisor-runtime.js';
export { createConnectionLogic } from './sse/connection-logic.js';
export { MemoryEventLog, MemoryEventLogs } from './store/memory-event-log.js';
