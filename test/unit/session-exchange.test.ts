import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { STREAM_SLOTS, streamChildId, streamOf } from '../../machines/stream-table.js';
import { activate, provideSession, sessionInput, sessionWorld } from '../model/session-world.js';
import { TestClock } from '../support/test-clock.js';

/** A session past initialize, with its standalone stream open, and a way to send it calls. */
function activeSession() {
  const world = sessionWorld();
  const actor = createActor(
    provideSession(() => world),
    { input: sessionInput(world.eventLog), clock: new TestClock() },
  );
  const statuses: Array<{ stream: number; id: string; state: string }> = [];
  actor.on('session.stream.status', (e) => statuses.push({ stream: e.stream, id: e.status.id, state: e.state }));
  const answered: number[] = [];
  actor.on('session.event', (e) => answered.push(e.stream));
  actor.start();
  activate(world);
  expect(actor.getSnapshot().value).toEqual({ live: { active: 'idle' } });

  const call = (id: number, answer: 'json' | 'sse') => {
    const before = world.readers.length;
    actor.send({ type: 'session.request', key: `k${id}`, body: `{"jsonrpc":"2.0","id":${id}}`, requestIds: [id] });
    const reader = world.readers[before];
    const result = { jsonrpc: '2.0', id, result: {} };
    const contentType = answer === 'json' ? 'application/json' : 'text/event-stream';
    reader?.sendBack({ type: 'stream.response', status: 200, contentType });
    reader?.sendBack({
      type: 'stream.event',
      ...(answer === 'sse' ? { id: `e${id}` } : {}),
      data: JSON.stringify(result),
      message: result,
    });
    return reader === undefined ? undefined : streamOf(reader.request.id);
  };
  return { actor, world, statuses, answered, call };
}

describe('a session whose requests go through exchanges', () => {
  it('keeps no child of a finished stream, past the number of child slots, whichever way each was answered', () => {
    const { actor, call, answered, statuses } = activeSession();
    const streams: number[] = [];
    for (let id = 1; id <= STREAM_SLOTS + 100; id++) streams.push(call(id, id % 3 === 0 ? 'sse' : 'json') as number);
    // Stream numbers grow past the slots, child ids wrap: the two must not be confused.
    expect(Math.max(...streams)).toBeGreaterThan(STREAM_SLOTS);
    expect(Object.keys(actor.getSnapshot().children)).toEqual([streamChildId(0)]);
    expect(Object.keys(actor.getSnapshot().context.streams.entries)).toEqual(['0']);
    // Every call answered once, on its own stream; every status names the stream it is about.
    expect(answered.slice(1)).toEqual(streams);
    expect(statuses.filter((s) => s.id !== `stream-${s.stream}`)).toEqual([]);
    actor.stop();
  });

  it('sends the POSTs of an upstream that answers with streams straight to a connection, until it answers in one again', () => {
    const { actor, world } = activeSession();
    /** Sends a call; says which child took it, then answers it the way given. */
    const takenBy = (id: number, answer: 'json' | 'sse') => {
      actor.send({ type: 'session.request', key: `p${id}`, body: `{"jsonrpc":"2.0","id":${id}}`, requestIds: [id] });
      const reader = world.readers.at(-1);
      const stream = streamOf(reader?.request.id ?? '');
      const child = actor.getSnapshot().children[streamChildId(stream)]?.getSnapshot() as
        | { machine?: { id: string } }
        | undefined;
      const result = { jsonrpc: '2.0', id, result: {} };
      const contentType = answer === 'json' ? 'application/json' : 'text/event-stream';
      reader?.sendBack({ type: 'stream.response', status: 200, contentType });
      reader?.sendBack({ type: 'stream.event', data: JSON.stringify(result), message: result });
      return child?.machine?.id ?? 'exchange';
    };
    // Not known yet: an exchange, handed over when the answer is a stream.
    expect(takenBy(1, 'sse')).toBe('exchange');
    expect(actor.getSnapshot().context.answersInOne).toBe(false);
    expect(takenBy(2, 'json')).toBe('connection');
    expect(actor.getSnapshot().context.answersInOne).toBe(true);
    expect(takenBy(3, 'json')).toBe('exchange');
    expect(Object.keys(actor.getSnapshot().children)).toEqual([streamChildId(0)]);
    actor.stop();
  });
});
