/**
 * Cluster mode for the benchmark (docs/replicas.md): one Redis (test/support/redis-server.ts,
 * Debian's redis-server, installed with apt-get when missing) and mcp-shepherd replicas that
 * share sessions through it, each the same proxy process as the other scenarios' with
 * `--redis`, its internal listener and an admin API on loopback ports.
 */
import { createClient } from 'redis';
import { type RedisServer, startRedis } from '../../test/support/redis-server.js';
import { type Shepherd, startShepherd } from './shepherd.js';
import { round3 } from './stats.js';

const SECRET = 'bench-cluster-secret';

/** The slowest commands Redis ran (its SLOWLOG): a long Lua script blocks every other client meanwhile. */
export interface SlowCommands {
  slowestMs: number;
  /** The slowest one's command and first arguments. */
  slowest: string;
  over100ms: number;
}

export interface BenchRedis extends RedisServer {
  pid: number;
  /** The slow log since the last call (commands over 10 ms), then cleared. */
  slowCommands(): Promise<SlowCommands>;
}

/** A Redis on a free loopback port, no persistence; SIGKILLed if the benchmark exits without stopping it. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const redis = await startRedis();
  const pid = redis.child.pid;
  if (pid === undefined) throw new Error('redis-server has no pid');
  const kill = () => redis.child.kill('SIGKILL');
  process.once('exit', kill);
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  await client.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000', 'slowlog-max-len', '1024']);
  await client.sendCommand(['SLOWLOG', 'RESET']);
  return {
    ...redis,
    pid,
    async slowCommands() {
      // Entries: [id, unix time, duration µs, [command, args...], ...].
      const entries = (await client.sendCommand(['SLOWLOG', 'GET', '1024'])) as Array<
        [number, number, number, string[]]
      >;
      await client.sendCommand(['SLOWLOG', 'RESET']);
      let slowest: (typeof entries)[number] | undefined;
      for (const entry of entries) if (!slowest || entry[2] > slowest[2]) slowest = entry;
      return {
        slowestMs: round3((slowest?.[2] ?? 0) / 1000),
        slowest: slowest ? slowest[3].slice(0, 3).join(' ').slice(0, 120) : '',
        over100ms: entries.filter((entry) => entry[2] > 100_000).length,
      };
    },
    stop: async () => {
      process.off('exit', kill);
      await client.close().catch(() => client.destroy());
      await redis.stop();
    },
  };
}

export interface Replica extends Shepherd {
  /** Its id in the cluster. */
  replicaId: string;
  adminUrl: string;
}

export interface ReplicaOptions {
  name: string;
  logDir: string;
  upstreamUrl: string;
  /** Without it, a plain proxy (with the same admin API as the replicas). */
  redisUrl?: string;
  cpuProfDir?: string | undefined;
}

/** One proxy; in the cluster when `redisUrl` is given. */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const cluster = options.redisUrl
    ? ['--redis', options.redisUrl, '--cluster-secret', SECRET, '--cluster-listen', '127.0.0.1:0']
    : [];
  const shepherd = await startShepherd({
    name: options.name,
    logDir: options.logDir,
    args: ['--upstream', options.upstreamUrl, '--admin', '127.0.0.1:0', ...cluster],
    cpuProfDir: options.cpuProfDir,
  });
  const described = await shepherd.ask<{ adminUrl?: string; replicaId?: string }>('describe');
  if (described.adminUrl === undefined) throw new Error(`${options.name}: no admin URL`);
  return { ...shepherd, adminUrl: described.adminUrl, replicaId: described.replicaId ?? '' };
}

/** The ids of the sessions a replica holds itself (admin GET /sessions). */
export async function localSessionIds(replica: Replica): Promise<Set<string>> {
  const response = await fetch(new URL('/sessions', replica.adminUrl));
  const sessions = (await response.json()) as Array<{ id: string }>;
  return new Set(sessions.map((s) => s.id));
}

/** Throws unless `owner` holds every one of `ids` and none of `others` holds any. */
export async function assertOwned(ids: readonly string[], owner: Replica, others: readonly Replica[]): Promise<void> {
  const held = await localSessionIds(owner);
  const missing = ids.filter((id) => !held.has(id));
  if (missing.length > 0) throw new Error(`${owner.name} does not hold ${missing.length} of ${ids.length} sessions`);
  for (const other of others) {
    const elsewhere = await localSessionIds(other);
    const stray = ids.filter((id) => elsewhere.has(id));
    if (stray.length > 0) throw new Error(`${other.name} holds ${stray.length} sessions it should forward`);
  }
}

/** What the cluster metrics of some replicas add up to: forwards, and store round trips by operation. */
export interface ClusterCounts {
  forwards: number;
  /** Sessions a replica took over (a dead or lapsed owner's), and sessions stopped because another took them. */
  takeovers: number;
  fenced: number;
  storeErrors: number;
  /** Heartbeat round trips that took over 0.5 s, and those that failed (timed out: the lease is at risk). */
  slowHeartbeats: number;
  failedHeartbeats: number;
  /** Per operation (append, owner, replica, heartbeat, ...): round trips and their total seconds. */
  store: Record<string, { count: number; seconds: number }>;
}

