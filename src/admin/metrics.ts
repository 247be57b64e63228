/**
 * Prometheus metrics (prom-client, on a registry of its own so that embedding apps keep
 * theirs clean). Counters move on the events the session watcher sees; gauges are read from
 * the live actors at scrape time, so they can never drift from the truth.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConnectionStatus } from '../../machines/connection.types.js';
import type { ClusterCounters } from '../cluster/cluster.js';
import type { SessionWatcher } from '../session/session-watcher.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';

/** The session machine's state value as one label: `live.active.idle`. */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  const [key, child] = Object.entries(value)[0] ?? ['?', undefined];
  return child === undefined ? key : `${key}.${statePath(child)}`;
}

/** Times one store round trip: its operation, milliseconds and outcome. */
export type StoreObserver = (operation: string, ms: number, ok: boolean) => void;

const LIVE_STREAM_STATES = new Set(['connecting', 'open', 'stalled', 'waiting']);

export class ShepherdMetrics {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'status'>;
  private readonly stopWatching: () => void;

  constructor(runtime: SupervisorRuntime, watcher: SessionWatcher) {
    const registers = [this.registry];
    new Gauge({
      name: 'mcp_shepherd_sessions',
      help: 'Live sessions by state (the session statechart state, dotted)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const session of runtime.inspectAll()) this.inc({ state: statePath(session.value) });
      },
    });
    new Gauge({
      name: 'mcp_shepherd_streams_open',
      help: 'Streams open now: upstream (connection actors not finished) and client (SSE responses attached)',
      labelNames: ['side'],
      registers,
      collect() {
        let upstream = 0;
        let client = 0;
        for (const session of runtime.inspectAll()) {
          for (const stream of session.streams) {
            if (LIVE_STREAM_STATES.has(stream.state)) upstream++;
            if (stream.attached) client++;
          }
        }
        this.set({ side: 'upstream' }, upstream);
        this.set({ side: 'client' }, client);
      },
    });
    new Gauge({
      name: 'mcp_shepherd_bridged_sessions',
      help: 'Live 2025 sessions whose upstream speaks 2026-07-28 (the era bridge)',
      registers,
      collect() {
        this.set(runtime.bridges.size);
      },
    });
    new Gauge({
      name: 'mcp_shepherd_upstream_eras',
      help: "Upstream URLs by what the proxy knows of their era (its era actor's state: unknown, probing, modern, legacy)",
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const { state } of runtime.eras.known()) this.inc({ state });
      },
    });
    new Gauge({
      name: 'mcp_shepherd_stdio_processes',
      help: 'stdio server processes of live sessions, by process state (spawning, replaying, ready, restarting, stopping)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const session of runtime.inspectAll()) if (session.host) this.inc({ state: session.host.state });
      },
    });
    const created = new Counter({ name: 'mcp_shepherd_sessions_created_total', help: 'Sessions created', registers });
    const expired = new Counter({
      name: 'mcp_shepherd_sessions_expired_total',
      help: 'Sessions that expired (idle, lifetime, upstream gone)',
      labelNames: ['reason'],
      registers,
    });
    const terminated = new Counter({
      name: 'mcp_shepherd_sessions_terminated_total',
      help: 'Sessions ended on purpose (DELETE, shutdown, admin) or whose initialize failed',
      labelNames: ['reason'],
      registers,
    });
    const reconnects = new Counter({
      name: 'mcp_shepherd_reconnects_total',
      help: 'Upstream stream reconnects (entering the waiting state) by reason',
      labelNames: ['reason'],
      registers,
    });
    const relayed = new Counter({
      name: 'mcp_shepherd_events_relayed_total',
      help: 'Upstream events forwarded',
      registers,
    });
    new Counter({
      name: 'mcp_shepherd_events_replayed_total',
      help: 'Events replayed from the event log to resuming clients',
      registers,
      collect() {
        this.reset();
        this.inc(runtime.stats.eventsReplayed);
      },
    });
    new Counter({
      name: 'mcp_shepherd_events_evicted_total',
      help: 'Events dropped from full event logs (a resume from before them gets 400)',
      registers,
      collect() {
        this.reset();
        this.inc(runtime.stats.eventsEvicted);
      },
    });
    const upstreamErrors = new Counter({
      name: 'mcp_shepherd_upstream_errors_total',
      help: 'Failed upstream attempts by HTTP status (or network-error, connect-timeout)',
      labelNames: ['status'],
      registers,
    });
    const invalidOutput = new Counter({
      name: 'mcp_shepherd_upstream_invalid_messages_total',
      help: 'Upstream SSE events or JSON bodies that were not JSON-RPC, dropped before the client',
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'mcp_shepherd_request_duration_seconds',
      help: 'MCP endpoint requests, until the response headers (for SSE: until the stream starts)',
      labelNames: ['method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });

    this.stopWatching = watcher.listen({
      lifecycle(event) {
        if (event.event === 'created') created.inc();
        else if (event.event === 'expired') expired.inc({ reason: event.reason ?? 'unknown' });
        else if (event.event === 'terminated' || event.event === 'failed') {
          terminated.inc({ reason: event.reason ?? event.event });
        }
      },
      session(_id, event) {
        if (event.type === 'session.event') relayed.inc();
        else if (event.type === 'session.upstream.invalid') invalidOutput.inc();
        else if (event.type === 'session.stream.status') {
          const status = event.status as ConnectionStatus;
          if (status.state === 'waiting') reconnects.inc({ reason: status.reason ?? 'unknown' });
          const failedAttempt = status.state === 'waiting' || status.state === 'failed' || status.state === 'expired';
          const cause =
            status.status !== undefined && status.status >= 400
              ? String(status.status)
              : status.reason === 'network-error' || status.reason === 'connect-timeout'
                ? status.reason
                : undefined;
          if (failedAttempt && cause !== undefined) upstreamErrors.inc({ status: cause });
        }
      },
    });
  }

  /**
   * Cluster mode (docs/replicas.md): forwards, takeovers, held requests, fenced sessions and
   * the store's health, read from the cluster at scrape time; returns the function that times
   * each store round trip.
   */
  watchCluster(cluster: { counters: ClusterCounters; readonly healthy: boolean }): StoreObserver {
    const registers = [this.registry];
    const counted: Array<[keyof ClusterCounters, string, string]> = [
      ['forwards', 'mcp_shepherd_cluster_forwards_total', 'Requests forwarded to the replica that owns their session'],
      [
        'forwardFailures',
        'mcp_shepherd_cluster_forward_failures_total',
        'Forwards whose owner could not be reached before it answered',
      ],
      [
        'takeovers',
        'mcp_shepherd_cluster_takeovers_total',
        'Sessions this replica took over from a dead or drained one',
      ],
      ['held', 'mcp_shepherd_cluster_held_requests_total', 'Requests held while their session failed over'],
      [
        'fenced',
        'mcp_shepherd_cluster_fenced_total',
        'Sessions that stopped here because another replica owns them now',
      ],
      ['storeErrors', 'mcp_shepherd_cluster_store_errors_total', 'Failed store (Redis) operations'],
    ];
    for (const [key, name, help] of counted) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(cluster.counters[key]);
        },
      });
    }
    new Gauge({
      name: 'mcp_shepherd_cluster_store_up',
      help: 'The cluster store (Redis) answered the last heartbeat and writes (1) or not (0)',
      registers,
      collect() {
        this.set(cluster.healthy ? 1 : 0);
      },
    });
    const roundTrips = new Histogram({
      name: 'mcp_shepherd_cluster_store_seconds',
      help: 'Store (Redis) round trips by operation (append, owner, claim, heartbeat, ...) and outcome',
      labelNames: ['operation', 'ok'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    });
    return (operation, ms, ok) => roundTrips.observe({ operation, ok: ok ? 'true' : 'false' }, ms / 1000);
  }

  /** Times one request of the MCP endpoint, until its response headers go out. */
  timeRequest(req: IncomingMessage, res: ServerResponse): void {
    const end = this.requestDuration.startTimer({ method: req.method ?? 'UNKNOWN' });
    const writeHead = res.writeHead;
    let timed = false;
    const observe = () => {
      if (timed) return;
      timed = true;
      end({ status: String(res.statusCode) });
    };
    res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
      const result = writeHead.apply(this, args);
      observe();
      return result;
    } as typeof writeHead;
    res.once('close', observe);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  stop(): void {
    this.stopWatching();
    this.registry.clear();
  }
}
