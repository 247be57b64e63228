import { describe, expect, it } from 'vitest';
import { TimeSlice } from '../../src/sse/time-slice.js';

describe('TimeSlice', () => {
  it('is due once a whole slice has passed, and starts a new one after yielding', async () => {
    let now = 1000;
    const slice = new TimeSlice(20, () => now);
    now += 19;
    expect(slice.due()).toBe(false);
    now += 1;
    expect(slice.due()).toBe(true);
    await slice.yield();
    expect(slice.due()).toBe(false);
    now += 25;
    expect(slice.due()).toBe(true);
  });

  it('yields to the event loop: I/O and immediates queued before it run first', async () => {
    const slice = new TimeSlice(0);
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    // A chain of resolved promises alone would never let it run.
    await Promise.resolve();
    order.push('before yield');
    await slice.yield();
    order.push('after yield');
    expect(order).toEqual(['before yield', 'other work', 'after yield']);
  });
});
