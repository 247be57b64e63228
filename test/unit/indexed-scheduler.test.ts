/**
 * The indexed scheduler must behave exactly as xstate's own: the same delayed events fire,
 * a stopped actor's never do. Each scenario runs with and without it and must agree.
 */
import { describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, SimulatedClock, sendParent, setup, spawnChild, stopChild } from 'xstate';
import { indexScheduler } from '../../src/session/indexed-scheduler.js';

/** A child that reports `tick` after 1 s, and starts over on `again` (same delayed-event id). */
const child = createMachine({
  initial: 'waiting',
  states: {
    waiting: {
      after: { 1000: { target: 'fired', actions: sendParent({ type: 'tick' }) } },
      on: { again: { target: 'waiting', reenter: true } },
    },
    fired: { on: { again: 'waiting' } },
  },
});

const parent = setup({ actors: { child } }).createMachine({
  context: { ticks: 0 },
  entry: [spawnChild('child', { id: 'a' }), spawnChild('child', { id: 'b' })],
  on: {
    tick: { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) },
    'stop.a': { actions: stopChild('a') },
  },
});

function run(indexed: boolean) {
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock });
  if (indexed) indexScheduler(actor.system);
  actor.start();
  const pending = () => Object.keys(actor.system.getSnapshot()._scheduledEvents).length;
  const trace: Array<[string, number, number]> = [['start', pending(), actor.getSnapshot().context.ticks]];
  const a = actor.getSnapshot().children.a;
  for (let i = 0; i < 100; i++) a?.send({ type: 'again' });
  clock.increment(500);
  trace.push(['re-entered 100 times', pending(), actor.getSnapshot().context.ticks]);
  actor.send({ type: 'stop.a' });
  trace.push(['a stopped', pending(), actor.getSnapshot().context.ticks]);
  clock.increment(2000);
  trace.push(['after 2.5 s', pending(), actor.getSnapshot().context.ticks]);
  actor.getSnapshot().children.b?.send({ type: 'again' });
  trace.push(['b again', pending(), actor.getSnapshot().context.ticks]);
  actor.stop();
  trace.push(['stopped', pending(), actor.getSnapshot().context.ticks]);
  clock.increment(5000);
  return trace;
}

describe('indexScheduler', () => {
  it("cancels a stopped actor's delayed events, and only those", () => {
    expect(run(true)).toEqual([
      ['start', 2, 0],
      ['re-entered 100 times', 2, 0],
      ['a stopped', 1, 0],
      ['after 2.5 s', 0, 1],
      ['b again', 1, 1],
      ['stopped', 0, 1],
    ]);
  });

  it('agrees with xstate’s own scheduler step for step', () => {
    expect(run(true)).toEqual(run(false));
  });
});
