import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  chooseReconnectDelay,
  DEFAULT_BACKOFF,
  MAX_TIMER_MS,
  parseRetryAfter,
  RETRY_AFTER_CAP_MS,
} from '../../machines/delay-policy.js';

const fixed = (value: number) => () => value;

describe('backoffDelay', () => {
  it('grows by the factor from the base, without jitter at the midpoint', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, fixed(0.5)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('keeps jitter within ±25 %', () => {
    expect(backoffDelay(3, DEFAULT_BACKOFF, fixed(0))).toBe(3000);
    expect(backoffDelay(3, DEFAULT_BACKOFF, fixed(0.999999))).toBe(5000);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(2, DEFAULT_BACKOFF, Math.random);
      expect(delay).toBeGreaterThanOrEqual(1500);
      expect(delay).toBeLessThanOrEqual(2500);
    }
  });

  it('never exceeds the cap, jitter included', () => {
    expect(backoffDelay(30, DEFAULT_BACKOFF, fixed(0.999999))).toBe(60_000);
    expect(backoffDelay(30, DEFAULT_BACKOFF, fixed(0))).toBe(45_000);
    expect(backoffDelay(7, { ...DEFAULT_BACKOFF, capMs: 5000 }, fixed(0.5))).toBe(5000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 12 ', now)).toBe(12_000);
  });

  it('reads an HTTP-date relative to now; a past date means now', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('caps at five minutes', () => {
    expect(parseRetryAfter('86400', now)).toBe(RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:00 GMT', now)).toBe(RETRY_AFTER_CAP_MS);
  });

  it('ignores what it cannot read', () => {
    for (const value of [undefined, null, '', 'soon', '-5', '1.5']) expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('chooseReconnectDelay', () => {
  it('prefers Retry-After, then the retry hint, then backoff', () => {
    const random = fixed(0.5);
    expect(chooseReconnectDelay({ attempt: 3, retryAfterMs: 7000, retryHintMs: 200 }, DEFAULT_BACKOFF, random)).toEqual(
      { delayMs: 7000, source: 'retry-after' },
    );
    expect(chooseReconnectDelay({ attempt: 3, retryHintMs: 200 }, DEFAULT_BACKOFF, random)).toEqual({
      delayMs: 200,
      source: 'retry-hint',
    });
    expect(chooseReconnectDelay({ attempt: 3 }, DEFAULT_BACKOFF, random)).toEqual({ delayMs: 4000, source: 'backoff' });
  });

  it('honours a retry hint larger than the backoff cap, clamped only to what a timer holds', () => {
    expect(chooseReconnectDelay({ attempt: 1, retryHintMs: 600_000 }, DEFAULT_BACKOFF, Math.random).delayMs).toBe(
      600_000,
    );
    expect(chooseReconnectDelay({ attempt: 1, retryHintMs: 1e12 }, DEFAULT_BACKOFF, Math.random).delayMs).toBe(
      MAX_TIMER_MS,
    );
  });
});
