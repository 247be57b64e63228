import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionEvent, ConnectionInput, StreamEvent } from '../../machines/connection.types.js';
import { readBatch } from '../../machines/connection-rules.js';
import { answerNewest, fakeOpenStream, type Reader } from '../model/fake-reader.js';

const input: ConnectionInput = {
  id: 'stream-1',
  url: 'http://127.0.0.1:9/mcp',
  method: 'POST',
  body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
  headers: { 'Mcp-Session-Id': 'upstream-1', 'MCP-Protocol-Version': '2025-11-25' },
  awaitResponses: [1, 2],
  // A small window, so that runs cross its edge.
  options: { dedupeWindow: 3 },
  random: () => 0.5,
};

/** A connection fed `chunks` (each one event alone, or a run): what it delivered and kept. */
function feed(chunks: StreamEvent[][]) {
  const readers: Reader[] = [];
  const delivered: Array<string | undefined> = [];
  const record = (one: StreamEvent) => delivered.push(one.id ?? one.data);
  const machine = connectionMachine.provide({
    actors: { openStream: fakeOpenStream(() => readers) },
    actions: {
      report: () => {},
      deliver: ({ event }) => {
        if (event.type === 'stream.event') record(event);
      },
      deliverBatch: ({ context, event }) => {
        if (event.type === 'stream.events') for (const one of readBatch(context, event.events).deliver) record(one);
      },
    },
  });
  const actor = createActor(machine, { input }).start();
  const send = (event: ConnectionEvent) => answerNewest(readers, event);
  send({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
  for (const chunk of chunks) {
    if (chunk.length === 1) send({ type: 'stream.event', ...(chunk[0] as StreamEvent) });
    else send({ type: 'stream.events', events: chunk });
  }
  const { context, value, status } = actor.getSnapshot();
  actor.stop();
  return {
    delivered,
    lastEventId: context.lastEventId,
    recentIds: context.recentIds,
    awaiting: context.awaiting,
    value,
    status,
  };
}

/** A deterministic pseudo-random sequence (so a failure names its seed). */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function events(next: () => number, count: number): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (let i = 0; i < count; i++) {
    const roll = next();
    const id = next() < 0.8 ? `e${Math.floor(next() * 8)}` : undefined; // few ids: many repeats
    if (roll < 0.15) out.push({ id: id ?? `p${i}`, data: '' });
    else if (roll < 0.22) {
      const message = { jsonrpc: '2.0', id: next() < 0.5 ? 1 : 2, result: {} };
      out.push({ id, data: JSON.stringify(message), message });
    } else {
      const message = { jsonrpc: '2.0', method: 'notifications/progress', params: { n: i } };
      out.push({ id, data: JSON.stringify(message), message });
    }
  }
  return out;
}

function chunked(next: () => number, all: StreamEvent[]): StreamEvent[][] {
  const chunks: StreamEvent[][] = [];
  for (let i = 0; i < all.length; ) {
    const size = 1 + Math.floor(next() * 6);
    chunks.push(all.slice(i, i + size));
    i += size;
  }
  return chunks;
}

describe('a run of events read as one step', () => {
  it('delivers, remembers and completes exactly as the same events one at a time', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const all = events(next, 5 + Math.floor(next() * 30));
      const oneByOne = feed(all.map((one) => [one]));
      expect(feed(chunked(next, all)), `seed ${seed}`).toEqual(oneByOne);
      expect(feed([all]), `seed ${seed}, one run`).toEqual(oneByOne);
    }
  });

  it('the fixture reaches every case: repeats, primings, and runs that complete mid-way', () => {
    let completed = 0;
    let dropped = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const all = events(next, 5 + Math.floor(next() * 30));
      const result = feed([all]);
      if (result.status === 'done') completed++;
      if (result.delivered.length < all.filter((one) => one.data !== '').length) dropped++;
    }
    expect(completed).toBeGreaterThan(20);
    expect(dropped).toBeGreaterThan(100);
  });
});
