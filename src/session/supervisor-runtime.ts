/**
 * The supervisor with its effects: real connections (HTTP or a stdio process), the upstream
 * DELETE, an event log per session. This is what the proxy and embedders talk to; it is
 * also the one place that reads the actors' snapshots, into the typed views below.
 */
import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { type Actor, createActor, type InspectionEvent, type SnapshotFrom } from 'xstate';
import type { connectionMachine } from '../../machines/connection.machine.js';
import { connectionStateName } from '../../machines/connection.machine.js';
import type { ConnectionOptionsInput, ConnectionStateName, RequestId } from '../../machines/connection.types.js';
import { formatEventId } from '../../machines/event-id.js';
import type { EventLogStats } from '../../machines/event-log.js';
import { processMachine, processStateName } from '../../machines/process.machine.js';
import type { ProcessStateName } from '../../machines/process.types.js';
import { reinitializeMachine } from '../../machines/reinitialize.machine.js';
import {
  DEFAULT_SESSION_LIMITS,
  HOST_ID,
  INITIALIZE_STREAM,
  primingIdOf,
  type SessionActorRef,
  type SessionContext,
  sessionMachine,
  streamChildId,
} from '../../machines/session.machine.js';
import type { Forwarded, SessionLimits, UpstreamGonePolicy, UpstreamTarget } from '../../machines/session.types.js';
import { sessionGroupMachine } from '../../machines/session-group.machine.js';
import { sessionSystemId, supervisorMachine } from '../../machines/supervisor.machine.js';
import type { SupervisorEmitted, SupervisorLimits, SupervisorRefusal } from '../../machines/supervisor.types.js';
import type { ClusterStore, SessionSnapshot, StoredSession } from '../cluster/cluster-store.js';
import { DurableLog } from '../cluster/durable-log.js';
import { SessionBridges } from '../era/era-reader.js';
import type { ModernReaderOptions } from '../era/modern-reader.js';
import { createProbe } from '../era/probe.js';
import { UpstreamEras, type UpstreamProtocol } from '../era/upstream-eras.js';
import { InternalError, LimitReachedError, SessionGoneError, type ShepherdError, UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { createStreamLogic, isStdioUrl, STDIO_SCHEME } from '../sse/connection-logic.js';
import { DEFAULT_EVENT_LOG_LIMITS, type EventLogLimits, MemoryEventLogs } from '../store/memory-event-log.js';
import { createDeleteUpstream } from '../upstream/delete-upstream.js';
import { createStdioRunner } from '../upstream/stdio-runner.js';
import { indexScheduler } from './indexed-scheduler.js';
import { SessionHandle } from './session-handle.js';

export interface SupervisorRuntimeOptions {
  /** The upstream of every session, unless createSession names another. */
  upstream?: UpstreamTarget | undefined;
  supervisor?: Partial<SupervisorLimits>;
  session?: Partial<SessionLimits>;
  connection?: ConnectionOptionsInput;
  /** When the upstream answers 404: re-initialize it (default) or end the session. */
  onUpstreamGone?: UpstreamGonePolicy;
  eventLog?: Partial<EventLogLimits>;
  /** undici dispatcher for every upstream request. */
  dispatcher?: Dispatcher;
  /** Clock for every actor timer (XState's Clock shape); tests inject one. */
  clock?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };
  /** Where a stdio server's stderr and lifecycle are logged. */
  logger?: Logger | undefined;
  /** Inspection hook, e.g. `@statelyai/inspect`'s `inspector.inspect`. */
  inspect?: (event: InspectionEvent) => void;
  /**
   * Which era the upstream speaks: `auto` (default) probes it with `server/discover` at the
   * first session and bridges a 2026-07-28 upstream for 2025 clients (docs/era-bridge.md).
   */
  upstreamProtocol?: UpstreamProtocol | undefined;
  /** How long the `server/discover` probe may take; past it the upstream is session-era. Default 10 s. */
  probeTimeoutMs?: number | undefined;
  /** Bounds of a call's rounds of input for a 2026-07-28 upstream. */
  inputRounds?: ModernReaderOptions['rounds'] | undefined;
  /** Cluster mode (docs/replicas.md): every session's log and snapshot go through this store. */
  cluster?: RuntimeCluster | undefined;
}

