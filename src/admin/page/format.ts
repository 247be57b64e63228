/** How the page writes durations, sizes and state values. No DOM: unit-tested. */
import { isRecord } from './data.js';

const DASH = '\u2013';

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return DASH;
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return DASH;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A duration that was true when the data arrived, advanced by the time since: ages and idle
 * times grow (`sign` 1), an expiry countdown shrinks (`sign` -1), between server updates.
 */
export function since(ms: number | undefined, sign: 1 | -1, receivedAt: number, now = Date.now()): number | undefined {
  return ms === undefined ? undefined : ms + sign * (now - receivedAt);
}

const isEmptyRecord = (value: unknown): boolean => isRecord(value) && Object.keys(value).length === 0;

/** A state value as a dotted path: 'waiting', 'live.active.idle', parallel regions in braces. */
export function stateText(value: unknown): string {
  if (value === null || value === undefined) return DASH;
  if (!isRecord(value)) return String(value);
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only) {
    const [key, child] = only;
    return isEmptyRecord(child) ? key : `${key}.${stateText(child)}`;
  }
  return `{${entries.map(([key, child]) => `${key}.${stateText(child)}`).join(', ')}}`;
}

/** The innermost state names of a value: ['idle'] for live.active.idle, one per region of a parallel state. */
export function leafNames(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (!isRecord(value)) return [String(value)];
  return Object.entries(value).flatMap(([key, child]) => (isEmptyRecord(child) ? [key] : leafNames(child)));
}

export type Tone = 'ok' | 'warn' | 'bad';

/** States on the way back to normal are amber; a stream or process that gave up is red. */
const WARN_STATES = new Set([
  'waiting',
  'connecting',
  'stalled',
  'reinitializing',
  'restarting',
  'draining',
  'terminating',
  'stoppingHost',
  'deletingUpstream',
  'stopping',
]);
const BAD_STATES = new Set(['failed']);

export function tone(stateName: string): Tone {
  if (BAD_STATES.has(stateName)) return 'bad';
  if (WARN_STATES.has(stateName)) return 'warn';
  return 'ok';
}

/** The colour of a state value: its worst region's (a stream open but stalled is amber). */
export function toneOf(value: unknown): Tone {
  const tones = leafNames(value).map(tone);
  return tones.includes('bad') ? 'bad' : tones.includes('warn') ? 'warn' : 'ok';
}

/** A session id short enough for the list; the whole id is in its title. */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}\u2026` : id;
}