/** Sums the cluster metrics of these replicas (admin GET /metrics). */
export async function clusterCounts(replicas: readonly Replica[]): Promise<ClusterCounts> {
  const counts: ClusterCounts = {
    forwards: 0,
    takeovers: 0,
    fenced: 0,
    storeErrors: 0,
    slowHeartbeats: 0,
    failedHeartbeats: 0,
    store: {},
  };
  for (const replica of replicas) {
    const text = await (await fetch(new URL('/metrics', replica.adminUrl))).text();
    const counter = (name: string) =>
      Number(new RegExp(`^mcp_shepherd_cluster_${name}_total (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    counts.forwards += counter('forwards');
    counts.takeovers += counter('takeovers');
    counts.fenced += counter('fenced');
    counts.storeErrors += counter('store_errors');
    for (const line of text.split('\n')) {
      if (!line.startsWith('mcp_shepherd_cluster_store_seconds') || !line.includes('operation="heartbeat"')) continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('mcp_shepherd_cluster_store_seconds_count') && line.includes('ok="false"'))
        counts.failedHeartbeats += value;
      if (line.includes('ok="true"')) {
        if (line.startsWith('mcp_shepherd_cluster_store_seconds_count')) counts.slowHeartbeats += value;
        else if (line.includes('le="0.5"')) counts.slowHeartbeats -= value;
      }
    }
    const series = /^mcp_shepherd_cluster_store_seconds_(sum|count)\{operation="([^"]+)",ok="true"\} (\S+)/gm;
    for (const [, kind, operation, value] of text.matchAll(series)) {
      const entry = counts.store[operation as string] ?? { count: 0, seconds: 0 };
      counts.store[operation as string] = entry;
      if (kind === 'sum') entry.seconds += Number(value);
      else entry.count += Number(value);
    }
  }
  return counts;
}

/**
 * Per unit of work (`units` requests or events) between two readings: forwards and each
 * operation's round trips, with their mean latency in µs. The heartbeat is left out (it runs
 * on a timer, not per request).
 */
export function countsPerUnit(before: ClusterCounts, after: ClusterCounts, units: number) {
  const store: Record<string, { perUnit: number; meanUs: number }> = {};
  for (const [operation, entry] of Object.entries(after.store)) {
    if (operation === 'heartbeat') continue;
    const count = entry.count - (before.store[operation]?.count ?? 0);
    const seconds = entry.seconds - (before.store[operation]?.seconds ?? 0);
    if (count > 0) store[operation] = { perUnit: round3(count / units), meanUs: round3((seconds * 1e6) / count) };
  }
  return { forwardsPerUnit: round3((after.forwards - before.forwards) / units), store };
}

/** What a phase's replicas went through: sessions that changed owner, store errors, heartbeat round trips. */
export function clusterHealth(counts: ClusterCounts) {
  const heartbeat = counts.store.heartbeat ?? { count: 0, seconds: 0 };
  return {
    takeovers: counts.takeovers,
    fenced: counts.fenced,
    storeErrors: counts.storeErrors,
    slowHeartbeats: counts.slowHeartbeats,
    failedHeartbeats: counts.failedHeartbeats,
    heartbeatMeanUs: round3((heartbeat.seconds * 1e6) / heartbeat.count),
  };
}

/** A request or stream failed because its session changed owner meanwhile: what the cluster went through. */
export class OwnerChangedError extends Error {
  constructor(
    message: string,
    readonly health: ReturnType<typeof clusterHealth>,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'OwnerChangedError';
  }
}

/**
 * Runs `work`; when it fails, says whether a session changed owner meanwhile (an owner whose
 * heartbeat lapsed under load loses its sessions mid-answer, and the client sees its stream end).
 */
export async function explainFailure<T>(replicas: readonly Replica[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const health = await clusterCounts(replicas).then(clusterHealth, () => undefined);
    if (health === undefined || health.takeovers + health.fenced === 0) throw error;
    throw new OwnerChangedError(
      `${(error as Error).message}: a session changed owner meanwhile (${health.takeovers} taken over, ${health.fenced} fenced; heartbeats: ${health.failedHeartbeats} failed, ${health.slowHeartbeats} over 0.5 s, ${health.heartbeatMeanUs} µs on average); see the replicas' logs`,
      health,
      error,
    );
  }
}

/** How late each replica's event loop was at worst since the last call (the first call starts measuring). */
export async function loopDelays(
  replicas: readonly Replica[],
): Promise<Record<string, { maxMs: number; p99Ms: number }>> {
  const delays: Record<string, { maxMs: number; p99Ms: number }> = {};
  for (const replica of replicas) {
    const { maxMs, p99Ms } = await replica.ask<{ maxMs: number; p99Ms: number }>('loop-delay');
    delays[replica.name] = { maxMs: round3(maxMs), p99Ms: round3(p99Ms) };
  }
  return delays;
}
