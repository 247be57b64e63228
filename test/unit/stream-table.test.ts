import { describe, expect, it } from 'vitest';
import {
  answer,
  attachClient,
  clientOf,
  closeStream,
  detachClient,
  emptyTable,
  INITIALIZE_STREAM,
  isLive,
  liveCount,
  markJson,
  openStream,
  STANDALONE_STREAM,
  STREAM_SLOTS,
  splitForResend,
  streamChildId,
} from '../../machines/stream-table.js';

describe('stream table', () => {
  it('numbers POST streams from the initialize stream up, the standalone stream always 0', () => {
    const first = openStream(emptyTable(), { kind: 'post', client: 'init', pending: [0], body: 'i' });
    expect(first.stream).toBe(INITIALIZE_STREAM);
    const get = openStream(first.table, { kind: 'get', client: 'g' });
    expect(get.stream).toBe(STANDALONE_STREAM);
    const second = openStream(get.table, { kind: 'post', client: 'r', pending: [1] });
    expect(second.stream).toBe(2);
    expect(liveCount(second.table)).toBe(3);
    expect(second.table.entries[2]).toEqual({ kind: 'post', client: 'r', pending: [1], body: undefined, json: false });
  });

  it('never gives a stream a child slot a live stream holds (slot 0 is the standalone stream’s)', () => {
    let table = openStream(emptyTable(), { kind: 'post', client: 'a' }).table; // stream 1
    table = { ...table, next: STREAM_SLOTS }; // the next number maps to slot 0, then slot 1
    const opened = openStream(table, { kind: 'post', client: 'b' });
    // Slot 0 is reserved, slot 1 is stream 1's: the next free one is slot 2.
    expect(streamChildId(opened.stream)).toBe('stream-2');
    expect(opened.stream).toBe(STREAM_SLOTS + 2);
  });

  it('keeps each stream’s pending requests until their responses arrive', () => {
    const { table } = openStream(emptyTable(), { kind: 'post', client: 'c', pending: [1, 2] });
    const once = answer(table, 1, [2]);
    expect(once.entries[1]?.pending).toEqual([1]);
    expect(answer(once, 1, [])).toBe(once);
    expect(answer(once, 9, [1])).toBe(once);
  });

  it('attaches one client per stream; only that client detaches itself', () => {
    const { table } = openStream(emptyTable(), { kind: 'get', client: 'g1' });
    expect(clientOf(table, 0)).toBe('g1');
    expect(clientOf(detachClient(table, 0, 'someone-else'), 0)).toBe('g1');
    const detached = detachClient(table, 0, 'g1');
    expect(clientOf(detached, 0)).toBeUndefined();
    expect(clientOf(attachClient(detached, 0, 'g2'), 0)).toBe('g2');
  });

  it('closes a stream and marks a JSON answer, leaving the table otherwise as it was', () => {
    const { table } = openStream(emptyTable(), { kind: 'post', client: 'c', pending: [1] });
    expect(markJson(table, 1).entries[1]?.json).toBe(true);
    const closed = closeStream(table, 1);
    expect(isLive(closed, 1)).toBe(false);
    expect(closeStream(closed, 1)).toBe(closed);
    expect(closed.next).toBe(table.next);
  });

  it('after a re-initialization, sends again what still waits and ends what does not', () => {
    let table = emptyTable();
    table = openStream(table, { kind: 'post', client: 'done', pending: [], body: 'b1' }).table; // 1
    table = openStream(table, { kind: 'post', client: 'waiting', pending: [5], body: 'b2' }).table; // 2
    table = openStream(table, { kind: 'get', client: 'g' }).table; // 0
    table = openStream(table, { kind: 'post', client: 'no-body', pending: [6] }).table; // 3
    const { resend, ended } = splitForResend(table);
    expect(Object.keys(resend.entries).map(Number).sort()).toEqual([0, 2]);
    expect(ended.sort()).toEqual([1, 3]);
  });
});
