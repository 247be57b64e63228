import { describe, expect, it } from 'vitest';
import { formatEventId } from '../../machines/event-id.js';
import { MemoryEventLog, MemoryEventLogs } from '../../src/store/memory-event-log.js';

function fill(log: MemoryEventLog, streams: number[], data = 'x') {
  streams.forEach((stream, i) => {
    const seq = i + 1;
    log.append({ stream, seq, eventId: formatEventId('t', stream, seq), data: `${data}${seq}` });
  });
}

describe('MemoryEventLog', () => {
  it('replays only the later events of the id’s stream, in order', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0, 2, 0, 2, 0]);
    const result = log.replayAfter('t.0.1');
    expect(result).toEqual({
      ok: true,
      stream: 0,
      afterSeq: 1,
      throughSeq: 5,
      events: [
        { stream: 0, seq: 3, eventId: 't.0.3', data: 'x3' },
        { stream: 0, seq: 5, eventId: 't.0.5', data: 'x5' },
      ],
    });
    expect(log.replayAfter('t.2.4')).toEqual({ ok: true, stream: 2, afterSeq: 4, throughSeq: 5, events: [] });
  });

  it('takes an id as a position: a priming id names its stream and the counter at the time', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0, 1, 0, 1]);
    expect(log.replayAfter('t.1.1')).toMatchObject({ ok: true, stream: 1, events: [{ seq: 2 }, { seq: 4 }] });
    expect(new MemoryEventLog('t').replayAfter('t.3.0')).toEqual({
      ok: true,
      stream: 3,
      afterSeq: 0,
      throughSeq: 0,
      events: [],
    });
  });

  it('refuses ids of another session, never issued, or malformed', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0, 1]);
    expect(log.replayAfter('other.0.1')).toMatchObject({ ok: false, code: 'foreign' });
    expect(log.replayAfter('t.0.9')).toMatchObject({ ok: false, code: 'unknown' });
    expect(log.replayAfter('not an id')).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('is bounded by count: the oldest go first, and an id before them is refused as evicted', () => {
    const log = new MemoryEventLog('t', { maxEvents: 3, maxBytes: 1e9 });
    fill(log, [0, 0, 0, 0, 0, 0]);
    expect(log.size).toBe(3);
    expect(log.evicted).toBe(3);
    expect(log.replayAfter('t.0.2')).toMatchObject({ ok: false, code: 'evicted' });
    // The event just before the oldest kept one is fine: nothing after it was lost.
    expect(log.replayAfter('t.0.3')).toMatchObject({ ok: true, events: [{ seq: 4 }, { seq: 5 }, { seq: 6 }] });
  });

  it('is bounded by bytes', () => {
    const log = new MemoryEventLog('t', { maxEvents: 1000, maxBytes: 10 });
    fill(log, [0, 0, 0, 0], 'abcd'); // 5 bytes each
    expect(log.size).toBe(2);
    expect(log.byteSize).toBe(10);
    const big = new MemoryEventLog('t', { maxEvents: 1000, maxBytes: 10 });
    big.append({ stream: 0, seq: 1, eventId: 't.0.1', data: 'a'.repeat(50) });
    expect(big.size).toBe(0);
    expect(big.byteSize).toBe(0);
  });

  it('keeps working across many evictions (compaction)', () => {
    const log = new MemoryEventLog('t', { maxEvents: 10, maxBytes: 1e9 });
    fill(
      log,
      Array.from({ length: 5000 }, () => 0),
    );
    expect(log.size).toBe(10);
    const replay = log.replayAfter('t.0.4995');
    expect(replay.ok && replay.events.map((e) => e.seq)).toEqual([4996, 4997, 4998, 4999, 5000]);
  });

  it('accepts ids up to the session position it is told, though not every seq was logged', () => {
    // Events of streams answered with one JSON body are numbered but never logged.
    const log = new MemoryEventLog('t');
    log.append({ stream: 2, seq: 7, eventId: 't.2.7', data: 'x' });
    expect(log.replayAfter('t.3.9')).toMatchObject({ ok: false, code: 'unknown' });
    const position = { newestSeq: 12, nextStream: 4 };
    expect(log.replayAfter('t.3.9', position)).toEqual({
      ok: true,
      stream: 3,
      afterSeq: 9,
      throughSeq: 12,
      events: [],
    });
    expect(log.replayAfter('t.0.1', position)).toMatchObject({ ok: true, events: [] });
  });

  it('refuses an id naming a stream the session never opened, with that reason', () => {
    const log = new MemoryEventLog('t');
    log.append({ stream: 2, seq: 7, eventId: 't.2.7', data: 'x' });
    const position = { newestSeq: 7, nextStream: 3 };
    expect(log.replayAfter('t.999.5', position)).toEqual({
      ok: false,
      code: 'unknown',
      message: 'Last-Event-ID names stream 999, which this session never opened: it did not issue that id.',
    });
    expect(log.replayAfter('t.3.5', position)).toMatchObject({ ok: false, code: 'unknown' });
    expect(log.replayAfter('t.2.5', position)).toMatchObject({ ok: true, events: [{ seq: 7 }] });
    // The standalone stream is always this session's.
    expect(log.replayAfter('t.0.5', position)).toMatchObject({ ok: true, stream: 0 });
  });

  it('refuses an id as evicted only when an event of its own stream after it was dropped', () => {
    const log = new MemoryEventLog('t', { maxEvents: 2, maxBytes: 1e9 });
    fill(log, [1, 1, 2, 2]);
    expect(log.replayAfter('t.1.0')).toMatchObject({ ok: false, code: 'evicted' });
    // Stream 2 lost nothing, though the log dropped events older than its id.
    expect(log.replayAfter('t.2.0')).toMatchObject({ ok: true, events: [{ seq: 3 }, { seq: 4 }] });
  });

  it('forgets one stream on request, and everything when freed', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0, 1, 0, 1]);
    log.evictStream(1);
    expect(log.stats()).toEqual({ events: 2, bytes: 4, evicted: 0 });
    expect(log.replayAfter('t.1.0')).toMatchObject({ ok: true, events: [] });
    expect(log.replayAfter('t.0.0')).toMatchObject({ ok: true, events: [{ seq: 1 }, { seq: 3 }] });
    log.free();
    expect(log.stats()).toMatchObject({ events: 0, bytes: 0 });
  });

  it('shows its size, never its events, to JSON (the inspector and the admin API)', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0], 'secret');
    expect(JSON.stringify({ log })).toBe('{"log":{"store":"memory","events":1,"bytes":7,"evicted":0}}');
  });

  it('counts replays and evictions of every log it made, after the logs are gone', () => {
    const logs = new MemoryEventLogs({ maxEvents: 1 });
    const a = logs.create('a');
    fill(a, [0, 0]);
    a.replayAfter('a.0.1');
    a.free();
    const b = logs.create('b');
    fill(b, [0]);
    b.replayAfter('b.0.0');
    expect(logs.totals).toEqual({ replayed: 2, evicted: 1 });
  });
});
