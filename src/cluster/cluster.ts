/**
 * This replica's part in a cluster (docs/replicas.md): its heartbeat in the store, the
 * routing of a request for a session held elsewhere (forward to the owner, hold while the
 * owner fails over, take over from a dead one), the eager takeover of a dead replica's
 * sessions, and the drain that hands this replica's sessions over on SIGTERM.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createActor, fromPromise, waitFor } from 'xstate';
import { type RenewInput, type ReplicaActorRef, replicaMachine } from '../../machines/replica.machine.js';
import { BodyTooLargeError, UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { readBody, sendError } from '../proxy/http.js';
import type { RuntimeCluster, SupervisorRuntime } from '../session/supervisor-runtime.js';
import { type ClusterSessionEntry, type ClusterStore, replicaOfToken } from './cluster-store.js';
import { CLUSTER_SECRET_HEADER, createForwarder, type Forwarder } from './forward.js';
import { RouteCache } from './route-cache.js';

export interface ClusterOptions {
  store: ClusterStore;
  /** Where other replicas reach this one's internal listener, e.g. `http://10.0.0.5:7001`; or given to start(). */
  advertiseUrl?: string | undefined;
  /** Shared by every replica: internal requests carry it. */
  secret: string;
  /** A replica whose heartbeat is this old is dead and its sessions are taken over. Default 3 s. */
  replicaTtlMs?: number;
  /** How long a request for a session whose owner cannot be reached is held. Default 2 × TTL + 1 s. */
  holdMs?: number;
  /** How long a session's records live in the store. */
  sessionTtlMs: number;
  logger?: Logger | undefined;
}

export const DEFAULT_REPLICA_TTL_MS = 3000;

/** What the cluster counts, for metrics. */
export interface ClusterCounters {
  forwards: number;
  forwardFailures: number;
  takeovers: number;
  held: number;
  fenced: number;
  storeErrors: number;
}

/** A fresh id per process start, never reused: its heartbeat names this incarnation. */
const mintReplicaId = () => randomBytes(9).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type RouteResult =
  /** The session is held here now (it was taken over): serve it; the body was read already. */
  | { kind: 'local'; body: string | undefined }
  /** No replica holds the session and the store has none: it does not exist. */
  | { kind: 'absent'; body: string | undefined }
  /** Answered: forwarded to the owner, or refused (503). */
  | { kind: 'answered' };

