/**
 * How long a connection waits before it reconnects. Pure: the random source and the
 * current time are passed in, so tests choose them.
 */

export interface BackoffOptions {
  /** First delay, before jitter. Default 1000 ms. */
  baseMs: number;
  /** Growth per consecutive failed attempt. Default 2. */
  factor: number;
  /** Largest computed delay, jitter included. Default 60 000 ms. */
  capMs: number;
  /** Consecutive failed attempts before the connection gives up. Default 10. */
  maxAttempts: number;
  /** Fraction of the delay added or removed at random. Default 0.25 (±25 %). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1000,
  factor: 2,
  capMs: 60_000,
  maxAttempts: 10,
  jitter: 0.25,
};

/** A `Retry-After` header never makes us wait longer than this. */
export const RETRY_AFTER_CAP_MS = 5 * 60_000;

/** setTimeout fires at once for anything larger, so no delay may exceed it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Exponential backoff for the given attempt (1 = first retry), with jitter, capped. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = Math.min(options.capMs, options.baseMs * options.factor ** exponent);
  const spread = raw * options.jitter;
  const jittered = raw - spread + random() * 2 * spread;
  return Math.round(Math.min(options.capMs, Math.max(0, jittered)));
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into
 * milliseconds from `nowMs`, capped at {@link RETRY_AFTER_CAP_MS}. Returns undefined for
 * a missing or unparseable value, so the caller falls back to its own delay.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) {
    return Math.min(RETRY_AFTER_CAP_MS, Number(trimmed) * 1000);
  }
  // Every HTTP-date form starts with a day name; Date.parse alone would accept '-5'.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, date - nowMs));
}

export interface DelayInputs {
  /** Consecutive failed attempts, this one included (1 = first retry). */
  attempt: number;
  /** From a 429/503 response's `Retry-After`, already parsed and capped. */
  retryAfterMs?: number | undefined;
  /** The last SSE `retry:` field the server sent on this stream. */
  retryHintMs?: number | undefined;
}

export type DelaySource = 'retry-after' | 'retry-hint' | 'backoff';

/**
 * Chooses the reconnect delay. Precedence: Retry-After (the server refused us and said
 * when to come back) > the SSE retry hint > computed backoff.
 *
 * 2025-11-25 transports: "the client MUST respect the retry field, waiting the given number
 * of milliseconds before attempting to reconnect". The hint is not jittered or capped below
 * what the server asked for; it is only clamped to what a timer can hold.
 */
export function chooseReconnectDelay(
  inputs: DelayInputs,
  options: BackoffOptions,
  random: () => number,
): { delayMs: number; source: DelaySource } {
  if (inputs.retryAfterMs !== undefined) {
    return { delayMs: inputs.retryAfterMs, source: 'retry-after' };
  }
  if (inputs.retryHintMs !== undefined) {
    return { delayMs: Math.min(MAX_TIMER_MS, inputs.retryHintMs), source: 'retry-hint' };
  }
  return { delayMs: backoffDelay(inputs.attempt, options, random), source: 'backoff' };
}