/** What the runtime needs of the cluster: the store, who this replica is, and where to report. */
export interface RuntimeCluster {
  store: ClusterStore;
  /** This replica's id now (it changes when the replica rejoins). */
  replicaId(): string;
  /** How long a session's records live in the store: its lifetime and a margin. */
  sessionTtlMs: number;
  /** A session's store write failed or worked (the store's health). */
  onStoreResult?(ok: boolean): void;
  /** A session's write was fenced: another replica owns it now, and it ends here. */
  onFenced?(sessionId: string): void;
}

/** 256 random bits, base64url: visible ASCII and unguessable. */
export const mintSessionId = () => randomBytes(32).toString('base64url');
const mintEventTag = () => randomBytes(6).toString('base64url');

export type CreateSessionResult =
  | {
      ok: true;
      sessionId: string;
      handle: SessionHandle;
      /** The stream the initialize answer comes on, and its priming id. */
      initializeStream: { stream: number; primingId: string };
    }
  | { ok: false; error: ShepherdError };

/** One of a session's streams, as the admin API and metrics see it. */
export interface StreamInfo {
  stream: number;
  kind: 'get' | 'post';
  /** `exchange`: a one-shot POST waiting for its answer, with no connection machine (machines/exchange.ts). */
  machine: 'connection' | 'exchange';
  state: ConnectionStateName;
  /** The connection machine's state value, e.g. `{ "streaming": { "open": { "health": "receiving", "resume": "idle" } } }`. */
  value: unknown;
  attempt: number;
  opens: number;
  lastEventId: string | undefined;
  /** A client response is attached to it. */
  attached: boolean;
  context: SnapshotFrom<typeof connectionMachine>['context'] | undefined;
}

/** A stdio session's server process. */
export interface HostInfo {
  machine: 'process';
  state: ProcessStateName;
  value: unknown;
  restarts: number;
  attempt: number;
  context: SnapshotFrom<typeof processMachine>['context'];
}

export interface SessionInfo {
  sessionId: string;
  /** The session machine's state value, e.g. `{ "live": { "active": "idle" } }`. */
  value: unknown;
  status: string;
  protocolVersion: string | undefined;
  /** What the upstream speaks: `session` (2025, as the client), or `2026-07-28` bridged (docs/era-bridge.md). */
  upstreamEra: 'session' | '2026-07-28';
  reinitializations: number;
  limits: SessionLimits;
  streams: StreamInfo[];
  host: HostInfo | undefined;
  eventLog: EventLogStats;
  context: SessionContext;
}

type ChildSnapshot = { machine?: { id?: unknown } } | undefined;
const machineIdOf = (snapshot: unknown) => (snapshot as ChildSnapshot)?.machine?.id;
const isConnectionSnapshot = (s: unknown): s is SnapshotFrom<typeof connectionMachine> =>
  machineIdOf(s) === 'connection';
const isProcessSnapshot = (s: unknown): s is SnapshotFrom<typeof processMachine> => machineIdOf(s) === 'process';

const REFUSALS: Record<SupervisorRefusal, (message: string) => ShepherdError> = {
  'too-many-sessions': (message) => new LimitReachedError('SHEPHERD_TOO_MANY_SESSIONS', message, 503, 5),
  draining: (message) => new UnavailableError('SHEPHERD_DRAINING', message, 5),
  'invalid-session-id': (message) => new InternalError(message),
  'unknown-session': (message) => new SessionGoneError(message),
};

/** A stdio upstream: its streams read a pipe, where a heartbeat has nothing to measure. */
function forStdio(upstream: UpstreamTarget, connection: ConnectionOptionsInput | undefined) {
  if (upstream.process === undefined) return { upstream, connection };
  return {
    upstream: isStdioUrl(upstream.url) ? upstream : { ...upstream, url: `${STDIO_SCHEME}${upstream.url}` },
    connection: { ...connection, heartbeatTimeoutMs: 0 },
  };
}

export class SupervisorRuntime {
  readonly actor: Actor<typeof supervisorMachine>;
  private readonly logs: MemoryEventLogs;
  private readonly handles = new WeakMap<SessionActorRef, SessionHandle>();
  /**
   * The runtime's own pool for POSTs and DELETEs when no dispatcher is given: closed with the
   * runtime, so a closed supervisor leaves no keep-alive socket behind in undici's global pool.
   */
  private readonly pool: Agent | undefined;
  /** What each upstream speaks (one era actor per upstream URL), and the sessions bridged to a modern one. */
  readonly eras: UpstreamEras;
  readonly bridges = new SessionBridges();
  /** Cluster mode: each session's durable log, by session id. */
  private readonly durable = new Map<string, DurableLog>();

