/**
 * The bounds of the proxy's own HTTP listener: a client that trickles its headers or body,
 * or never finishes them, holds a socket; Node's server timers close it.
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Node's server options for these bounds, checked every second rather than every 30 s. */
export function listenerTimeouts(
  headersTimeoutMs = DEFAULT_HEADERS_TIMEOUT_MS,
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
) {
  // Node wants the headers' bound within the request's; 0 turns the request's off.
  const requestTimeout = requestTimeoutMs === 0 ? 0 : Math.max(requestTimeoutMs, headersTimeoutMs);
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1_000, Math.max(headersTimeoutMs, 1)),
  };
}
