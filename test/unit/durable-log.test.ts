import { describe, expect, it } from 'vitest';
import { formatEventId } from '../../machines/event-id.js';
import type { ClusterStore, SessionSnapshot, StoredEvent } from '../../src/cluster/cluster-store.js';
import { FencedError } from '../../src/cluster/cluster-store.js';
import { DurableLog, MAX_BATCH_EVENTS } from '../../src/cluster/durable-log.js';
import { MemoryEventLog } from '../../src/store/memory-event-log.js';

const snapshot = { eventTag: 't', createdAt: 0 } as SessionSnapshot;
const bounds = { maxEvents: 10_000, maxBytes: 10_000_000 };

/** A store whose appends wait until the test settles them, one by one; `fail` rejects instead. */
function heldStore() {
  const appends: Array<{ events: StoredEvent[]; settle: () => void; fail: (error: Error) => void }> = [];
  const store = {
    create: async () => 'r1:1',
    append: (_session: string, _token: string, events: readonly StoredEvent[]) =>
      new Promise<void>((resolve, reject) => appends.push({ events: [...events], settle: resolve, fail: reject })),
  } as unknown as ClusterStore;
  return { store, appends };
}

function logOver(store: ClusterStore, extra: Partial<ConstructorParameters<typeof DurableLog>[0]> = {}) {
  return new DurableLog({
    sessionId: 's1',
    store,
    memory: new MemoryEventLog('t'),
    bounds,
    snapshot: () => snapshot,
    owner: { replicaId: 'r1', ttlMs: 1000 },
    onFenced: () => {},
    retryDelayMs: () => 0,
    ...extra,
  });
}

const append = (log: DurableLog, seq: number) =>
  log.append({ stream: 0, seq, eventId: formatEventId('t', 0, seq), data: `e${seq}` });

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('DurableLog', () => {
  it('writes a burst in bounded batches, in order, and commits each only once the store acknowledged it', async () => {
    const { store, appends } = heldStore();
    const log = logOver(store);
    const total = MAX_BATCH_EVENTS * 2 + 10;
    for (let seq = 1; seq <= total; seq++) append(log, seq);
    const mustWait = log.waitFor();
    expect(mustWait).toBe(total);
    expect(log.committed()).toBe(0);

    const sizes: number[] = [];
    const seqs: number[] = [];
    while (log.committed() < total) {
      await tick();
      const next = appends.shift();
      if (next === undefined) throw new Error(`no append in flight at committed ${log.committed()}`);
      sizes.push(next.events.length);
      seqs.push(...next.events.map((event) => event.seq));
      const before = log.committed();
      next.settle();
      await tick();
      expect(log.committed()).toBeGreaterThan(before);
    }
    expect(sizes).toEqual([MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 10]);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(log.waitFor()).toBeUndefined();
  });

  it('an event appended while a batch is in flight waits for the next batch, not the one in flight', async () => {
    const { store, appends } = heldStore();
    const log = logOver(store);
    append(log, 1);
    await tick();
    expect(appends).toHaveLength(1);
    append(log, 2);
    const second = log.waitFor();
    expect(second).toBe(2);

    appends.shift()?.settle();
    await tick();
    expect(log.committed()).toBe(1);
    expect(log.waitFor()).toBe(2);

    expect(appends.map((a) => a.events.map((event) => event.seq))).toEqual([[2]]);
    appends.shift()?.settle();
    await log.settled();
    expect(log.committed()).toBe(2);
  });

  it('retries a failed write with the same events and reports the store down, then up', async () => {
    const { store, appends } = heldStore();
    const results: boolean[] = [];
    const log = logOver(store, { onStoreResult: (ok) => results.push(ok) });
    append(log, 1);
    append(log, 2);
    await tick();
    appends.shift()?.fail(new Error('connection refused'));
    await tick();
    await tick();
    const retry = appends.shift();
    expect(retry?.events.map((event) => event.seq)).toEqual([1, 2]);
    expect(log.committed()).toBe(0);
    retry?.settle();
    await log.settled();
    expect(results).toEqual([false, true]);
    expect(log.committed()).toBe(2);
  });

  it('stops at a fencing error: the session is told, nothing more is written, a drain does not wait', async () => {
    const { store, appends } = heldStore();
    let fenced = 0;
    const log = logOver(store, { onFenced: () => fenced++ });
    append(log, 1);
    await tick();
    appends.shift()?.fail(new FencedError('s1'));
    await tick();
    append(log, 2);
    await tick();
    expect(fenced).toBe(1);
    expect(log.isFenced).toBe(true);
    expect(appends).toHaveLength(0);
    await log.settled();
  });

  it('a freed log lets go of every waiter: the session’s last events go at once', async () => {
    const { store } = heldStore();
    const log = logOver(store);
    let released = 0;
    log.onCommit(() => released++);
    append(log, 1);
    expect(log.waitFor()).toBe(1);
    log.free();
    expect(released).toBe(1);
    expect(log.waitFor()).toBeUndefined();
    expect(log.committed()).toBeGreaterThanOrEqual(1);
    await log.settled();
  });
});
