/**
 * A session's event log for resumability: every event the session forwards, oldest evicted
 * first once the log holds more than `maxEvents` events or `maxBytes` bytes of data.
 * Resume reads it: the events of one stream after a given id, in order.
 */
import { parseEventId } from '../../machines/event-id.js';

export interface EventLogLimits {
  /** Events kept per session. Default 1000. */
  maxEvents: number;
  /** Bytes of event data kept per session. Default 1 MiB. */
  maxBytes: number;
}

export const DEFAULT_EVENT_LOG_LIMITS: EventLogLimits = { maxEvents: 1000, maxBytes: 1024 * 1024 };

export interface LoggedEvent {
  stream: number;
  seq: number;
  eventId: string;
  data: string;
}

export type ReplayRefusal = 'malformed' | 'foreign' | 'evicted' | 'unknown';

export type ReplayResult =
  | { ok: true; stream: number; events: LoggedEvent[] }
  | { ok: false; code: ReplayRefusal; message: string };

const REFUSALS: Record<ReplayRefusal, string> = {
  malformed: 'Last-Event-ID is not an event id this proxy issued.',
  foreign: 'Last-Event-ID belongs to another session; resume with an id from this session.',
  evicted:
    'Last-Event-ID is older than the oldest event this session still holds, so events after it are lost; open a new stream without Last-Event-ID.',
  unknown: 'Last-Event-ID was never issued on this session.',
};

export class MemoryEventLog {
  private readonly entries: LoggedEvent[] = [];
  /** Index of the oldest entry; entries before it are dead and compacted away in bulk. */
  private head = 0;
  private bytes = 0;
  /** Seq of the newest event appended so far; 0 before the first. */
  private newestSeq = 0;
  /** Events dropped to stay within the limits. */
  evicted = 0;

  constructor(
    private readonly tag: string,
    private readonly limits: EventLogLimits = DEFAULT_EVENT_LOG_LIMITS,
  ) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  get byteSize(): number {
    return this.bytes;
  }

  append(event: LoggedEvent): void {
    this.entries.push(event);
    this.bytes += Buffer.byteLength(event.data);
    this.newestSeq = event.seq;
    while (this.size > this.limits.maxEvents || (this.bytes > this.limits.maxBytes && this.size > 0)) {
      const oldest = this.entries[this.head++] as LoggedEvent;
      this.bytes -= Buffer.byteLength(oldest.data);
      this.evicted++;
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
  replayAfter(lastEventId: string): ReplayResult {
    const parts = parseEventId(lastEventId);
    const refuse = (code: ReplayRefusal): ReplayResult => ({ ok: false, code, message: REFUSALS[code] });
    if (!parts) return refuse('malformed');
    if (parts.tag !== this.tag) return refuse('foreign');
    if (parts.seq > this.newestSeq) return refuse('unknown');
    const oldestSeq = this.size > 0 ? (this.entries[this.head] as LoggedEvent).seq : this.newestSeq + 1;
    // Everything after seq is still here only if seq is at most one before the oldest kept.
    if (parts.seq < oldestSeq - 1) return refuse('evicted');
    const events: LoggedEvent[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as LoggedEvent;
      if (entry.seq > parts.seq && entry.stream === parts.stream) events.push(entry);
    }
    return { ok: true, stream: parts.stream, events };
  }
}
