/**
 * The cluster store port (docs/replicas.md): what replicas share so that any of them can
 * serve any session. One owner per session, named by a fencing token `<replica>:<epoch>` that
 * every write checks; a bounded log of the session's events; the snapshot a new owner needs
 * to go on with the session; a heartbeat per replica. Redis implements it
 * (src/cluster/redis-store.ts); another engine can implement the same interface.
 */
import type { SessionInput, SessionRestore } from '../../machines/session.types.js';

/** What a replica needs, besides the log, to go on with a session another one held. */
export interface SessionSnapshot {
  eventTag: string;
  identity: string | undefined;
  initialize: SessionInput['initialize'];
  /** When the session was created (epoch ms): its lifetime runs from here on every replica. */
  createdAt: number;
  restore: SessionRestore;
}

export interface StoredEvent {
  seq: number;
  stream: number;
  data: string;
}

export interface StoredSession {
  /** The owner's fencing token; empty when it was released (a drained replica). */
  owner: string;
  snapshot: SessionSnapshot;
  /** The events still in the log, oldest first. */
  events: StoredEvent[];
  /** For each stream, the newest seq dropped to stay within the bounds. */
  evictedThrough: Record<number, number>;
}

export interface LogBounds {
  maxEvents: number;
  maxBytes: number;
}

/** A write carried a fencing token that no longer owns the session: another replica does. */
export class FencedError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} is owned by another replica now`);
    this.name = 'FencedError';
  }
}

export interface ClusterSessionEntry {
  sessionId: string;
  /** The owner replica's id; undefined when released. */
  owner: string | undefined;
}

export interface ClusterStore {
  /** Renews the replica's heartbeat (creates it when `join`); false when it had lapsed. */
  heartbeat(replica: { id: string; url: string }, ttlMs: number, join: boolean): Promise<boolean>;
  /** Removes the replica's heartbeat (a drained replica). */
  leave(replicaId: string): Promise<void>;
  /** The internal URL of a live replica; undefined when its heartbeat has lapsed. */
  replicaUrl(replicaId: string): Promise<string | undefined>;
  /** Every replica that ever joined and has not been swept. */
  replicas(): Promise<string[]>;
  /** Records a new session owned by `replicaId`; returns its fencing token. */
  create(sessionId: string, replicaId: string, snapshot: SessionSnapshot, ttlMs: number): Promise<string>;
  /** Appends events and the session's snapshot under `token`; throws FencedError when it no longer owns it. */
  append(
    sessionId: string,
    token: string,
    events: readonly StoredEvent[],
    snapshot: SessionSnapshot,
    bounds: LogBounds,
  ): Promise<void>;
  /** The owner token of a session; '' when released; null when there is no such session. */
  ownerOf(sessionId: string): Promise<string | null>;
  /** Takes the session over when its owner is still `expected`; the new token, or undefined when another won. */
  claim(sessionId: string, expected: string, replicaId: string): Promise<string | undefined>;
  load(sessionId: string): Promise<StoredSession | undefined>;
  /** Gives the session up (a drain): the next replica to need it claims it at once. */
  release(sessionId: string, token: string): Promise<void>;
  /** The session is over: its records go. */
  remove(sessionId: string, token: string): Promise<void>;
  /** Takes one session of a dead replica's set, for an eager takeover. */
  orphanOf(replicaId: string): Promise<string | undefined>;
  /** Forgets a dead replica whose sessions are all taken. */
  forget(replicaId: string): Promise<void>;
  list(limit: number): Promise<ClusterSessionEntry[]>;
  close(): Promise<void>;
}

/** The replica id in a fencing token `<replica>:<epoch>`. */
export const replicaOfToken = (token: string): string | undefined =>
  token === '' ? undefined : token.slice(0, token.lastIndexOf(':'));
