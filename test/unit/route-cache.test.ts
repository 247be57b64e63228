import { describe, expect, it } from 'vitest';
import { RouteCache } from '../../src/cluster/route-cache.js';

describe('RouteCache', () => {
  it('keeps a route for its age, then asks again', () => {
    let now = 0;
    const cache = new RouteCache(1000, 10, () => now);
    cache.set('s1', { owner: 'r1:1', url: 'http://127.0.0.1:1' });
    now = 999;
    expect(cache.get('s1')).toMatchObject({ owner: 'r1:1', url: 'http://127.0.0.1:1' });
    now = 1000;
    expect(cache.get('s1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a route that failed, and holds no more than its bound (oldest first)', () => {
    const cache = new RouteCache(1000, 2, () => 0);
    cache.set('a', { owner: 'r1:1', url: 'u1' });
    cache.set('b', { owner: 'r1:1', url: 'u1' });
    cache.forget('a');
    expect(cache.get('a')).toBeUndefined();
    cache.set('c', { owner: 'r2:1', url: 'u2' });
    cache.set('d', { owner: 'r2:1', url: 'u2' });
    expect([cache.get('b'), cache.get('c'), cache.get('d')].map((r) => r?.url)).toEqual([undefined, 'u2', 'u2']);
    expect(cache.size).toBe(2);
  });
});
