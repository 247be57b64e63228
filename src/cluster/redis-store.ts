/**
 * The cluster store on Redis (or Valkey) 6.2+: one hash and one stream per session, both under
 * the session's hash tag `{id}` so a Redis Cluster keeps them in one slot; a heartbeat key and
 * a session set per replica. Every write to a session runs as one Lua script that checks the
 * fencing token first, so a replica that lost the session (paused past its lease, cut off)
 * cannot write to it again (Kleppmann 2016, "How to do distributed locking").
 */
import { createHash } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import {
  type ClusterSessionEntry,
  type ClusterStore,
  FencedError,
  type LogBounds,
  replicaOfToken,
  type SessionSnapshot,
  type StoredEvent,
  type StoredSession,
} from './cluster-store.js';

const PREFIX = 'shep:';
const metaKey = (id: string) => `${PREFIX}{${id}}:meta`;
const logKey = (id: string) => `${PREFIX}{${id}}:log`;
const replicaKey = (rid: string) => `${PREFIX}replica:${rid}`;
const replicaSessionsKey = (rid: string) => `${PREFIX}replica:${rid}:sessions`;
const REPLICAS = `${PREFIX}replicas`;
const SESSIONS = `${PREFIX}sessions`;

/**
 * KEYS meta, log. ARGV token, snapshot, ttlMs, maxEvents, maxBytes, n, then n × (seq, stream,
 * data). The explicit stream id `<seq>-0` makes XADD refuse a seq at or below the newest: a
 * second guard against a double append. Oldest entries go first while over either bound, and
 * each stream's newest dropped seq is kept (`ev:<stream>`), so a resume from before it is refused.
 */
const APPEND = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return redis.error_reply('FENCED') end
local n = tonumber(ARGV[6])
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
for i = 0, n - 1 do
  local data = ARGV[9 + i * 3]
  redis.call('XADD', KEYS[2], ARGV[7 + i * 3] .. '-0', 's', ARGV[8 + i * 3], 'd', data)
  bytes = bytes + #data
