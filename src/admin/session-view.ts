/**
 * What the admin API shows of a session: its state value, age, idle time, when it will
 * expire, its streams (state, attempts, reconnects) and its event log; in detail, the
 * session's and each stream's context with payloads redacted.
 */
import type { ConnectionContext } from '../../machines/connection.machine.js';
import { type SessionActorRef, streamChildId } from '../../machines/session.machine.js';
import type { SessionWatcher } from '../session/session-watcher.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';
import { redact } from './redact.js';

export interface StreamView {
  stream: number;
  kind: 'get' | 'post';
  /** The connection machine's state value, e.g. `{ "streaming": { "open": "receiving" } }`. */
  state: unknown;
  /** Consecutive failed attempts now. */
  attempts: number;
  /** Times it opened again after its first open. */
  reconnects: number;
  lastEventId: string | undefined;
}

export interface SessionView {
  id: string;
  /** The session machine's state value, e.g. `{ "live": { "active": "idle" } }`. */
  state: unknown;
  status: string;
  protocolVersion: string | undefined;
  ageMs: number;
  idleMs: number;
  /** Until the idle timeout (when idle) or the lifetime ends, whichever is first. */
  expiresInMs: number;
  reinitializations: number;
  streams: StreamView[];
  eventLog: { events: number; bytes: number } | undefined;
}

export interface SessionDetail extends SessionView {
  context: unknown;
  streamContexts: Record<number, unknown>;
}

/** A stream's actor: the connection machine, or (stdio upstreams) a stdio stream actor without that context. */
type ConnectionRef = { getSnapshot(): { value?: unknown; context?: Partial<ConnectionContext> } } | undefined;

const isIdle = (value: unknown): boolean => JSON.stringify(value).includes('"idle"');

export class SessionViews {
  constructor(
    private readonly runtime: SupervisorRuntime,
    private readonly watcher: SessionWatcher,
    private readonly now: () => number = Date.now,
  ) {}

  list(): SessionView[] {
    return this.ids().flatMap((id) => {
      const view = this.view(id);
      return view ? [view] : [];
    });
  }

  view(id: string): SessionView | undefined {
    const session = this.runtime.session(id);
    if (!session) return undefined;
    const snapshot = session.getSnapshot();
    const { context } = snapshot;
    const now = this.now();
    const ageMs = now - (this.watcher.createdAt(id) ?? now);
    const idleMs = now - (this.watcher.lastActivityAt(id) ?? now);
    const lifetimeLeft = context.limits.maxLifetimeMs - ageMs;
    const expiresInMs = Math.max(
      0,
      isIdle(snapshot.value) ? Math.min(lifetimeLeft, context.limits.idleTimeoutMs - idleMs) : lifetimeLeft,
    );
    const log = this.runtime.eventLog(id);
    return {
      id,
      state: snapshot.value,
      status: snapshot.status,
      protocolVersion: context.protocolVersion,
      ageMs,
      idleMs,
      expiresInMs,
      reinitializations: context.reinitializations,
      streams: Object.entries(context.streams).map(([stream, entry]) => {
        const connection = this.connection(session, Number(stream))?.getSnapshot();
        return {
          stream: Number(stream),
          kind: entry.kind,
          // A stdio stream actor has no state value of its own: while it runs, the stream is open.
          state: connection?.value ?? (connection ? 'open' : 'closed'),
          attempts: connection?.context?.attempt ?? 0,
          reconnects: Math.max(0, (connection?.context?.opens ?? 0) - 1),
          lastEventId: connection?.context?.lastEventId,
        };
      }),
      eventLog: log ? { events: log.size, bytes: log.byteSize } : undefined,
    };
  }

  detail(id: string): SessionDetail | undefined {
    const view = this.view(id);
    const session = this.runtime.session(id);
    if (!view || !session) return undefined;
    const streamContexts: Record<number, unknown> = {};
    for (const { stream } of view.streams) {
      streamContexts[stream] = redact(this.connection(session, stream)?.getSnapshot().context ?? null);
    }
    return { ...view, context: redact(session.getSnapshot().context), streamContexts };
  }

  private ids(): string[] {
    return this.runtime.sessionIds();
  }

  private connection(session: SessionActorRef, stream: number): ConnectionRef {
    return session.getSnapshot().children[streamChildId(stream)] as ConnectionRef;
  }
}