export class Cluster {
  readonly replicaId = mintReplicaId();
  readonly counters: ClusterCounters = {
    forwards: 0,
    forwardFailures: 0,
    takeovers: 0,
    held: 0,
    fenced: 0,
    storeErrors: 0,
  };
  private readonly ttlMs: number;
  private readonly holdMs: number;
  private readonly forwarder: Forwarder;
  private readonly takeovers = new Map<string, Promise<boolean>>();
  /** Owners found for sessions this replica forwards (route-cache.ts). */
  private readonly routes: RouteCache;
  private runtime: SupervisorRuntime | undefined;
  private joined = false;
  private storeHealthy = true;
  /** This replica's lifecycle (machines/replica.machine.ts), with the store's work provided. */
  private replica: ReplicaActorRef | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private advertiseUrl: string | undefined;
  /** When the store last failed: sweeps wait a while after it. */
  private unhealthySince = 0;
  /** When the last heartbeat renewal was sent that succeeded (monotonic ms). */
  private renewedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ClusterOptions) {
    this.ttlMs = options.replicaTtlMs ?? DEFAULT_REPLICA_TTL_MS;
    this.holdMs = options.holdMs ?? 2 * this.ttlMs + 1000;
    this.routes = new RouteCache(this.ttlMs / 3);
    this.forwarder = createForwarder({ secret: options.secret, connectTimeoutMs: Math.max(250, this.ttlMs / 3) });
  }

  /** What the supervisor runtime is given: every session's log goes through the store. */
  forRuntime(): RuntimeCluster {
    return {
      store: this.options.store,
      replicaId: () => this.replicaId,
      sessionTtlMs: this.options.sessionTtlMs,
      onStoreResult: (ok) => this.storeResult(ok),
      onFenced: (sessionId) => {
        this.counters.fenced++;
        this.options.logger?.warn({ sessionId }, 'another replica owns this session now: handed over');
      },
    };
  }

  /** Joins the cluster and keeps the heartbeat; takes over dead replicas' sessions. */
  async start(runtime: SupervisorRuntime, advertiseUrl?: string): Promise<void> {
    this.runtime = runtime;
    this.advertiseUrl = this.options.advertiseUrl ?? advertiseUrl;
    const replica = createActor(
      replicaMachine.provide({
        actors: {
          renew: fromPromise<boolean, RenewInput>(({ input }) => this.renew(input.join)),
          recover: fromPromise<void, void>(() => this.recover()),
          handOver: fromPromise<void, void>(() => this.handOver()),
        },
      }),
      { input: { ttlMs: this.ttlMs } },
    );
    replica.on('replica.health', ({ healthy }) => this.storeResult(healthy));
    replica.on('replica.lapsed', () =>
      this.options.logger?.warn({ replica: this.replicaId }, 'heartbeat had lapsed; rejoining the cluster'),
    );
    this.replica = replica;
    replica.start();
    // Joined, or the store refused the first join: a replica that cannot join does not start.
    const settled = await waitFor(replica, (s) => s.matches('live') || s.matches('waitingToJoin'));
    if (!settled.matches('live')) {
      replica.stop();
      throw new Error('mcp-shepherd: could not join the cluster: the store is unreachable');
    }
    this.joined = true;
    this.sweepTimer = setInterval(() => void this.sweep(), this.ttlMs);
    this.sweepTimer.unref();
  }

  /** New sessions are refused while the store is unreachable: nothing of them could be kept. */
  get acceptsNewSessions(): boolean {
    return this.storeHealthy && this.joined && !this.draining;
  }

  get healthy(): boolean {
    return this.storeHealthy;
  }

  /** An internal request carries the cluster secret. */
  isInternal(req: IncomingMessage): boolean {
    const given = req.headers[CLUSTER_SECRET_HEADER];
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.options.secret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * A request for a session this replica does not hold: forwarded to its owner; held while
   * the owner is unreachable, until it answers again or its heartbeat lapses and this replica
   * takes the session over; never a 404 for a session the store still has.
   */
  async route(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
    maxBodyBytes: number,
  ): Promise<RouteResult> {
    let body: string | undefined;
    if (req.method === 'POST') {
      const read = await readBody(req, maxBodyBytes);
      if (!read.ok) {
        if (read.problem === 'too-large') sendError(res, new BodyTooLargeError(maxBodyBytes));
        return { kind: 'answered' };
      }
      body = read.text;
    }
    const deadline = Date.now() + this.holdMs;
    let holding = false;
    for (;;) {
      let owner: string | null;
      let url: string | undefined;
      const cached = this.routes.get(sessionId);
      if (cached !== undefined) ({ owner, url } = cached);
      else {
        try {
          owner = await this.options.store.ownerOf(sessionId);
          const replica = owner === null ? undefined : replicaOfToken(owner);
          url =
            replica !== undefined && replica !== this.replicaId
              ? await this.options.store.replicaUrl(replica)
              : undefined;
        } catch {
          this.counters.storeErrors++;
          return this.unavailable(res, 'the cluster store is unreachable');
        }
      }
      if (owner === null) return { kind: 'absent', body };
      if (url === undefined) {
        // Released, or its owner's heartbeat lapsed (or it was this replica's before a restart).
        if (await this.takeOver(sessionId, owner)) return { kind: 'local', body };
      } else {
        this.counters.forwards++;
        const result = await this.forwarder.forward(req, res, url, body === undefined ? undefined : Buffer.from(body));
        if (result === 'answered') {
          // Kept from the lookup on: a route lives its age, then the store is asked again.
          if (cached === undefined) this.routes.set(sessionId, { owner, url });
          return { kind: 'answered' };
        }
        // A stale route (the owner moved, or went away) is asked of the store again.
        this.routes.forget(sessionId);
        if (result === 'unreachable') this.counters.forwardFailures++;
      }
      if (Date.now() >= deadline) return this.unavailable(res, 'the replica that holds this session does not answer');
      if (!holding) {
        holding = true;
        this.counters.held++;
      }
      await sleep(100);
    }
  }

  /**
   * Whether a session held here may be served here. While the heartbeat is fresh, yes: no
   * other replica may take it before the heartbeat lapses. Past two thirds of the TTL (this
   * process was paused, or cut off from the store), the store says: a session another replica
   * took meanwhile stops here at once, and the request is routed to its owner.
   */
  async holdsLocally(sessionId: string): Promise<boolean> {
    if (performance.now() - this.renewedAt < (2 * this.ttlMs) / 3) return true;
    const token = this.runtime?.durableLog(sessionId)?.ownerToken;
    let owner: string | null;
    try {
      owner = await this.options.store.ownerOf(sessionId);
    } catch {
      this.counters.storeErrors++;
      throw new UnavailableError(
        'SHEPHERD_CLUSTER_UNAVAILABLE',
        'Service Unavailable: the cluster store is unreachable; retry shortly.',
      );
    }
    if (token !== undefined && owner === token) return true;
    this.counters.fenced++;
    this.options.logger?.warn({ sessionId }, 'another replica took this session over: handed over');
    const handle = this.runtime?.handle(sessionId);
    const ended = handle?.ended();
    this.runtime?.session(sessionId)?.send({ type: 'session.handoff' });
    await ended;
    return false;
  }

  /** Claims a session whose owner is `expected` and starts it here; false when another replica won it. */
  takeOver(sessionId: string, expected: string): Promise<boolean> {
    let running = this.takeovers.get(sessionId);
    if (running === undefined) {
      running = this.claimAndRestore(sessionId, expected).finally(() => this.takeovers.delete(sessionId));
      this.takeovers.set(sessionId, running);
    }
    return running;
  }

  private async claimAndRestore(sessionId: string, expected: string): Promise<boolean> {
    const runtime = this.runtime;
    if (runtime === undefined || this.draining) return false;
    if (runtime.handle(sessionId)) return true;
    const { store } = this.options;
    try {
      const token = await store.claim(sessionId, expected, this.replicaId);
      if (token === undefined) return false;
      const stored = await store.load(sessionId);
      if (stored === undefined) return false;
      const restored = runtime.restoreSession(sessionId, token, stored) !== undefined;
      if (restored) {
        this.counters.takeovers++;
        this.options.logger?.info({ sessionId, from: replicaOfToken(expected) ?? 'released' }, 'took a session over');
      }
      return restored;
    } catch (error) {
      this.counters.storeErrors++;
      this.options.logger?.warn({ sessionId, err: (error as Error).message }, 'takeover failed');
      return false;
    }
  }

  /**
   * Writes the heartbeat (the replica machine's `renew`): true when it was set; false when a
   * renewal found it gone (this replica was paused or cut off past the TTL).
   */
  private async renew(join: boolean): Promise<boolean> {
    const advertiseUrl = this.advertiseUrl;
    if (advertiseUrl === undefined) throw new Error('mcp-shepherd: no address to advertise to the cluster');
    const sentAt = performance.now();
    const replica = { id: this.replicaId, url: advertiseUrl };
    const set = await this.options.store.heartbeat(replica, this.ttlMs, join);
    // A join retried after its first write landed finds its own key: joined all the same.
    const renewed = set || (join && (await this.options.store.replicaUrl(this.replicaId)) === advertiseUrl);
    if (renewed) this.renewedAt = sentAt;
    return renewed;
  }

  /** After a lapse (the machine's `recover`): rejoin, then stop the sessions others took meanwhile. */
  private async recover(): Promise<void> {
    if (!(await this.renew(true))) throw new Error('the heartbeat could not be set again');
    await this.dropLostSessions();
  }

  /**
   * After a lapse (a pause, a cut), the sessions others took over meanwhile stop here at once,
   * before a request can reach them: their owner token in the store is no longer this one's.
   */
  private async dropLostSessions(): Promise<void> {
    const runtime = this.runtime;
    if (runtime === undefined) return;
    for (const sessionId of runtime.sessionIds()) {
      const token = runtime.durableLog(sessionId)?.ownerToken;
      if (token === undefined || (await this.options.store.ownerOf(sessionId)) === token) continue;
      this.counters.fenced++;
      this.options.logger?.warn({ sessionId }, 'another replica took this session over: handed over');
      runtime.session(sessionId)?.send({ type: 'session.handoff' });
    }
  }

  /** Takes over the sessions of replicas whose heartbeat lapsed, without waiting for their clients. */
  private async sweep(): Promise<void> {
    const { store } = this.options;
    // Back from a store outage, every replica renews its heartbeat before anyone is judged dead.
    if (this.draining || !this.storeHealthy || Date.now() - this.unhealthySince < 2 * this.ttlMs) return;
    try {
      for (const replica of await store.replicas()) {
        if (replica === this.replicaId || (await store.replicaUrl(replica)) !== undefined) continue;
        for (let sessionId = await store.orphanOf(replica); sessionId; sessionId = await store.orphanOf(replica)) {
          const owner = await store.ownerOf(sessionId);
          if (owner !== null && replicaOfToken(owner) === replica) await this.takeOver(sessionId, owner);
        }
        await store.forget(replica);
      }
    } catch {
      this.counters.storeErrors++;
    }
  }

  private storeResult(ok: boolean): void {
    if (!ok) {
      this.counters.storeErrors++;
      this.unhealthySince = Date.now();
    }
    this.storeHealthy = ok;
  }

  private unavailable(res: ServerResponse, why: string): RouteResult {
    sendError(
      res,
      new UnavailableError('SHEPHERD_CLUSTER_UNAVAILABLE', `Service Unavailable: ${why}; retry shortly.`, 1),
    );
    return { kind: 'answered' };
  }

  /**
   * A rolling deploy's SIGTERM: no new sessions; each session's log is flushed, its ownership
   * released and it ends here without ending upstream, so the next request on any replica
   * takes it over at once; then this replica leaves.
   */
  async drain(): Promise<void> {
    this.draining = true;
    const replica = this.replica;
    if (replica === undefined || replica.getSnapshot().status === 'done') return this.stop();
    replica.send({ type: 'replica.drain' });
    await waitFor(replica, (s) => s.status === 'done', { timeout: Number.POSITIVE_INFINITY });
    this.stop();
  }

  /** The replica machine's `handOver`: every session flushed, released and ended here; then leave. */
  private async handOver(): Promise<void> {
    const runtime = this.runtime;
    if (runtime !== undefined) {
      await Promise.all(
        runtime.sessionIds().map(async (sessionId) => {
          const log = runtime.durableLog(sessionId);
          const handle = runtime.handle(sessionId);
          if (log === undefined || handle === undefined) return;
          const ended = handle.ended();
          await log.settled();
          const token = log.ownerToken;
          if (token !== undefined) await this.options.store.release(sessionId, token).catch(() => {});
          runtime.session(sessionId)?.send({ type: 'session.handoff' });
          await ended;
        }),
      );
    }
    await this.options.store.leave(this.replicaId);
  }

  /** Every replica's sessions with their owner, from the store (the admin API's cluster view). */
  listSessions(limit: number): Promise<ClusterSessionEntry[]> {
    return this.options.store.list(limit);
  }

  stop(): void {
    this.replica?.stop();
    clearInterval(this.sweepTimer);
    void this.forwarder.close();
  }
}
