import { type Dispatcher, request } from 'undici';
import { fromPromise } from 'xstate';
import type { DeleteUpstreamInput } from '../../machines/session.types.js';

/**
 * Ends an upstream session: "Clients that no longer need a particular session ... SHOULD
 * send an HTTP DELETE to the MCP endpoint with the Mcp-Session-Id header". A 405 (the
 * server does not allow clients to end sessions) is an answer, not an error.
 */
export function createDeleteUpstream(dispatcher?: Dispatcher) {
  return fromPromise<void, DeleteUpstreamInput>(async ({ input, signal }) => {
    const response = await request(input.upstream.url, {
      method: 'DELETE',
      headers: input.headers,
      signal,
      ...(dispatcher ? { dispatcher } : {}),
    });
    await response.body.dump();
  });
}
