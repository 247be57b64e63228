/**
 * The admin listener: a separate HTTP server (off unless asked for) with the sessions as JSON,
 * their live changes as SSE, Prometheus metrics, health and readiness, the statechart
 * definitions, and the live page that draws them. Loopback by default; an optional bearer
 * token guards everything but the health probes.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectionMachine } from '../../machines/connection.machine.js';
import { processMachine } from '../../machines/process.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { sessionGroupMachine } from '../../machines/session-group.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { ClusterSessionEntry } from '../cluster/cluster-store.js';
import { InternalError, RouteError, UnauthorizedError, UnavailableError } from '../errors.js';
import { sendError, sendJson } from '../proxy/http.js';
import type { Supervision } from '../session/supervision.js';
import { SseWriter } from '../sse/sse-writer.js';
import { machineDefinition } from './machine-json.js';
import { renderAdminPage } from './page.js';
import { PageAssets, sendAsset } from './page-assets.js';

export interface AdminOptions {
  /** Required as `Authorization: Bearer <token>` (or `?token=` for the page) when set. */
  token?: string | undefined;
  /** Live updates are coalesced to at most one per this many ms. Default 100. */
  updateIntervalMs?: number;
  /** Where the live page's built script and stylesheet are. Default: this package's dist/assets. */
  assetsDir?: string;
  /** Cluster mode: `/sessions?scope=cluster` lists every replica's sessions with their owner. */
  cluster?: { readonly replicaId: string; listSessions(limit: number): Promise<ClusterSessionEntry[]> } | undefined;
}

/** The most sessions `/sessions?scope=cluster` lists. */
const CLUSTER_LIST_LIMIT = 10_000;

export interface AdminServer {
  listen(options?: { host?: string; port?: number }): Promise<{ url: string; server: Server }>;
  close(): Promise<void>;
}

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:9090';

/** The live page's built assets are not there: the operator must build them. */
const assetsMissing = (message: string) => new UnavailableError('SHEPHERD_ASSETS_MISSING', message, 60);

const NO_SUCH_SESSION = 'No such session: it ended, expired or never existed.';

/** Health probes answer without a token: they tell nothing about sessions. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
/** The page's script and stylesheet are open too: the same static files as in the npm package. */
const ASSETS_PREFIX = '/assets/';

