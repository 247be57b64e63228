/**
 * Which session stream a message from a stdio server belongs to. stdio carries no stream
 * information, so the proxy infers it from JSON-RPC: a response goes to the stream that sent
 * the request; a progress or cancellation notification to the stream of the request it names;
 * anything else the server starts (a request such as sampling, a log message) to the one
 * request stream in flight, else to the standalone (GET) stream, else to the oldest request
 * stream, else nowhere.
 */
import type { RequestId } from './connection.types.js';
import type { StreamRegistration } from './process.types.js';

export function routeMessage(
  message: Record<string, unknown>,
  streams: readonly StreamRegistration[],
): { streamId: string; answers?: RequestId } | undefined {
  const { id, method, params } = message as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
  const isResponse = 'result' in message || 'error' in message;
  if (isResponse) {
    const owner = streams.find((s) => s.awaiting.includes(id as RequestId));
    return owner ? { streamId: owner.streamId, answers: id as RequestId } : undefined;
  }
  if (method === 'notifications/progress') {
    const token = params?.progressToken as string | number | undefined;
    const owner = streams.find((s) => token !== undefined && s.progressTokens.includes(token));
    if (owner) return { streamId: owner.streamId };
  }
  if (method === 'notifications/cancelled') {
    const owner = streams.find((s) => s.awaiting.includes(params?.requestId as RequestId));
    if (owner) return { streamId: owner.streamId };
  }
  const posts = streams.filter((s) => s.kind === 'post' && s.awaiting.length > 0);
  if (posts.length === 1) return { streamId: (posts[0] as StreamRegistration).streamId };
  const standalone = streams.find((s) => s.kind === 'get');
  if (standalone) return { streamId: standalone.streamId };
  return posts[0] ? { streamId: posts[0].streamId } : undefined;
}
