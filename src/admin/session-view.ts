/**
 * What the admin API shows of a session: its state value, age, idle time, when it will
 * expire, its streams (state, attempts, reconnects) and its event log; in detail, the
 * session's and each stream's context with payloads redacted.
 */
import type { SessionWatcher } from '../session/session-watcher.js';
import type { SessionInfo, SupervisorRuntime } from '../session/supervisor-runtime.js';
import { redact } from './redact.js';

export interface StreamView {
  stream: number;
  kind: 'get' | 'post';
  /** `exchange`: a one-shot POST still waiting for its answer, with no statechart (machines/exchange.ts). */
  machine: 'connection' | 'exchange';
  /** The connection machine's state value, e.g. `{ "streaming": { "open": { "health": "receiving", "resume": "idle" } } }`. */
  state: unknown;
  /** Consecutive failed attempts now. */
  attempts: number;
  /** Times it opened again after its first open. */
  reconnects: number;
  lastEventId: string | undefined;
}

/** A stdio session's server process: the process machine's state. */
export interface HostView {
  machine: 'process';
  /** The process machine's state value, e.g. `{ "running": "ready" }`. */
  state: unknown;
  restarts: number;
  attempt: number;
}

export interface SessionView {
  id: string;
  /** The session machine's state value, e.g. `{ "live": { "active": "idle" } }`. */
  state: unknown;
  status: string;
  protocolVersion: string | undefined;
  /** `2026-07-28` when the proxy bridges the session to a 2026-07-28 upstream. */
  upstreamEra: 'session' | '2026-07-28';
  ageMs: number;
  idleMs: number;
  /** Until the idle timeout (when idle) or the lifetime ends, whichever is first. */
  expiresInMs: number;
  reinitializations: number;
  streams: StreamView[];
  host?: HostView | undefined;
  eventLog: { events: number; bytes: number };
}

export interface SessionDetail extends SessionView {
  context: unknown;
  streamContexts: Record<number, unknown>;
  hostContext?: unknown;
}

const isIdle = (value: unknown): boolean => JSON.stringify(value).includes('"idle"');

export class SessionViews {
  constructor(
    private readonly runtime: SupervisorRuntime,
    private readonly watcher: SessionWatcher,
    private readonly now: () => number = Date.now,
  ) {}

  list(): SessionView[] {
    return this.runtime.inspectAll().map((info) => this.viewOf(info));
  }

  view(id: string): SessionView | undefined {
    const info = this.runtime.inspect(id);
    return info && this.viewOf(info);
  }

  detail(id: string): SessionDetail | undefined {
    const info = this.runtime.inspect(id);
    if (!info) return undefined;
    const streamContexts: Record<number, unknown> = {};
    for (const stream of info.streams) streamContexts[stream.stream] = redact(stream.context ?? null);
    return {
      ...this.viewOf(info),
      context: redact(info.context),
      streamContexts,
      ...(info.host ? { hostContext: redact(info.host.context) } : {}),
    };
  }

  private viewOf(info: SessionInfo): SessionView {
    const id = info.sessionId;
    const now = this.now();
    const ageMs = now - (this.watcher.createdAt(id) ?? now);
    const idleMs = now - (this.watcher.lastActivityAt(id) ?? now);
    const lifetimeLeft = info.limits.maxLifetimeMs - ageMs;
    const expiresInMs = Math.max(
      0,
      isIdle(info.value) ? Math.min(lifetimeLeft, info.limits.idleTimeoutMs - idleMs) : lifetimeLeft,
    );
    return {
      id,
      state: info.value,
      status: info.status,
      protocolVersion: info.protocolVersion,
      upstreamEra: info.upstreamEra,
      ageMs,
      idleMs,
      expiresInMs,
      reinitializations: info.reinitializations,
      streams: info.streams.map((stream) => ({
        stream: stream.stream,
        kind: stream.kind,
        machine: stream.machine,
        state: stream.value,
        attempts: stream.attempt,
        reconnects: Math.max(0, stream.opens - 1),
        lastEventId: stream.lastEventId,
      })),
      ...(info.host
        ? {
            host: {
              machine: info.host.machine,
              state: info.host.value,
              restarts: info.host.restarts,
              attempt: info.host.attempt,
            },
          }
        : {}),
      eventLog: { events: info.eventLog.events, bytes: info.eventLog.bytes },
    };
  }
}