end
local len = redis.call('XLEN', KEYS[2])
local maxEvents = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local evicted = {}
-- Oldest first, read in chunks (one XRANGE per chunk, not per event), deleted in one XDEL each.
while len > 0 and (len > maxEvents or bytes > maxBytes) do
  local chunk = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', math.min(math.max(len - maxEvents, 64), 1000))
  local ids = {}
  for _, entry in ipairs(chunk) do
    if len <= maxEvents and bytes <= maxBytes then break end
    local fields = entry[2]
    bytes = bytes - #fields[4]
    evicted[fields[2]] = string.match(entry[1], '^(%d+)')
    ids[#ids + 1] = entry[1]
    len = len - 1
  end
  if #ids == 0 then break end
  redis.call('XDEL', KEYS[2], unpack(ids))
end
for stream, seq in pairs(evicted) do redis.call('HSET', KEYS[1], 'ev:' .. stream, seq) end
redis.call('HSET', KEYS[1], 'bytes', bytes, 'snap', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if len > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return len
`;

/** KEYS meta. ARGV expected owner token, replica id: compare and set, with a new epoch. */
const CLAIM = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == false or owner ~= ARGV[1] then return false end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local token = ARGV[2] .. ':' .. epoch
redis.call('HSET', KEYS[1], 'owner', token)
return token
`;

/** KEYS meta. ARGV token: releases ownership (a drain) if it is still this token's. */
const RELEASE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', '')
return 1
`;

/** KEYS meta, log. ARGV token: the session is over. */
const REMOVE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

const sha1 = (script: string) => createHash('sha1').update(script).digest('hex');

export interface RedisStoreOptions {
  url: string;
  /** How long a command may take before it fails (Redis down fails fast instead of queueing). Default 2 s. */
  commandTimeoutMs?: number;
  /** How long a session's records live at most: its lifetime and a margin. */
  sessionTtlMs: number;
  /** Counts every round trip and its latency (metrics). */
  observe?: (operation: string, ms: number, ok: boolean) => void;
}

export class RedisStore implements ClusterStore {
  private readonly client: RedisClientType;
  /**
   * A second connection for heartbeats and owner lookups: they must not queue behind a large
   * append on the first (a heartbeat late by a TTL is a replica taken for dead).
   */
  private readonly control: RedisClientType;
  private readonly commandTimeoutMs: number;

  /** Not connected yet: `connect()` before use. */
  constructor(private readonly options: RedisStoreOptions) {
    this.commandTimeoutMs = options.commandTimeoutMs ?? 2000;
    this.client = createClient({
      url: options.url,
      // A command while Redis is unreachable fails at once: the caller answers 503 or holds.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.commandTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100),
      },
    }) as RedisClientType;
    this.control = this.client.duplicate() as RedisClientType;
    // Errors surface on the commands; the clients reconnect by themselves.
    this.client.on('error', () => {});
    this.control.on('error', () => {});
  }

  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    await store.connect();
    return store;
  }

  async connect(): Promise<void> {
    await Promise.all([this.client.connect(), this.control.connect()]);
  }

  private async call<T>(operation: string, args: string[], client = this.client): Promise<T> {
    const started = performance.now();
    try {
      const reply = (await client.sendCommand(args, { timeout: this.commandTimeoutMs })) as T;
      this.options.observe?.(operation, performance.now() - started, true);
      return reply;
    } catch (error) {
      this.options.observe?.(operation, performance.now() - started, false);
      throw error;
    }
  }

  /** EVALSHA, loading the script once when Redis does not know it (a restarted Redis forgets). */
  private async script<T>(operation: string, script: string, keys: string[], args: string[]): Promise<T> {
    try {
      return await this.call<T>(operation, ['EVALSHA', sha1(script), String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      return this.call<T>(operation, ['EVAL', script, String(keys.length), ...keys, ...args]);
    }
  }

  async heartbeat(replica: { id: string; url: string }, ttlMs: number, join: boolean): Promise<boolean> {
    const value = JSON.stringify({ url: replica.url });
    const reply = await this.call<string | null>(
      'heartbeat',
      ['SET', replicaKey(replica.id), value, join ? 'NX' : 'XX', 'PX', String(ttlMs)],
      this.control,
    );
    if (join) await this.call('heartbeat', ['SADD', REPLICAS, replica.id], this.control);
    return reply === 'OK';
  }

  async leave(replicaId: string): Promise<void> {
    await this.call('leave', ['DEL', replicaKey(replicaId)], this.control);
  }

  async replicaUrl(replicaId: string): Promise<string | undefined> {
    const value = await this.call<string | null>('replica', ['GET', replicaKey(replicaId)], this.control);
    return value === null ? undefined : (JSON.parse(value) as { url: string }).url;
  }

  replicas(): Promise<string[]> {
    return this.call<string[]>('replicas', ['SMEMBERS', REPLICAS]);
  }

  async create(sessionId: string, replicaId: string, snapshot: SessionSnapshot, ttlMs: number): Promise<string> {
    const token = `${replicaId}:1`;
    const meta = metaKey(sessionId);
    await this.call('create', [
      'HSET',
      meta,
      'owner',
      token,
      'epoch',
      '1',
      'bytes',
      '0',
      'snap',
      JSON.stringify(snapshot),
    ]);
    await this.call('create', ['PEXPIRE', meta, String(ttlMs)]);
    await this.call('create', ['SADD', replicaSessionsKey(replicaId), sessionId]);
    await this.call('create', ['ZADD', SESSIONS, String(Date.now() + ttlMs), sessionId]);
    return token;
  }

  async append(
    sessionId: string,
    token: string,
    events: readonly StoredEvent[],
    snapshot: SessionSnapshot,
    bounds: LogBounds,
  ): Promise<void> {
    const args = [
      token,
      JSON.stringify(snapshot),
      String(this.options.sessionTtlMs),
      String(bounds.maxEvents),
      String(bounds.maxBytes),
      String(events.length),
    ];
    for (const event of events) args.push(String(event.seq), String(event.stream), event.data);
    try {
      await this.script('append', APPEND, [metaKey(sessionId), logKey(sessionId)], args);
    } catch (error) {
      if (String((error as Error).message).includes('FENCED')) throw new FencedError(sessionId);
      throw error;
    }
  }

  async ownerOf(sessionId: string): Promise<string | null> {
    return this.call<string | null>('owner', ['HGET', metaKey(sessionId), 'owner'], this.control);
  }

  async claim(sessionId: string, expected: string, replicaId: string): Promise<string | undefined> {
    const token = await this.script<string | null>('claim', CLAIM, [metaKey(sessionId)], [expected, replicaId]);
    if (token === null) return undefined;
    await this.call('claim', ['SADD', replicaSessionsKey(replicaId), sessionId]);
    return token;
  }

  async load(sessionId: string): Promise<StoredSession | undefined> {
    const fields = await this.call<string[] | Record<string, string>>('load', ['HGETALL', metaKey(sessionId)]);
    const meta = Array.isArray(fields) ? pairs(fields) : fields;
    if (meta.snap === undefined || meta.owner === undefined) return undefined;
    const entries = await this.call<Array<[string, string[]]>>('load', ['XRANGE', logKey(sessionId), '-', '+']);
    const events: StoredEvent[] = entries.map(([id, values]) => {
      const record = pairs(values);
      return { seq: Number.parseInt(id, 10), stream: Number(record.s), data: record.d ?? '' };
    });
    const evictedThrough: Record<number, number> = {};
    for (const [field, value] of Object.entries(meta)) {
      if (field.startsWith('ev:')) evictedThrough[Number(field.slice(3))] = Number(value);
    }
    return { owner: meta.owner, snapshot: JSON.parse(meta.snap) as SessionSnapshot, events, evictedThrough };
  }

  async release(sessionId: string, token: string): Promise<void> {
    await this.script('release', RELEASE, [metaKey(sessionId)], [token]);
  }

  async remove(sessionId: string, token: string): Promise<void> {
    const removed = await this.script<number>('remove', REMOVE, [metaKey(sessionId), logKey(sessionId)], [token]);
    if (removed === 1) await this.call('remove', ['ZREM', SESSIONS, sessionId]);
    await this.call('remove', ['SREM', replicaSessionsKey(replicaOfToken(token) ?? ''), sessionId]);
  }

  async orphanOf(replicaId: string): Promise<string | undefined> {
    const id = await this.call<string | null>('sweep', ['SPOP', replicaSessionsKey(replicaId)]);
    return id ?? undefined;
  }

  async forget(replicaId: string): Promise<void> {
    await this.call('sweep', ['SREM', REPLICAS, replicaId]);
  }

  async list(limit: number): Promise<ClusterSessionEntry[]> {
    // Expired entries (deadline passed) are the sweep's to drop.
    await this.call('list', ['ZREMRANGEBYSCORE', SESSIONS, '-inf', String(Date.now())]);
    const ids = await this.call<string[]>('list', ['ZRANGE', SESSIONS, '0', String(limit - 1)]);
    const entries: ClusterSessionEntry[] = [];
    for (const sessionId of ids) {
      const owner = await this.ownerOf(sessionId);
      if (owner === null) continue;
      entries.push({ sessionId, owner: replicaOfToken(owner) });
    }
    return entries;
  }

  async close(): Promise<void> {
    for (const client of [this.client, this.control]) {
      try {
        await client.close();
      } catch {
        client.destroy();
      }
    }
  }
}

/** A flat RESP2-style array of field, value, ... as a record. */
function pairs(values: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < values.length; i += 2) record[values[i] as string] = values[i + 1] as string;
  return record;
}
