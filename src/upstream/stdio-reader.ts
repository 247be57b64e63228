/**
 * The `openStream` actor of a connection whose upstream is a stdio server: what the HTTP
 * reader is for a URL. It registers the stream with the session's process (the `host`
 * child, found in the actor system) and reports as an HTTP reader does: a POST of
 * notifications or responses only is accepted (202); anything else opens an event stream at
 * once, whose events are the server's messages for it, and a process that dies under it is a
 * dropped connection. The connection machine around it decides everything else.
 */
import { type CallbackLogicFunction, fromCallback } from 'xstate';
import type { ConnectionEvent, ReaderInbound, RequestId, StreamRequest } from '../../machines/connection.types.js';
import type { HostEvent } from '../../machines/process.types.js';
import { hostSystemId } from '../../machines/session.machine.js';

/** What a stdio reader needs to know of the body: the requests in it and their progress tokens. */
function requestsIn(body: string | undefined): { ids: RequestId[]; progressTokens: (string | number)[] } {
  const found = { ids: [] as RequestId[], progressTokens: [] as (string | number)[] };
  if (body === undefined) return found;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return found;
  }
  for (const message of Array.isArray(value) ? value : [value]) {
    const { id, method, params } = (message ?? {}) as {
      id?: unknown;
      method?: unknown;
      params?: { _meta?: { progressToken?: unknown } };
    };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) found.ids.push(id);
    const token = params?._meta?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') found.progressTokens.push(token);
  }
  return found;
}

export const stdioReader: CallbackLogicFunction<ReaderInbound, ConnectionEvent, StreamRequest> = ({
  input,
  sendBack,
  receive,
  self,
  system,
}) => {
  const host = input.session === undefined ? undefined : system.get(hostSystemId(input.session));
  if (host === undefined || host.getSnapshot().status !== 'active') {
    sendBack({ type: 'stream.error', message: 'the MCP server process is not running', code: 'ENOPROCESS' });
    return;
  }
  const kind = input.method === 'GET' ? 'get' : 'post';
  const { ids, progressTokens } = requestsIn(input.body);
  let stopped = false;
  host.send({
    type: 'host.open',
    streamId: input.id,
    kind,
    awaiting: ids,
    progressTokens,
    ref: self,
    ...(input.body !== undefined ? { body: input.body } : {}),
  } satisfies HostEvent);
  // The answer comes after the request, as over HTTP: never inside the call that opened the
  // stream (a session's initialize stream opens as the session starts), so whoever opened it
  // is listening by then.
  queueMicrotask(() => {
    if (stopped) return;
    // "If the input is a JSON-RPC response or notification: ... the server MUST return HTTP
    // status code 202 Accepted with no body": the process has them, nothing comes back.
    if (kind === 'post' && ids.length === 0) sendBack({ type: 'stream.response', status: 202, contentType: null });
    else sendBack({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
  });

  receive((event) => {
    if (event.type === 'host.message') {
      sendBack({ type: 'stream.event', data: event.line, message: event.message });
    } else if (event.type === 'host.failed') {
      sendBack({ type: 'stream.error', message: event.message, code: 'EPROCESSEXIT' });
    }
  });
  return () => {
    stopped = true;
    // The process may have ended first (it gave up, or the session stopped it).
    if (host.getSnapshot().status === 'active')
      host.send({ type: 'host.close', streamId: input.id } satisfies HostEvent);
  };
};

export const createStdioReader = () => fromCallback(stdioReader);
