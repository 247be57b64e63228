/**
 * The connection's reader as a fake leaf: each request it is asked to make is recorded,
 * and the test answers it through `sendBack` (an HTTP response, events, an end, an error).
 */
import { type CallbackLogicFunction, fromCallback } from 'xstate';
import type { ConnectionEvent, ReaderInbound, StreamRequest } from '../../machines/connection.types.js';

export interface Reader {
  request: StreamRequest;
  sendBack: (event: ConnectionEvent) => void;
  stopped: boolean;
  /** It has answered the request (with a `stream.response`). */
  responded: boolean;
}

type ReaderHooks = { opened?(reader: Reader): void; stopped?(reader: Reader): void };

/** The reader as a callback function, for logic that wraps a reader (src/sse/exchange.ts). */
export function fakeReader(
  readers: () => Reader[],
  hooks: ReaderHooks = {},
): CallbackLogicFunction<ReaderInbound, ConnectionEvent, StreamRequest> {
  return ({ input, sendBack }) => {
    const reader: Reader = { request: input, sendBack, stopped: false, responded: false };
    readers().push(reader);
    hooks.opened?.(reader);
    return () => {
      reader.stopped = true;
      hooks.stopped?.(reader);
    };
  };
}

export function fakeOpenStream(readers: () => Reader[], hooks: ReaderHooks = {}) {
  return fromCallback<ReaderInbound, StreamRequest>(fakeReader(readers, hooks));
}

/** Gives the newest running reader an event, as its upstream would. */
export function answerNewest(readers: Reader[], event: ConnectionEvent): void {
  const reader = readers.findLast((r) => !r.stopped);
  if (reader && event.type === 'stream.response') reader.responded = true;
  reader?.sendBack(event);
}
