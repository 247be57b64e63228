/**
 * The Redis cluster store against a real redis-server: fencing, the claim's compare-and-set
 * under racing claimers, the log's bounds with what a resume needs to know of evictions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencedError, type SessionSnapshot } from '../../src/cluster/cluster-store.js';
import { RedisStore } from '../../src/cluster/redis-store.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';

const snapshot = (nextSeq: number): SessionSnapshot => ({
  eventTag: 'tag1',
  identity: undefined,
  initialize: { key: 'initialize', body: '{}', requestId: 0 },
  createdAt: Date.now(),
  restore: {
    upstreamSessionId: 'up-1',
    protocolVersion: '2025-11-25',
    nextSeq,
    nextStream: 3,
    initializedBody: undefined,
    reinitializations: 0,
    credential: undefined,
    standaloneDelivered: 0,
    streams: [],
  },
});
const bounds = { maxEvents: 1000, maxBytes: 1 << 20 };
const event = (seq: number, stream = 2, data = `{"n":${seq}}`) => ({ seq, stream, data });

describe('Redis cluster store', () => {
  let redis: RedisServer;
  let store: RedisStore;
  beforeAll(async () => {
    redis = await startRedis();
    store = await RedisStore.connect({ url: redis.url, sessionTtlMs: 60_000 });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });

  it('keeps what the owner appends, and refuses a token that lost the session', async () => {
    const token = await store.create('s1', 'r1', snapshot(1), 60_000);
    await store.append('s1', token, [event(1), event(2)], snapshot(3), bounds);
    const claimed = await store.claim('s1', token, 'r2');
    expect(claimed).toBe('r2:2');
    // The old owner, back from a pause, cannot write any more.
    await expect(store.append('s1', token, [event(3)], snapshot(4), bounds)).rejects.toBeInstanceOf(FencedError);
    await store.append('s1', claimed as string, [event(3)], snapshot(4), bounds);
    const loaded = await store.load('s1');
    expect(loaded?.owner).toBe('r2:2');
    expect(loaded?.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(loaded?.snapshot.restore.nextSeq).toBe(4);
    // A seq at or below the newest is refused by the stream itself.
    await expect(store.append('s1', claimed as string, [event(3)], snapshot(4), bounds)).rejects.toThrow();
  });

  it('gives a session to exactly one of many racing claimers', async () => {
    const token = await store.create('s2', 'r1', snapshot(1), 60_000);
    const claimers = Array.from({ length: 8 }, (_, i) => `c${i}`);
    const results = await Promise.all(claimers.map((c) => store.claim('s2', token, c)));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    expect(await store.ownerOf('s2')).toBe(winners[0]);
  });

  it('trims the oldest events past either bound and remembers what each stream lost', async () => {
    const token = await store.create('s3', 'r1', snapshot(1), 60_000);
    const small = { maxEvents: 3, maxBytes: 1 << 20 };
    await store.append(
      's3',
      token,
      [event(1, 2), event(2, 4), event(3, 2), event(4, 4), event(5, 2)],
      snapshot(6),
      small,
    );
    const loaded = await store.load('s3');
    expect(loaded?.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(loaded?.evictedThrough).toEqual({ 2: 1, 4: 2 });
    await store.append('s3', token, [event(6, 2, 'x'.repeat(100))], snapshot(7), { maxEvents: 10, maxBytes: 105 });
    expect((await store.load('s3'))?.events.map((e) => e.seq)).toEqual([6]);
  });

  it('trims a log far past its bound in chunks and still keeps exactly the newest events', async () => {
    const token = await store.create('s5', 'r1', snapshot(1), 60_000);
    // 2500 over a bound of 10: several XRANGE chunks in one script.
    const burst = Array.from({ length: 2510 }, (_, i) => event(i + 1, i % 2 === 0 ? 0 : 1));
    await store.append('s5', token, burst, snapshot(2511), { maxEvents: 10, maxBytes: 1 << 20 });
    const loaded = await store.load('s5');
    expect(loaded?.events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 2501 + i));
    expect(loaded?.evictedThrough).toEqual({ 0: 2499, 1: 2500 });
  });

  it('releases for a drain, removes when over, and tells a session that never was', async () => {
    const token = await store.create('s4', 'r1', snapshot(1), 60_000);
    await store.release('s4', token);
    expect(await store.ownerOf('s4')).toBe('');
    const next = await store.claim('s4', '', 'r3');
    expect(next).toBe('r3:2');
    expect(await store.list(100)).toContainEqual({ sessionId: 's4', owner: 'r3' });
    await store.remove('s4', next as string);
    expect(await store.ownerOf('s4')).toBeNull();
    expect(await store.load('s4')).toBeUndefined();
    expect(await store.ownerOf('never')).toBeNull();
  });

  it('keeps a heartbeat only while it is renewed', async () => {
    expect(await store.heartbeat({ id: 'hb', url: 'http://127.0.0.1:1' }, 200, true)).toBe(true);
    expect(await store.replicaUrl('hb')).toBe('http://127.0.0.1:1');
    expect(await store.heartbeat({ id: 'hb', url: 'http://127.0.0.1:1' }, 200, false)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await store.replicaUrl('hb')).toBeUndefined();
    // Lapsed: a renewal says so, and the replica must rejoin.
    expect(await store.heartbeat({ id: 'hb', url: 'http://127.0.0.1:1' }, 200, false)).toBe(false);
    expect(await store.replicas()).toContain('hb');
  });
});
