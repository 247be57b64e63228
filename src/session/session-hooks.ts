/**
 * Typed lifecycle hooks for embedders, as the SDK's `onsessioninitialized` and
 * `onsessionclosed`: told once when a client's session exists, once when it is over and why.
 * A hook that throws is logged, never allowed to disturb the proxy.
 */
import type { Logger } from '../log.js';
import type { SupervisorRuntime } from './supervisor-runtime.js';

export interface SessionCreatedInfo {
  sessionId: string;
  /** The protocol version the upstream negotiated. */
  protocolVersion: string | undefined;
}

export interface SessionClosedInfo {
  sessionId: string;
  /** `terminated`: asked for (DELETE, shutdown); `expired`: idle, lifetime, upstream gone; `failed`: a bug. */
  state: 'terminated' | 'expired' | 'failed';
  /** deleted, shutdown, idle, lifetime, upstream-gone, or the failure's message. */
  reason: string;
}

export interface SessionHooks {
  /** The session is initialized: the client has its `Mcp-Session-Id`. */
  onSessionCreated?: ((session: SessionCreatedInfo) => void) | undefined;
  /** A session that was created is over; sessions whose initialize failed were never created. */
  onSessionClosed?: ((session: SessionClosedInfo) => void) | undefined;
}

export function installSessionHooks(runtime: SupervisorRuntime, hooks: SessionHooks, logger: Logger): () => void {
  if (!hooks.onSessionCreated && !hooks.onSessionClosed) return () => {};
  const created = new Set<string>();
  const call = <T>(name: string, hook: ((info: T) => void) | undefined, info: T) => {
    try {
      hook?.(info);
    } catch (error) {
      logger.error({ err: error }, `${name} hook threw`);
    }
  };
  const subscription = runtime.actor.on('supervisor.lifecycle', (event) => {
    const { sessionId } = event;
    if (event.event === 'initialized' && !created.has(sessionId)) {
      created.add(sessionId);
      const protocolVersion = runtime.inspect(sessionId)?.protocolVersion;
      call('onSessionCreated', hooks.onSessionCreated, { sessionId, protocolVersion });
    } else if (
      (event.event === 'terminated' || event.event === 'expired' || event.event === 'failed') &&
      created.delete(sessionId)
    ) {
      call('onSessionClosed', hooks.onSessionClosed, {
        sessionId,
        state: event.event,
        reason: event.reason ?? event.event,
      });
    }
  });
  return () => subscription.unsubscribe();
}
