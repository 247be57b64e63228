import { describe, expect, it } from 'vitest';
import { rememberUpstreamId, UPSTREAM_IDS_KEPT } from '../../machines/session-rules.js';

describe('upstream event id memory', () => {
  it('keeps new ids, answers undefined for a repeat, leaves id-less events alone', () => {
    const one = rememberUpstreamId([], 'a');
    expect(one).toEqual(['a']);
    expect(rememberUpstreamId(one ?? [], 'a')).toBeUndefined();
    expect(rememberUpstreamId(one ?? [], undefined)).toBe(one);
  });

  it('forgets the oldest once it holds the limit', () => {
    let ids: readonly string[] = [];
    for (let i = 0; i <= UPSTREAM_IDS_KEPT; i += 1) ids = rememberUpstreamId(ids, `e${i}`) ?? ids;
    expect(ids).toHaveLength(UPSTREAM_IDS_KEPT);
    expect(ids[0]).toBe('e1');
    expect(rememberUpstreamId(ids, 'e0')).toBeDefined();
  });
});
