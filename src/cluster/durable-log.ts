/**
 * A session's event log in cluster mode: the memory log answers resumes on the owner, and
 * every append (with the session's snapshot) goes to the cluster store in batches, one
 * round trip per batch. It is also the session's commit gate: an event reaches a client only
 * once the store has acknowledged the batch that holds it, so every event id a client holds
 * can be resumed on any replica after this one fails (docs/replicas.md, "Commit barrier").
 */
import type { EventLog, EventLogStats, LoggedEvent, LogPosition, ReplayResult } from '../../machines/event-log.js';
import type { SessionEmitted } from '../../machines/session.types.js';
import type { CommitGate } from '../session/session-handle.js';
import type { EventLogLimits, MemoryEventLog } from '../store/memory-event-log.js';
import { type ClusterStore, FencedError, type SessionSnapshot, type StoredEvent } from './cluster-store.js';

export interface DurableLogOptions {
  sessionId: string;
  store: ClusterStore;
  memory: MemoryEventLog;
  bounds: EventLogLimits;
  /** The session as a new owner would need it, read at each flush. */
  snapshot: () => SessionSnapshot | undefined;
  /** The fencing token of a session this replica took over; without one, the first flush creates the session. */
  token?: string | undefined;
  /** For the first flush of a new session: who owns it, and how long its records live. */
  owner: { replicaId: string; ttlMs: number };
  /** Another replica owns the session now: it must end here without ending upstream. */
  onFenced: () => void;
  /** A flush failed (the store is unreachable) or worked again: the cluster's health. */
  onStoreResult?: (ok: boolean) => void;
  /** Time to wait before a failed flush is tried again. */
  retryDelayMs?: (attempt: number) => number;
}

const defaultRetry = (attempt: number) => Math.min(50 * 2 ** attempt, 1000);

/** The most events one append carries; more wait for the next. */
export const MAX_BATCH_EVENTS = 256;

export class DurableLog implements EventLog, CommitGate {
  /** Events not written yet, each with its write number. */
  private pending: Array<StoredEvent & { write: number }> = [];
  /**
   * Every append and every snapshot change is a write, numbered in order; an event the
   * session emits must wait for every write before it (the gate's "batch" numbers are these).
   */
  private writes = 0;
  /** Writes taken for the store so far, and the ones it acknowledged. */
  private taken = 0;
  private committedThrough = 0;
  private flushing = false;
  private fenced = false;
  private freed = false;
  private token: string | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: DurableLogOptions) {
    this.token = options.token;
  }

  /** The session's fencing token, once the store has it. */
  get ownerToken(): string | undefined {
    return this.token;
  }

  append(event: LoggedEvent): void {
    this.options.memory.append(event);
    this.pending.push({ seq: event.seq, stream: event.stream, data: event.data, write: ++this.writes });
    this.schedule();
  }

  replayAfter(lastEventId: string, position: LogPosition): ReplayResult {
    return this.options.memory.replayAfter(lastEventId, position);
  }

  evictStream(stream: number): void {
    this.options.memory.evictStream(stream);
  }

  /**
   * The session is over: nothing more is written (its records are removed, or another replica
   * goes on with them), and what its handle still holds is let go, so its clients' responses end.
   */
  free(): void {
    this.freed = true;
    this.options.memory.free();
    this.pending = [];
    this.taken = this.writes;
    this.committedThrough = this.writes;
    for (const listener of [...this.listeners]) listener();
  }

  stats(): EventLogStats {
    return this.options.memory.stats();
  }

  toJSON() {
    return { store: 'cluster', ...this.stats(), uncommitted: this.writes - this.committedThrough };
  }

  /** The snapshot changed (a stream opened or ended): it goes to the store with the next batch. */
  touch(): void {
    this.writes++;
    this.schedule();
  }

  private schedule(): void {
    if (!this.flushing) queueMicrotask(() => void this.flush());
  }

  // CommitGate: what the session's handle asks before it hands an event to a client.
  observe(event: SessionEmitted): void {
    // Nothing of a new session reaches a client before the store knows it, and a stream's
    // opening or end is in the store before the client hears of it.
    if (
      this.token === undefined ||
      event.type === 'session.stream.opened' ||
      event.type === 'session.stream.ended' ||
      event.type === 'session.reinitialized'
    ) {
      this.touch();
    }
  }

  waitFor(): number | undefined {
    // Freed, nothing waits: the session's last events (emitted after the free) go at once.
    if (this.freed) return undefined;
    return this.writes > this.committedThrough ? this.writes : undefined;
  }

  committed(): number {
    return this.committedThrough;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once everything appended so far is in the store (a drain waits for it). */
  async settled(): Promise<void> {
    while (this.writes > this.committedThrough && !this.fenced && !this.freed) {
      await new Promise<void>((resolve) => {
        const stop = this.onCommit(() => {
          stop();
          resolve();
        });
      });
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.fenced) return;
    this.flushing = true;
    try {
      while (this.writes > this.taken && !this.fenced && !this.freed) {
        // A bounded batch: one script must not hold Redis (and every replica's heartbeat) for long.
        // Usually all of it (no copy); a backlog goes a bounded slice at a time.
        let events = this.pending;
        if (events.length <= MAX_BATCH_EVENTS) this.pending = [];
        else events = this.pending.splice(0, MAX_BATCH_EVENTS);
        // All writes so far when nothing is left over; else those up to the last event taken.
        const through = this.pending.length === 0 ? this.writes : (events.at(-1)?.write ?? this.writes);
        this.taken = through;
        await this.write(events);
        if (!this.fenced) this.committedThrough = Math.max(this.committedThrough, through);
        for (const listener of [...this.listeners]) listener();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes one batch, retrying while the store is unreachable; the events wait meanwhile. */
  private async write(events: readonly StoredEvent[]): Promise<void> {
    const { store, sessionId, owner } = this.options;
    for (let attempt = 0; !this.freed; attempt++) {
      const snapshot = this.options.snapshot();
      if (snapshot === undefined) return;
      try {
        if (this.token === undefined)
          this.token = await store.create(sessionId, owner.replicaId, snapshot, owner.ttlMs);
        await store.append(sessionId, this.token, events, snapshot, this.options.bounds);
        this.options.onStoreResult?.(true);
        return;
      } catch (error) {
        if (error instanceof FencedError) {
          this.fenced = true;
          this.options.onFenced();
          return;
        }
        this.options.onStoreResult?.(false);
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? defaultRetry)(attempt)));
      }
    }
  }
}
