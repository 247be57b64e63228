/**
 * A one-shot exchange: a client POST that the upstream answers at once with one JSON body
 * (or a 202) needs none of what a connection machine is for (reconnects, retry hints,
 * stalls, resumes), so the session sends it through an `exchange` child, a plain callback
 * (src/sse/exchange.ts) that reports the whole answer in one event. Any other outcome (an SSE
 * stream, an error status, a failure, no answer within the exchange's window) is handed
 * over: the session spawns the stream's connection machine, whose reader adopts the request
 * where it stands, so nothing is sent twice. A request through an exchange costs the session
 * two steps instead of about twelve across three actors (docs/benchmarks.md).
 *
 * The session reports an exchange with the very statuses a connection would have sent for
 * the same answer (test/unit/exchange.test.ts holds the two side by side).
 */
import type { ConnectionStatus, ReaderEvent, RequestId, StreamEvent, StreamRequest } from './connection.types.js';
import { describe } from './connection-rules.js';

/** What an exchange child is given: the request the stream's connection would have sent first. */
export interface ExchangeInput {
  request: StreamRequest;
  /** The JSON-RPC requests in it: a JSON body that answers them all completes the exchange. */
  awaiting: readonly RequestId[];
}

type ResponseHead = Extract<ReaderEvent, { type: 'stream.response' }>;

/** The upstream answered at once: a 202, or a 2xx JSON body that answers every request in it. */
export interface ExchangeAnswered {
  type: 'exchange.answered';
  /** The stream's child id, as a connection's reports carry it. */
  id: string;
  response: ResponseHead;
  /** The JSON body, parsed once (none for a 202). */
  event?: StreamEvent | undefined;
}

/**
 * Anything else: the stream's connection machine takes the request over. `waitedMs`: how long
 * the request had been waiting for its response headers, which its connect timeout counts.
 */
export interface ExchangeHandover {
  type: 'exchange.handover';
  id: string;
  waitedMs: number;
}

export type ExchangeEvent = ExchangeAnswered | ExchangeHandover;

const status = (id: string, state: ConnectionStatus['state'], fields: Partial<ConnectionStatus>): ConnectionStatus => ({
  type: 'connection.status',
  id,
  state,
  reason: undefined,
  attempt: 0,
  opens: 0,
  lastEventId: undefined,
  sessionId: undefined,
  bodyKind: undefined,
  status: undefined,
  detail: undefined,
  delayMs: undefined,
  delaySource: undefined,
  answer: undefined,
  ...fields,
});

/** What a connection reports as it starts. */
export const exchangeConnecting = (id: string) => status(id, 'connecting', {});

const opened = (response: ResponseHead) => ({ opens: 1, sessionId: response.sessionId, bodyKind: 'json' as const });

/**
 * What a connection reports for the same answer, after `connecting`: open (none for a 202),
 * then closed. Two functions, one status each: each of the session's two actions makes only
 * its own (no cache keyed by the event: an entry per request is work for the garbage collector).
 */
export function exchangeOpened({ id, response }: ExchangeAnswered): ConnectionStatus | undefined {
  return response.status === 202 ? undefined : status(id, 'open', { ...opened(response), reason: 'opened' });
}

export function exchangeEnded({ id, response }: ExchangeAnswered): ConnectionStatus {
  // "the server MUST return HTTP status code 202 Accepted with no body".
  if (response.status === 202)
    return status(id, 'closed', { reason: 'accepted', status: 202, detail: describe(response) });
  return status(id, 'closed', { ...opened(response), reason: 'completed' });
}
