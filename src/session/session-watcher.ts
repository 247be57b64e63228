/**
 * One place that watches every session of a runtime: the supervisor's lifecycle events and
 * each live session's emitted events. Metrics, the admin API's ages and idle times, and its
 * live event stream all read from here, so the sessions are subscribed to once.
 */
import type { Subscription } from 'xstate';
import type { SessionEmitted } from '../../machines/session.types.js';
import type { SupervisorEmitted } from '../../machines/supervisor.types.js';
import type { SupervisorRuntime } from './supervisor-runtime.js';

export type Lifecycle = Extract<SupervisorEmitted, { type: 'supervisor.lifecycle' }>;

export interface WatcherListener {
  lifecycle?(event: Lifecycle): void;
  session?(sessionId: string, event: SessionEmitted): void;
  /** The session's state value changed (a transition between states, not within one). */
  state?(sessionId: string, value: unknown): void;
}

interface Watched {
  createdAt: number;
  lastActivityAt: number;
  subscriptions: Subscription[];
}

const ENDED = new Set<Lifecycle['event']>(['expired', 'terminated', 'failed']);

export class SessionWatcher {
  private readonly sessions = new Map<string, Watched>();
  private readonly listeners = new Set<WatcherListener>();
  private readonly lifecycle: Subscription;

  constructor(
    private readonly runtime: SupervisorRuntime,
    private readonly now: () => number = Date.now,
  ) {
    this.lifecycle = runtime.actor.on('supervisor.lifecycle', (event) => this.onLifecycle(event));
  }

  /** Adds a listener; returns the function that removes it. */
  listen(listener: WatcherListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  createdAt(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.createdAt;
  }

  /** When the session last did anything: a stream opened, changed state or carried an event. */
  lastActivityAt(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.lastActivityAt;
  }

  private stateListened(): boolean {
    for (const listener of this.listeners) if (listener.state) return true;
    return false;
  }

  stop(): void {
    this.lifecycle.unsubscribe();
    for (const watched of this.sessions.values()) for (const s of watched.subscriptions) s.unsubscribe();
    this.sessions.clear();
    this.listeners.clear();
  }

  private onLifecycle(event: Lifecycle): void {
    if (event.event === 'created') this.watch(event.sessionId);
    for (const listener of this.listeners) listener.lifecycle?.(event);
    if (ENDED.has(event.event)) {
      // The end is announced on entering the final state, before the session's last snapshot
      // reaches subscribers: report that state here, since the subscription goes now.
      if (event.event !== 'failed' && this.sessions.has(event.sessionId)) {
        for (const listener of this.listeners) listener.state?.(event.sessionId, event.event);
      }
      for (const s of this.sessions.get(event.sessionId)?.subscriptions ?? []) s.unsubscribe();
      this.sessions.delete(event.sessionId);
    }
  }

  private watch(sessionId: string): void {
    const session = this.runtime.session(sessionId);
    if (!session || this.sessions.has(sessionId)) return;
    const at = this.now();
    const watched: Watched = { createdAt: at, lastActivityAt: at, subscriptions: [] };
    let lastState = JSON.stringify(session.getSnapshot().value);
    watched.subscriptions.push(
      session.on('*', (event) => {
        watched.lastActivityAt = this.now();
        for (const listener of this.listeners) listener.session?.(sessionId, event as SessionEmitted);
      }),
      session.subscribe({
        next: (snapshot) => {
          // Every event the session takes is a snapshot: compare states only if someone asks.
          if (!this.stateListened()) return;
          const state = JSON.stringify(snapshot.value);
          if (state === lastState) return;
          lastState = state;
          for (const listener of this.listeners) listener.state?.(sessionId, snapshot.value);
        },
        error: () => {},
      }),
    );
    this.sessions.set(sessionId, watched);
  }
}
