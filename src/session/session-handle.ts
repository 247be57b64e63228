/**
 * How the HTTP layer talks to one session: commands in, and the session's emitted events
 * handed to the one client response they concern. The handle subscribes to its session
 * once and routes by request key and by stream, so an event costs one lookup however many
 * requests are in flight. It reads nothing of the machine's context but what it exposes
 * here, through the runtime that owns the actor.
 */
import type { SessionActorRef } from '../../machines/session.machine.js';
import type { SessionCommand, SessionEmitted } from '../../machines/session.types.js';

/** Events that answer one client request (by its key). */
export type KeyedEvent = Extract<
  SessionEmitted,
  { type: 'session.stream.opened' | 'session.refused' | 'session.resumed' }
>;
/** Events of one stream. */
export type StreamEvent = Extract<
  SessionEmitted,
  { type: 'session.event' | 'session.stream.status' | 'session.stream.ended' }
>;

/**
 * What holds a session's events back until they are durable (src/cluster/durable-log.ts): the
 * handle asks it before it hands an event on, and hears from it when a batch is committed.
 */
export interface CommitGate {
  /** Sees every emitted event first (one may need the session's snapshot written). */
  observe(event: SessionEmitted): void;
  /** The batch an event emitted now must wait for; undefined when nothing is uncommitted. */
  waitFor(): number | undefined;
  /** The newest batch the store acknowledged. */
  committed(): number;
  /** Another replica owns the session now: what is held is never delivered here. */
  readonly isFenced: boolean;
  onCommit(listener: () => void): () => void;
}

export interface SessionListener {
  keyed?(event: KeyedEvent): void;
  stream?(event: StreamEvent): void;
  /** The session is over (ended, or its actor stopped). */
  ended?(): void;
}

export class SessionHandle {
  private readonly byKey = new Map<string, SessionListener>();
  private readonly byStream = new Map<number, Set<SessionListener>>();
  /** Listeners that want every stream's events for a while (a resume before its answer). */
  private readonly everyStream = new Set<SessionListener>();
  private readonly endListeners = new Set<SessionListener>();
  private over = false;
  /** How the session ended, once it has: `terminated` or `expired`, and why. */
  endedAs: { state: 'terminated' | 'expired'; reason: string } | undefined;

  /** Events waiting for their batch to be committed (cluster mode), in order. */
  private readonly held: Array<{ batch: number; event: SessionEmitted }> = [];
  private completed = false;

  constructor(
    readonly sessionId: string,
    private readonly actor: SessionActorRef,
    gate?: CommitGate,
  ) {
    actor.on('*', (event: SessionEmitted) => (gate ? this.admit(gate, event) : this.dispatch(event)));
    gate?.onCommit(() => this.release(gate));
    actor.subscribe({ complete: () => this.complete(), error: () => this.end() });
  }

  /** An event goes on now, or after the events held before it once its batch is committed. */
  private admit(gate: CommitGate, event: SessionEmitted): void {
    gate.observe(event);
    const batch = gate.waitFor();
    if (batch === undefined && this.held.length === 0) this.dispatch(event);
    else this.held.push({ batch: batch ?? gate.committed(), event });
  }

  private release(gate: CommitGate): void {
    if (gate.isFenced) {
      this.held.length = 0;
      this.end();
      return;
    }
    const through = gate.committed();
    // One splice per commit, not a shift per event: a batch may hold thousands.
    let released = 0;
    while (released < this.held.length && (this.held[released]?.batch ?? 0) <= through) released++;
    for (const { event } of this.held.splice(0, released)) this.dispatch(event);
    if (this.completed && this.held.length === 0) this.end();
  }

  /** The actor is done; what it emitted last may still wait for its batch. */
  private complete(): void {
    this.completed = true;
    if (this.held.length === 0) this.end();
  }

  get alive(): boolean {
    return !this.over && this.actor.getSnapshot().status === 'active';
  }

  /** The protocol version the session negotiated with the upstream, once it has. */
  get protocolVersion(): string | undefined {
    return this.actor.getSnapshot().context.protocolVersion;
  }

  /** Who created the session (src/auth/identity.ts): the only one it is served to. */
  get identity(): string | undefined {
    return this.actor.getSnapshot().context.config.identity;
  }

  /** The upstream accepted a request of this session carrying this credential. */
  hasAccepted(credentialId: string): boolean {
    return this.actor.getSnapshot().context.credentials.accepted.includes(credentialId);
  }

  send(command: SessionCommand): void {
    this.actor.send(command);
  }

  /** Listens for the answers to request `key`; returns the function that stops it. */
  onKey(key: string, listener: SessionListener): () => void {
    this.byKey.set(key, listener);
    this.endListeners.add(listener);
    return () => {
      if (this.byKey.get(key) === listener) this.byKey.delete(key);
      this.endListeners.delete(listener);
    };
  }

  onStream(stream: number, listener: SessionListener): () => void {
    let set = this.byStream.get(stream);
    if (set === undefined) {
      set = new Set();
      this.byStream.set(stream, set);
    }
    set.add(listener);
    this.endListeners.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byStream.get(stream) === set) this.byStream.delete(stream);
      this.endListeners.delete(listener);
    };
  }

  onEveryStream(listener: SessionListener): () => void {
    this.everyStream.add(listener);
    return () => this.everyStream.delete(listener);
  }

  /** Resolves when the session is over. */
  ended(): Promise<void> {
    if (this.over) return Promise.resolve();
    return new Promise((resolve) => {
      this.endListeners.add({ ended: resolve });
    });
  }

  private dispatch(event: SessionEmitted): void {
    switch (event.type) {
      case 'session.stream.opened':
      case 'session.refused':
      case 'session.resumed':
        this.byKey.get(event.key)?.keyed?.(event);
        return;
      case 'session.event':
      case 'session.stream.status':
      case 'session.stream.ended':
        for (const listener of this.everyStream) listener.stream?.(event);
        for (const listener of this.byStream.get(event.stream) ?? []) listener.stream?.(event);
        return;
      case 'session.ended':
        this.endedAs = { state: event.state, reason: event.reason };
        this.end();
        return;
      default:
        return;
    }
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    for (const listener of [...this.endListeners]) listener.ended?.();
    this.endListeners.clear();
    this.byKey.clear();
    this.byStream.clear();
    this.everyStream.clear();
  }
}