const MACHINES = {
  supervisor: supervisorMachine,
  sessionGroup: sessionGroupMachine,
  session: sessionMachine,
  connection: connectionMachine,
  process: processMachine,
};

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAdminServer(shepherd: Supervision, options: AdminOptions = {}): AdminServer {
  const updateIntervalMs = options.updateIntervalMs ?? 100;
  const assets = new PageAssets(options.assetsDir);
  const streams = new Set<SseWriter>();
  let pending: NodeJS.Timeout | undefined;
  let server: Server | undefined;

  const machines = Object.fromEntries(
    Object.entries(MACHINES).map(([id, machine]) => [id, machineDefinition(machine)]),
  );

  const pushSessions = () => {
    pending = undefined;
    const data = JSON.stringify(shepherd.sessions.list());
    for (const writer of streams) writer.event(data, undefined, undefined, 'sessions');
  };
  // Every change anywhere schedules one update; a burst becomes one message.
  const schedule = () => {
    if (streams.size > 0 && pending === undefined) pending = setTimeout(pushSessions, updateIntervalMs);
  };
  const stopWatching = shepherd.watcher.listen({ lifecycle: schedule, session: schedule });

  function authorized(req: IncomingMessage, url: URL): boolean {
    if (options.token === undefined || OPEN_PATHS.has(url.pathname) || url.pathname.startsWith(ASSETS_PREFIX)) {
      return true;
    }
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    return tokenMatches(bearer ?? url.searchParams.get('token') ?? undefined, options.token);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!authorized(req, url)) {
      sendError(
        res,
        new UnauthorizedError(
          'Unauthorized: send Authorization: Bearer <admin token> (or ?token= for the page).',
          'mcp-shepherd admin',
        ),
      );
      return;
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const sessionId = /^\/sessions\/([^/]+)$/.exec(path)?.[1];

    if (method === 'GET' && path === '/') {
      const notBuilt = await assets.missing();
      if (notBuilt !== undefined) {
        shepherd.logger.error({ assetsDir: assets.dir }, notBuilt);
        sendError(res, assetsMissing(notBuilt));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(renderAdminPage());
    } else if (method === 'GET' && path.startsWith(ASSETS_PREFIX)) {
      const name = path.slice(ASSETS_PREFIX.length);
      const asset = await assets.get(name);
      if (asset) sendAsset(req, res, asset);
      else if (assets.knows(name))
        sendError(res, assetsMissing(`${assets.path(name)} is missing: run \`npm run build\`.`));
      else sendError(res, new RouteError('SHEPHERD_NOT_FOUND', `No asset ${path}.`));
    } else if (method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else if (method === 'GET' && path === '/readyz') {
      const state = shepherd.runtime.actor.getSnapshot().value;
      const ready = state === 'running';
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : state, sessions: shepherd.runtime.sessionCount });
    } else if (method === 'GET' && path === '/metrics') {
      const body = await shepherd.metrics.render();
      res.writeHead(200, { 'content-type': shepherd.metrics.contentType() }).end(body);
    } else if (method === 'GET' && path === '/machines') {
      sendJson(res, 200, machines);
    } else if (method === 'GET' && path === '/sessions' && url.searchParams.get('scope') === 'cluster') {
      // Every replica's sessions with their owner (docs/replicas.md); this replica's own in detail at /sessions.
      const cluster = options.cluster;
      if (cluster === undefined) {
        sendError(
          res,
          new RouteError('SHEPHERD_NOT_FOUND', 'Not a cluster: start with --redis to list every replica.'),
        );
        return;
      }
      const sessions = await cluster.listSessions(CLUSTER_LIST_LIMIT);
      sendJson(res, 200, {
        replica: cluster.replicaId,
        sessions: sessions.map((s) => ({ ...s, here: s.owner === cluster.replicaId })),
      });
    } else if (method === 'GET' && path === '/sessions') {
      sendJson(res, 200, shepherd.sessions.list());
    } else if (method === 'GET' && path === '/events') {
      const writer = new SseWriter(res, { keepAliveMs: 15_000 });
      writer.start();
      streams.add(writer);
      res.on('close', () => streams.delete(writer));
      writer.event(JSON.stringify(shepherd.sessions.list()), undefined, undefined, 'sessions');
    } else if (sessionId !== undefined && method === 'GET') {
      const detail = shepherd.sessions.detail(decodeURIComponent(sessionId));
      if (detail) sendJson(res, 200, detail);
      else sendError(res, new RouteError('SHEPHERD_NOT_FOUND', NO_SUCH_SESSION));
    } else if (sessionId !== undefined && method === 'DELETE') {
      await deleteSession(decodeURIComponent(sessionId), res);
    } else if (['/', '/healthz', '/readyz', '/metrics', '/machines', '/sessions', '/events'].includes(path)) {
      sendError(res, new RouteError('SHEPHERD_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}.`, 'GET'));
    } else {
      sendError(res, new RouteError('SHEPHERD_NOT_FOUND', `No admin endpoint ${path}.`));
    }
  }

  /** Ends a session as a client DELETE would (upstream DELETE included); answers once it ended. */
  async function deleteSession(id: string, res: ServerResponse): Promise<void> {
    const session = shepherd.runtime.session(id);
    if (!session) {
      sendError(res, new RouteError('SHEPHERD_NOT_FOUND', NO_SUCH_SESSION));
      return;
    }
    const ended = new Promise<void>((resolve) => {
      session.subscribe({ complete: () => resolve(), error: () => resolve() });
    });
    session.send({ type: 'session.delete' });
    await ended;
    sendJson(res, 200, { id, state: 'terminated' });
  }

  return {
    async listen({ host = '127.0.0.1', port = 9090 } = {}) {
      const listening = createServer((req, res) => {
        route(req, res).catch((error: unknown) => {
          shepherd.logger.error({ err: error }, 'admin request failed');
          if (!res.headersSent) sendError(res, new InternalError('the admin listener failed', error));
          else res.end();
        });
      });
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => resolve());
      });
      const address = listening.address() as AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
      shepherd.logger.info({ url, token: options.token !== undefined }, 'mcp-shepherd admin listening');
      return { url, server: listening };
    },
    async close() {
      stopWatching();
      clearTimeout(pending);
      for (const writer of streams) writer.end();
      streams.clear();
      if (server) {
        const closing = server;
        closing.closeAllConnections();
        await new Promise<void>((resolve) => closing.close(() => resolve()));
      }
    },
  };
}