  constructor(private readonly options: SupervisorRuntimeOptions) {
    this.logs = new MemoryEventLogs(options.eventLog);
    this.pool = options.dispatcher ? undefined : new Agent();
    const dispatcher = options.dispatcher ?? this.pool;
    this.eras = new UpstreamEras({
      mode: options.upstreamProtocol ?? 'auto',
      probe: createProbe({ dispatcher, timeoutMs: options.probeTimeoutMs }),
      inspect: options.inspect,
    });
    const { connection, exchange } = createStreamLogic({
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : { pool: this.pool }),
      era: { eras: this.eras, bridges: this.bridges, modern: { rounds: options.inputRounds } },
    });
    const sessionLogic = sessionMachine.provide({
      actors: {
        connection,
        exchange,
        reinitialize: reinitializeMachine.provide({ actors: { connection } }),
        upstreamHost: processMachine.provide({ actors: { runner: createStdioRunner({ logger: options.logger }) } }),
        deleteUpstream: createDeleteUpstream(options.dispatcher ?? this.pool),
      },
    });
    const groupLogic = sessionGroupMachine.provide({ actors: { session: sessionLogic } });
    this.actor = createActor(supervisorMachine.provide({ actors: { group: groupLogic } }), {
      input: options.supervisor ? { limits: options.supervisor } : undefined,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    // Before start: every delayed event of every session and stream goes through it.
    indexScheduler(this.actor.system);
    this.actor.on('supervisor.lifecycle', ({ sessionId, event, reason }) => {
      if (event !== 'terminated' && event !== 'expired' && event !== 'failed') return;
      this.bridges.delete(sessionId);
      const log = this.durable.get(sessionId);
      this.durable.delete(sessionId);
      // Over here and everywhere, unless handed over: then another replica goes on with it.
      const token = log?.ownerToken;
      if (this.options.cluster && token !== undefined && reason !== 'handoff' && !log?.isFenced) {
        this.options.cluster.store.remove(sessionId, token).catch(() => {});
      }
    });
    this.actor.subscribe({ error: (error) => console.error('mcp-shepherd: supervisor failed', error) });
    this.actor.start();
  }

  /**
   * Starts a session whose first act is to send the client's initialize upstream; to the
   * runtime's upstream, or to the one given (one runtime may hold sessions to several).
   */
  createSession(
    initialize: { body: string; requestId: RequestId; forward?: Forwarded | undefined },
    options: { key?: string; upstream?: UpstreamTarget; identity?: string } = {},
  ): CreateSessionResult {
    const target = options.upstream ?? this.options.upstream;
    if (target === undefined) {
      return { ok: false, error: new InternalError('no upstream: give the session one, or the runtime a default') };
    }
    const key = options.key ?? 'initialize';
    const sessionId = mintSessionId();
    const eventTag = mintEventTag();
    const eventLog = this.logFor(sessionId, eventTag, Date.now());
    let refusal: Extract<SupervisorEmitted, { type: 'supervisor.refused' }> | undefined;
    const sub = this.actor.on('supervisor.refused', (event) => {
      if (event.key === key) refusal = event;
    });
    const { upstream, connection } = forStdio(target, this.options.connection);
    this.actor.send({
      type: 'supervisor.create',
      key,
      input: {
        sessionId,
        eventTag,
        initialize: { key, ...initialize },
        upstream,
        eventLog,
        ...(options.identity !== undefined ? { identity: options.identity } : {}),
        ...(this.options.session ? { limits: this.options.session } : {}),
        ...(connection ? { connection } : {}),
        ...(this.options.onUpstreamGone ? { onUpstreamGone: this.options.onUpstreamGone } : {}),
      },
    });
    sub.unsubscribe();
    const actor = this.actorOf(sessionId);
    if (refusal || !actor) {
      this.durable.delete(sessionId);
      const error = refusal ? REFUSALS[refusal.code](refusal.message) : new InternalError('the session did not start');
      return { ok: false, error };
    }
    // The session opened the initialize stream as it started, before anyone could listen.
    const stream = INITIALIZE_STREAM;
    const primingId = primingIdOf(actor.getSnapshot().context, stream);
    return { ok: true, sessionId, handle: this.handleOf(actor), initializeStream: { stream, primingId } };
  }

  /** The session's event log: in memory, or in cluster mode written through the store. */
  private logFor(
    sessionId: string,
    eventTag: string,
    createdAt: number,
    restored?: { token: string; stored: StoredSession },
  ) {
    const memory = this.logs.create(eventTag);
    const cluster = this.options.cluster;
    if (cluster === undefined) return memory;
    if (restored)
      memory.seed(
        restored.stored.events.map((e) => ({ ...e, eventId: formatEventId(eventTag, e.stream, e.seq) })),
        restored.stored.evictedThrough,
      );
    const log = new DurableLog({
      sessionId,
      store: cluster.store,
      memory,
      bounds: { ...DEFAULT_EVENT_LOG_LIMITS, ...this.options.eventLog },
      snapshot: () => {
        const actor = this.actorOf(sessionId);
        return actor && snapshotOf(actor, createdAt);
      },
      token: restored?.token,
      owner: { replicaId: cluster.replicaId(), ttlMs: cluster.sessionTtlMs },
      onFenced: () => {
        cluster.onFenced?.(sessionId);
        this.actorOf(sessionId)?.send({ type: 'session.handoff' });
      },
      onStoreResult: (ok) => cluster.onStoreResult?.(ok),
    });
    this.durable.set(sessionId, log);
    return log;
  }

  /**
   * Goes on with a session another replica held (it failed, or handed it over): the session
   * actor starts from the stored snapshot and log, under the fencing token this replica won.
   */
  restoreSession(sessionId: string, token: string, stored: StoredSession): SessionHandle | undefined {
    const existing = this.handle(sessionId);
    if (existing) return existing;
    const { snapshot } = stored;
    const target = this.options.upstream;
    if (target === undefined) return undefined;
    const limits = { ...DEFAULT_SESSION_LIMITS, ...this.options.session };
    // Its lifetime runs from its creation, on whichever replica holds it.
    const lifetimeLeft = Math.max(1, limits.maxLifetimeMs - (Date.now() - snapshot.createdAt));
    const { upstream, connection } = forStdio(target, this.options.connection);
    const eventLog = this.logFor(sessionId, snapshot.eventTag, snapshot.createdAt, { token, stored });
    this.actor.send({
      type: 'supervisor.create',
      key: `restore:${sessionId}`,
      input: {
        sessionId,
        eventTag: snapshot.eventTag,
        initialize: snapshot.initialize,
        upstream,
        eventLog,
        restore: snapshot.restore,
        ...(snapshot.identity !== undefined ? { identity: snapshot.identity } : {}),
        limits: { ...this.options.session, maxLifetimeMs: lifetimeLeft },
        ...(connection ? { connection } : {}),
        ...(this.options.onUpstreamGone ? { onUpstreamGone: this.options.onUpstreamGone } : {}),
      },
    });
    const actor = this.actorOf(sessionId);
    if (!actor) this.durable.delete(sessionId);
    return actor && this.handleOf(actor);
  }

  /** Cluster mode: the durable log of a session held here. */
  durableLog(sessionId: string): DurableLog | undefined {
    return this.durable.get(sessionId);
  }

  private actorOf(sessionId: string): SessionActorRef | undefined {
    const ref = this.actor.system.get(sessionSystemId(sessionId));
    return ref !== undefined && ref.getSnapshot().status === 'active' ? (ref as SessionActorRef) : undefined;
  }

  /** The handle the HTTP layer uses for a live session; undefined when there is none. */
  handle(sessionId: string): SessionHandle | undefined {
    const actor = this.actorOf(sessionId);
    return actor === undefined ? undefined : this.handleOf(actor);
  }

  private handleOf(actor: SessionActorRef): SessionHandle {
    let handle = this.handles.get(actor);
    if (handle === undefined) {
      const { sessionId } = actor.getSnapshot().context;
      handle = new SessionHandle(sessionId, actor, this.durable.get(sessionId));
      this.handles.set(actor, handle);
    }
    return handle;
  }

  /** The session actor itself, for embedders that watch it (its emitted events, snapshots). */
  session(sessionId: string): SessionActorRef | undefined {
    return this.actorOf(sessionId);
  }

  /** Every session actor alive now, from every group. */
  sessionActors(): SessionActorRef[] {
    const sessions: SessionActorRef[] = [];
    for (const group of Object.values(this.actor.getSnapshot().children)) {
      for (const session of Object.values(group?.getSnapshot().children ?? {})) if (session) sessions.push(session);
    }
    return sessions;
  }

  /** The ids of every session alive now. */
  sessionIds(): string[] {
    return this.sessionActors().map((session) => session.getSnapshot().context.sessionId);
  }

  get sessionCount(): number {
    return this.actor.getSnapshot().context.live;
  }

  /** What a session is doing now: its state, its streams and process, its event log. */
  inspect(sessionId: string): SessionInfo | undefined {
    const actor = this.actorOf(sessionId);
    return actor === undefined ? undefined : describeSession(actor, this.bridges);
  }

  /** Every live session, described. */
  inspectAll(): SessionInfo[] {
    return this.sessionActors().map((actor) => describeSession(actor, this.bridges));
  }

  /** Running totals for metrics: events replayed to resuming clients, events evicted from full logs. */
  get stats(): { eventsReplayed: number; eventsEvicted: number } {
    return { eventsReplayed: this.logs.totals.replayed, eventsEvicted: this.logs.totals.evicted };
  }

  /** Refuses new sessions, shuts every session down (DELETE upstream) and resolves when none is left. */
  async drain(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      if (this.actor.getSnapshot().status === 'done') return resolve();
      this.actor.on('supervisor.drained', () => resolve());
    });
    this.actor.send({ type: 'supervisor.drain' });
    await done;
  }

  /** Stops every actor; the runtime's own sockets close once their requests are over. */
  stop(): void {
    this.actor.stop();
    this.eras.stop();
    void this.pool?.close();
  }
}

