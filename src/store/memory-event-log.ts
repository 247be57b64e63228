/**
 * The default event log (machines/event-log.ts): one bounded ring buffer per session in this
 * process, oldest evicted first once it holds more than `maxEvents` events or `maxBytes`
 * bytes of data. Resume reads it: the events of one stream after a given id, in order.
 */
import { parseEventId } from '../../machines/event-id.js';
import type {
  EventLog,
  EventLogStats,
  LoggedEvent,
  LogPosition,
  ReplayRefusal,
  ReplayResult,
} from '../../machines/event-log.js';
import { STANDALONE_STREAM } from '../../machines/stream-table.js';

export type { LoggedEvent, ReplayResult } from '../../machines/event-log.js';

export interface EventLogLimits {
  /** Events kept per session. Default 1000. */
  maxEvents: number;
  /** Bytes of event data kept per session. Default 1 MiB. */
  maxBytes: number;
}

export const DEFAULT_EVENT_LOG_LIMITS: EventLogLimits = { maxEvents: 1000, maxBytes: 1024 * 1024 };

/** Running totals over every log of one factory, for metrics; they outlive the logs. */
export interface EventLogTotals {
  replayed: number;
  evicted: number;
}

const REFUSALS: Record<ReplayRefusal, string> = {
  malformed: 'Last-Event-ID is not an event id this proxy issued.',
  foreign: 'Last-Event-ID belongs to another session; resume with an id from this session.',
  evicted:
    'Last-Event-ID is older than the oldest event this session still holds, so events after it are lost; open a new stream without Last-Event-ID.',
  unknown: 'Last-Event-ID names a position this session has not reached: it did not issue that id.',
};
const NEVER_OPENED = (stream: number) =>
  `Last-Event-ID names stream ${stream}, which this session never opened: it did not issue that id.`;

export class MemoryEventLog implements EventLog {
  private entries: LoggedEvent[] = [];
  /** Index of the oldest entry; entries before it are dead and compacted away in bulk. */
  private head = 0;
  private bytes = 0;
  /** Seq of the newest event appended so far; 0 before the first. */
  private newestSeq = 0;
  /** Events dropped to stay within the limits. */
  evicted = 0;
  /** For each stream, the newest seq dropped to stay within the limits: a resume from before it lost events. */
  private readonly evictedThrough = new Map<number, number>();

  constructor(
    private readonly tag: string,
    private readonly limits: EventLogLimits = DEFAULT_EVENT_LOG_LIMITS,
    private readonly totals: EventLogTotals = { replayed: 0, evicted: 0 },
  ) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  get byteSize(): number {
    return this.bytes;
  }

  stats(): EventLogStats {
    return { events: this.size, bytes: this.bytes, evicted: this.evicted };
  }

  /** What the inspector and the admin API show of a log: its size, never its events. */
  toJSON(): EventLogStats & { store: 'memory' } {
    return { store: 'memory', ...this.stats() };
  }

  append(event: LoggedEvent): void {
    this.entries.push(event);
    this.bytes += Buffer.byteLength(event.data);
    this.newestSeq = event.seq;
    while (this.size > this.limits.maxEvents || (this.bytes > this.limits.maxBytes && this.size > 0)) {
      const oldest = this.entries[this.head++] as LoggedEvent;
      this.bytes -= Buffer.byteLength(oldest.data);
      this.evictedThrough.set(oldest.stream, oldest.seq);
      this.evicted++;
      this.totals.evicted++;
    }
    // Compact once half the array is dead, so eviction stays O(1) amortised.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * The events of the id's stream that came after it, or why they cannot be given. The id
   * is a position: a priming event's id names its stream and the session counter at the
   * time, which need not be an event of that stream.
   */
  replayAfter(lastEventId: string, position?: LogPosition): ReplayResult {
    const parts = parseEventId(lastEventId);
    const refuse = (code: ReplayRefusal, message = REFUSALS[code]): ReplayResult => ({ ok: false, code, message });
    const throughSeq = Math.max(position?.newestSeq ?? 0, this.newestSeq);
    if (!parts) return refuse('malformed');
    if (parts.tag !== this.tag) return refuse('foreign');
    if (parts.seq > throughSeq) return refuse('unknown');
    if (position && parts.stream !== STANDALONE_STREAM && parts.stream >= position.nextStream) {
      return refuse('unknown', NEVER_OPENED(parts.stream));
    }
    // Events after the id are all still here unless one of its stream's was dropped.
    if (parts.seq < (this.evictedThrough.get(parts.stream) ?? 0)) return refuse('evicted');
    const events: LoggedEvent[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as LoggedEvent;
      if (entry.seq > parts.seq && entry.stream === parts.stream) events.push(entry);
    }
    this.totals.replayed += events.length;
    return { ok: true, stream: parts.stream, afterSeq: parts.seq, throughSeq, events };
  }

  /**
   * Fills a new log with what another process logged (a session taken over): its events,
   * oldest first, and what each stream had lost to the bounds.
   */
  seed(events: readonly LoggedEvent[], evictedThrough: Readonly<Record<number, number>>): void {
    for (const [stream, seq] of Object.entries(evictedThrough)) this.evictedThrough.set(Number(stream), seq);
    for (const event of events) this.append(event);
  }

  /** Drops one stream's events (a stream read to its end by its client). */
  evictStream(stream: number): void {
    const kept: LoggedEvent[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as LoggedEvent;
      if (entry.stream === stream) this.bytes -= Buffer.byteLength(entry.data);
      else kept.push(entry);
    }
    this.entries = kept;
    this.head = 0;
  }

  free(): void {
    this.evictedThrough.clear();
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** Makes one memory log per session, all counting into the same totals. */
export class MemoryEventLogs {
  readonly totals: EventLogTotals = { replayed: 0, evicted: 0 };
  private readonly limits: EventLogLimits;

  constructor(limits: Partial<EventLogLimits> = {}) {
    this.limits = { ...DEFAULT_EVENT_LOG_LIMITS, ...limits };
  }

  create(eventTag: string): MemoryEventLog {
    return new MemoryEventLog(eventTag, this.limits, this.totals);
  }
}
