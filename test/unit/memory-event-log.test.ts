import { describe, expect, it } from 'vitest';
import { formatEventId } from '../../machines/event-id.js';
import { MemoryEventLog } from '../../src/store/memory-event-log.js';

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
      events: [
        { stream: 0, seq: 3, eventId: 't.0.3', data: 'x3' },
        { stream: 0, seq: 5, eventId: 't.0.5', data: 'x5' },
      ],
    });
    expect(log.replayAfter('t.2.4')).toEqual({ ok: true, stream: 2, events: [] });
  });

  it('takes an id as a position: a priming id names its stream and the counter at the time', () => {
    const log = new MemoryEventLog('t');
    fill(log, [0, 1, 0, 1]);
    expect(log.replayAfter('t.1.1')).toMatchObject({ ok: true, stream: 1, events: [{ seq: 2 }, { seq: 4 }] });
    expect(new MemoryEventLog('t').replayAfter('t.3.0')).toEqual({ ok: true, stream: 3, events: [] });
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
});
