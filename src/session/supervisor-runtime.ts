/**
 * The supervisor with its effects: real connections, the upstream DELETE, one event log per
 * session. This is what the proxy and embedders talk to.
 */
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import type { ConnectionOptionsInput, RequestId } from '../../machines/connection.types.js';
import { processMachine } from '../../machines/process.machine.js';
import { type SessionActorRef, sessionMachine } from '../../machines/session.machine.js';
import type { SessionLimits, UpstreamGonePolicy, UpstreamTarget } from '../../machines/session.types.js';
import { sessionGroupMachine } from '../../machines/session-group.machine.js';
import { sessionIdOfChild, sessionSystemId, supervisorMachine } from '../../machines/supervisor.machine.js';
import type { SupervisorEmitted, SupervisorLimits } from '../../machines/supervisor.types.js';
import type { Logger } from '../log.js';
import { createConnectionLogic } from '../sse/connection-logic.js';
import {
  DEFAULT_EVENT_LOG_LIMITS,
  type EventLogLimits,
  MemoryEventLog,
  type ReplayResult,
} from '../store/memory-event-log.js';
import { createDeleteUpstream } from '../upstream/delete-upstream.js';
import { createStdioRunner } from '../upstream/stdio-runner.js';
import { createStdioStreamLogic } from '../upstream/stdio-stream.js';
import { indexScheduler } from './indexed-scheduler.js';

export interface SupervisorRuntimeOptions {
  upstream: UpstreamTarget;
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
}

/** 256 random bits, base64url: visible ASCII and unguessable. */
export const mintSessionId = () => randomBytes(32).toString('base64url');
const mintEventTag = () => randomBytes(6).toString('base64url');

export type CreateSessionResult =
  | { ok: true; sessionId: string; session: SessionActorRef }
  | { ok: false; code: string; message: string };

export class SupervisorRuntime {
  readonly actor: Actor<typeof supervisorMachine>;
  private readonly logs = new Map<string, MemoryEventLog>();
  private readonly logLimits: EventLogLimits;
  private eventsReplayed = 0;
  /** Evictions of logs already freed (their sessions ended). */
  private evictedFromEnded = 0;

  constructor(private readonly options: SupervisorRuntimeOptions) {
    this.logLimits = { ...DEFAULT_EVENT_LOG_LIMITS, ...options.eventLog };
    const stdio = options.upstream.process !== undefined;
    const sessionLogic = sessionMachine.provide({
      actors: {
        // A stdio upstream's streams talk to the session's process; an HTTP one's to the URL.
        connection: stdio
          ? (createStdioStreamLogic() as unknown as ReturnType<typeof createConnectionLogic>)
          : createConnectionLogic(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        upstreamHost: processMachine.provide({ actors: { runner: createStdioRunner({ logger: options.logger }) } }),
        deleteUpstream: createDeleteUpstream(options.dispatcher),
      },
      actions: {
        record: ({ context }, event) => this.logs.get(context.sessionId)?.append(event),
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
    this.actor.subscribe({ error: (error) => console.error('mcp-shepherd: supervisor failed', error) });
    this.actor.on('supervisor.lifecycle', (event) => {
      // The log goes with the session: nothing of an ended session stays in memory.
      if (event.event === 'expired' || event.event === 'terminated' || event.event === 'failed') {
        this.dropLog(event.sessionId);
      }
    });
    this.actor.start();
  }

  /** Starts a session whose first act is to send the client's initialize upstream. */
  createSession(initialize: { body: string; requestId: RequestId }, key = 'initialize'): CreateSessionResult {
    const sessionId = mintSessionId();
    const eventTag = mintEventTag();
    let refusal: Extract<SupervisorEmitted, { type: 'supervisor.refused' }> | undefined;
    const sub = this.actor.on('supervisor.refused', (event) => {
      if (event.key === key) refusal = event;
    });
    this.logs.set(sessionId, new MemoryEventLog(eventTag, this.logLimits));
    this.actor.send({
      type: 'supervisor.create',
      key,
      input: {
        sessionId,
        eventTag,
        initialize: { key, ...initialize },
        upstream: this.options.upstream,
        ...(this.options.session ? { limits: this.options.session } : {}),
        ...(this.options.connection ? { connection: this.options.connection } : {}),
        ...(this.options.onUpstreamGone ? { onUpstreamGone: this.options.onUpstreamGone } : {}),
      },
    });
    sub.unsubscribe();
    const session = this.session(sessionId);
    if (refusal || !session) {
      this.logs.delete(sessionId);
      return { ok: false, code: refusal?.code ?? 'failed', message: refusal?.message ?? 'session did not start' };
    }
    return { ok: true, sessionId, session };
  }

  session(sessionId: string): SessionActorRef | undefined {
    return this.actor.system.get(sessionSystemId(sessionId)) as SessionActorRef | undefined;
  }

  /** Every session actor alive now, from every group. */
  sessionActors(): SessionActorRef[] {
    const sessions: SessionActorRef[] = [];
    for (const group of Object.values(this.actor.getSnapshot().children)) {
      const children = (group?.getSnapshot() as { children?: Record<string, SessionActorRef | undefined> } | undefined)
        ?.children;
      for (const session of Object.values(children ?? {})) if (session) sessions.push(session);
    }
    return sessions;
  }

  /** The ids of every session alive now. */
  sessionIds(): string[] {
    return this.sessionActors().flatMap((session) => sessionIdOfChild(session) ?? []);
  }

  get sessionCount(): number {
    return this.actor.getSnapshot().context.live;
  }

  eventLog(sessionId: string): MemoryEventLog | undefined {
    return this.logs.get(sessionId);
  }

  /** The events of one stream after `lastEventId`, from the session's log. */
  replay(sessionId: string, lastEventId: string): ReplayResult {
    const log = this.logs.get(sessionId);
    if (!log) return { ok: false, code: 'unknown', message: 'No such session.' };
    const result = log.replayAfter(lastEventId);
    if (result.ok) this.eventsReplayed += result.events.length;
    return result;
  }

  /** Running totals for metrics: events replayed to resuming clients, events evicted from full logs. */
  get stats(): { eventsReplayed: number; eventsEvicted: number } {
    let evicted = this.evictedFromEnded;
    for (const log of this.logs.values()) evicted += log.evicted;
    return { eventsReplayed: this.eventsReplayed, eventsEvicted: evicted };
  }

  private dropLog(sessionId: string): void {
    this.evictedFromEnded += this.logs.get(sessionId)?.evicted ?? 0;
    this.logs.delete(sessionId);
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

  stop(): void {
    this.actor.stop();
    this.logs.clear();
  }
}
