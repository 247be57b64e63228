import { describe, expect, it } from 'vitest';
import { freeSlot, slotId } from '../../machines/child-slot.js';

describe('child slots', () => {
  it('names children from a bounded set, however high the counter goes', () => {
    const ids = new Set<string>();
    for (let index = 0; index < 10_000; index++) ids.add(slotId('stream', index, 16));
    expect(ids.size).toBe(16);
  });

  it('skips the slots of live children and says which index it used', () => {
    const live = new Set(['s-2', 's-3', 's-0']);
    expect(freeSlot('s', 2, 4, (id) => live.has(id))).toEqual({ id: 's-1', index: 5 });
    expect(freeSlot('s', 1, 4, (id) => live.has(id))).toEqual({ id: 's-1', index: 1 });
  });

  it('refuses when every slot is taken, rather than reuse a live id', () => {
    expect(() => freeSlot('s', 0, 2, () => true)).toThrow(/all 2 s slots are taken/);
  });
});
