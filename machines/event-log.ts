/**
 * The event log port: where a session keeps the events it forwards, so that a client can
 * resume a stream with `Last-Event-ID`. The session numbers every event (event-id.ts) and
 * appends it; a resume reads back the events of one stream after an id. The memory ring
 * buffer (src/store/memory-event-log.ts) is the default; a shared store (Redis) implements
 * the same interface. Every method may answer synchronously or with a promise.
 *
 * "The server MAY use this header [Last-Event-ID] to replay messages that would have been
 * sent after the last event ID, on the stream that was disconnected" (2025-06-18+
 * transports, Resumability and Redelivery).
 */

export interface LoggedEvent {
  /** The client-facing stream number the event was sent on. */
  stream: number;
  /** The session-wide sequence number: increasing across all of the session's streams. */
  seq: number;
  eventId: string;
  data: string;
}

/** Why a `Last-Event-ID` cannot be answered from the log. */
export type ReplayRefusal = 'malformed' | 'foreign' | 'evicted' | 'unknown';

export type ReplayResult =
  | {
      ok: true;
      stream: number;
      /** The position the id names: events of `stream` after this seq are the replay. */
      afterSeq: number;
      /** The newest seq the log held when it was read: every event up to it is accounted for. */
      throughSeq: number;
      events: LoggedEvent[];
    }
  | { ok: false; code: ReplayRefusal; message: string };

/** Where the session is: no id beyond it was ever issued. */
export interface LogPosition {
  /** The newest seq the session numbered. */
  newestSeq: number;
  /** The first POST stream number the session has not opened yet (the standalone stream is 0). */
  nextStream: number;
}

export interface EventLogStats {
  events: number;
  bytes: number;
  /** Events dropped to stay within the log's bounds. */
  evicted: number;
}

export interface EventLog {
  /** Keeps one forwarded event; the oldest are evicted when the log is over its bounds. */
  append(event: LoggedEvent): void | Promise<void>;
  /**
   * The events of the id's stream after the id, or why they cannot be given. `position` is
   * the session's now: no id beyond it exists, neither a later seq nor a stream not yet opened. (Not every seq is in the
   * log: events a client can never resume are not kept.)
   */
  replayAfter(lastEventId: string, position: LogPosition): ReplayResult | Promise<ReplayResult>;
  /** Forgets one stream's events: no client can need them any more. */
  evictStream(stream: number): void | Promise<void>;
  /** Forgets everything: the session is over. */
  free(): void | Promise<void>;
  stats(): EventLogStats;
}
