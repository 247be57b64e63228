/**
 * The supervisor with everything that watches it: the runtime (actors and their effects),
 * lifecycle logs, embedders' hooks, the watcher, the admin views and metrics. The proxy
 * (`createShepherd`) and the in-process client supervisor (`createSupervisor`) are both this,
 * with a different front: HTTP relays, or SDK transports.
 */
import type { Dispatcher } from 'undici';
import type { InspectionEvent } from 'xstate';
import type { ConnectionOptionsInput } from '../../machines/connection.types.js';
import type { SessionLimits, UpstreamGonePolicy, UpstreamTarget } from '../../machines/session.types.js';
import type { SupervisorLimits } from '../../machines/supervisor.types.js';
import { ShepherdMetrics, statePath } from '../admin/metrics.js';
import { type SessionView, SessionViews } from '../admin/session-view.js';
import { createLogger, type Logger } from '../log.js';
import type { EventLogLimits } from '../store/memory-event-log.js';
import { installSessionHooks, type SessionHooks } from './session-hooks.js';
import { SessionWatcher } from './session-watcher.js';
import { SupervisorRuntime, type SupervisorRuntimeOptions } from './supervisor-runtime.js';

export interface SupervisionOptions extends SessionHooks {
  /** The upstream of every session that names none. */
  upstream?: UpstreamTarget | undefined;
  /** Session and supervisor limits; see docs/session.md and docs/supervisor.md. */
  limits?: Partial<SessionLimits & SupervisorLimits> | undefined;
  /** Reconnect, backoff and health-check options of every upstream stream; see docs/connection.md. */
  connection?: ConnectionOptionsInput | undefined;
  /** Upstream session gone: `reinitialize` (default) keeps the client's session; `propagate` ends it. */
  onUpstreamGone?: UpstreamGonePolicy | undefined;
  /** Bounds of each session's event log (resumability). */
  eventLog?: Partial<EventLogLimits> | undefined;
  /** A pino logger; default: JSON lines on stdout at `info`. */
  logger?: Logger | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Every actor's inspection events, for the Stately inspector. */
  inspect?: ((event: InspectionEvent) => void) | undefined;
  /** The clock of every actor timer (XState's Clock); tests inject one. Default: real time. */
  clock?: SupervisorRuntimeOptions['clock'] | undefined;
  /** `auto` (default), `2025` or `2026-07-28`: which era the upstream speaks; docs/era-bridge.md. */
  upstreamProtocol?: SupervisorRuntimeOptions['upstreamProtocol'];
  /** Bounds of a call's rounds of input when the upstream is 2026-07-28. */
  inputRounds?: SupervisorRuntimeOptions['inputRounds'];
  /** How long the `server/discover` probe may take. Default 10 s. */
  probeTimeoutMs?: number | undefined;
  /** Cluster mode: every session's log goes through the cluster store (docs/replicas.md). */
  runtimeCluster?: SupervisorRuntimeOptions['cluster'];
}

export interface Supervision {
  runtime: SupervisorRuntime;
  logger: Logger;
  /** Watches every session once, for metrics, the admin API and its live updates. */
  watcher: SessionWatcher;
  /** What the admin API shows of sessions. */
  sessions: SessionViews;
  /** Prometheus metrics (its own prom-client registry). */
  metrics: ShepherdMetrics;
  /** Every live session: state value, age, idle time, streams with their states, event log. */
  listSessions(): SessionView[];
  /** Refuses new sessions, ends every session (DELETE upstream), stops every actor. */
  close(): Promise<void>;
}

export function createSupervision(options: SupervisionOptions): Supervision {
  const logger = options.logger ?? createLogger();
  const { maxSessions, ...sessionLimits } = options.limits ?? {};
  const runtime = new SupervisorRuntime({
    ...(options.upstream ? { upstream: options.upstream } : {}),
    ...(maxSessions !== undefined ? { supervisor: { maxSessions } } : {}),
    session: sessionLimits,
    ...(options.connection ? { connection: options.connection } : {}),
    ...(options.eventLog ? { eventLog: options.eventLog } : {}),
    ...(options.onUpstreamGone ? { onUpstreamGone: options.onUpstreamGone } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.upstreamProtocol ? { upstreamProtocol: options.upstreamProtocol } : {}),
    ...(options.inputRounds ? { inputRounds: options.inputRounds } : {}),
    ...(options.probeTimeoutMs !== undefined ? { probeTimeoutMs: options.probeTimeoutMs } : {}),
    ...(options.runtimeCluster ? { cluster: options.runtimeCluster } : {}),
    logger,
  });
  runtime.actor.on('supervisor.lifecycle', (event) => {
    const { type: _type, ...fields } = event;
    logger.info(fields, `session ${event.event}`);
  });
  const removeHooks = installSessionHooks(runtime, options, logger);
  const watcher = new SessionWatcher(runtime);
  // Upstream output a client must never see: logged without its content (it may be user data).
  watcher.listen({
    session(sessionId, event) {
      if (event.type !== 'session.upstream.invalid') return;
      logger.warn(
        { sessionId, stream: event.stream, problem: event.problem },
        'upstream sent output that is not JSON-RPC',
      );
    },
  });
  // Transitions at debug: the session's states, and each upstream stream's (why it waits, how long).
  if (logger.isLevelEnabled('debug')) {
    watcher.listen({
      state(sessionId, value) {
        logger.debug({ sessionId, state: statePath(value) }, 'session state');
      },
      session(sessionId, event) {
        if (event.type !== 'session.stream.status') return;
        const { state, reason, attempt, status, delayMs, delaySource, lastEventId } = event.status;
        logger.debug(
          { sessionId, stream: event.stream, state, reason, attempt, status, delayMs, delaySource, lastEventId },
          'upstream stream state',
        );
      },
    });
  }
  const sessions = new SessionViews(runtime, watcher);
  const metrics = new ShepherdMetrics(runtime, watcher);
  let closing: Promise<void> | undefined;
  return {
    runtime,
    logger,
    watcher,
    sessions,
    metrics,
    listSessions: () => sessions.list(),
    close() {
      // Once: a second close (a signal handler and a test's cleanup) waits for the first.
      closing ??= (async () => {
        await runtime.drain();
        removeHooks();
        metrics.stop();
        watcher.stop();
        runtime.stop();
      })();
      return closing;
    },
  };
}