/**
 * What another replica needs to go on with the session: the upstream session, the position
 * of its ids, and each open stream with the upstream's id of the last event it carried.
 */
function snapshotOf(actor: SessionActorRef, createdAt: number): SessionSnapshot {
  const snapshot = actor.getSnapshot();
  const { context } = snapshot;
  const streams = Object.entries(context.streams.entries).map(([key, entry]) => {
    const stream = Number(key);
    const child = snapshot.children[streamChildId(stream)]?.getSnapshot();
    const resumeId = isConnectionSnapshot(child) ? child.context.lastEventId : undefined;
    return { stream, kind: entry.kind, pending: entry.pending, resumeId };
  });
  return {
    eventTag: context.config.eventTag,
    identity: context.config.identity,
    initialize: context.config.initialize,
    createdAt,
    restore: {
      upstreamSessionId: context.upstreamSessionId,
      protocolVersion: context.protocolVersion,
      nextSeq: context.nextSeq,
      nextStream: context.streams.next,
      initializedBody: context.initializedBody,
      reinitializations: context.reinitializations,
      credential: context.credentials.latest,
      standaloneDelivered: context.standalone.delivered,
      streams,
    },
  };
}

function describeSession(actor: SessionActorRef, bridges: SessionBridges): SessionInfo {
  const snapshot = actor.getSnapshot();
  const { context } = snapshot;
  const streams: StreamInfo[] = Object.entries(context.streams.entries).map(([key, entry]) => {
    const stream = Number(key);
    const child = snapshot.children[streamChildId(stream)]?.getSnapshot();
    const connection = isConnectionSnapshot(child) ? child : undefined;
    const exchange = child !== undefined && connection === undefined;
    return {
      stream,
      kind: entry.kind,
      machine: exchange ? 'exchange' : 'connection',
      // Stopped for a re-initialization, it has no child until it is sent again.
      state: connection ? connectionStateName(connection.value) : exchange ? 'connecting' : 'waiting',
      value: connection?.value ?? (exchange ? 'connecting' : 'waiting'),
      attempt: connection?.context.attempt ?? 0,
      opens: connection?.context.opens ?? 0,
      lastEventId: connection?.context.lastEventId,
      attached: entry.client !== undefined,
      context: connection?.context,
    };
  });
  const hostSnapshot = snapshot.children[HOST_ID]?.getSnapshot();
  const host: HostInfo | undefined = isProcessSnapshot(hostSnapshot)
    ? {
        machine: 'process',
        state: processStateName(hostSnapshot.value),
        value: hostSnapshot.value,
        restarts: hostSnapshot.context.restarts,
        attempt: hostSnapshot.context.attempt,
        context: hostSnapshot.context,
      }
    : undefined;
  return {
    sessionId: context.sessionId,
    value: snapshot.value,
    status: snapshot.status,
    protocolVersion: context.protocolVersion,
    upstreamEra: bridges.get(context.sessionId) ? '2026-07-28' : 'session',
    reinitializations: context.reinitializations,
    limits: context.limits,
    streams,
    host,
    eventLog: context.config.eventLog.stats(),
    context,
  };
}
