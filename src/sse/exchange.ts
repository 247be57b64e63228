/**
 * The `exchange` actor of the session (machines/exchange.ts): runs the reader the stream's
 * connection would run, and when its first events are a complete one-shot answer (a 202, or a
 * 2xx JSON body answering every request of the POST) reports them as one
 * `exchange.answered`. Anything else, or nothing within `handoverAfterMs`, is handed over:
 * the running reader and what it said so far are parked, the session spawns the stream's
 * connection, and the connection's reader (`adoptingReader`) takes the parked one over,
 * replaying what it had said. The request is never sent twice.
 */
import { type CallbackLogicFunction, type EventObject, fromCallback } from 'xstate';
import type { ConnectionEvent, ReaderInbound, StreamRequest } from '../../machines/connection.types.js';
import { mediaType, remainingAfter } from '../../machines/connection-rules.js';
import type { ExchangeEvent, ExchangeInput } from '../../machines/exchange.js';

type Reader = CallbackLogicFunction<ReaderInbound, ConnectionEvent, StreamRequest>;

/** Default window in which an answer must start for the exchange to keep it: 1 s. */
export const DEFAULT_HANDOVER_AFTER_MS = 1000;

interface Parked {
  /** What the reader said before the handover, in order. */
  said: ConnectionEvent[];
  /** From now on the reader's events go here. */
  adopt(sendBack: (event: ConnectionEvent) => void): void;
  /** Stops the reader (aborting its request). */
  stop(): void;
}

/**
 * Readers handed over and not yet adopted, by session and stream. An entry lives for one
 * session step: the connection that adopts it is spawned in the step that handles the
 * handover; one that nobody adopted (the session stopped meanwhile) is stopped.
 */
export class Handovers {
  private readonly parked = new Map<string, Parked>();

  park(request: StreamRequest, parked: Parked): void {
    this.parked.set(keyOf(request), parked);
  }

  take(request: StreamRequest): Parked | undefined {
    const key = keyOf(request);
    const parked = this.parked.get(key);
    if (parked !== undefined) this.parked.delete(key);
    return parked;
  }

  /** Stops `parked` if nobody took it (and only it: a later request may be parked under the same key). */
  discard(request: StreamRequest, parked: Parked): void {
    const key = keyOf(request);
    if (this.parked.get(key) !== parked) return;
    this.parked.delete(key);
    parked.stop();
  }

  get size(): number {
    return this.parked.size;
  }
}

const keyOf = (request: StreamRequest) => `${request.session ?? ''} ${request.id}`;

const isJson2xx = (event: Extract<ConnectionEvent, { type: 'stream.response' }>) =>
  event.status >= 200 && event.status <= 299 && mediaType(event) === 'application/json';

export interface ExchangeOptions {
  handovers: Handovers;
  /** How long the exchange waits for a complete answer before it hands the request over; 0: as long as it takes. */
  handoverAfterMs?: number | undefined;
  /** Monotonic clock in ms, for `waitedMs`. Default performance.now. */
  now?: (() => number) | undefined;
}

export function exchangeLogic(reader: Reader, options: ExchangeOptions) {
  const { handovers } = options;
  const windowMs = options.handoverAfterMs ?? DEFAULT_HANDOVER_AFTER_MS;
  const now = options.now ?? (() => performance.now());

  return fromCallback<EventObject, ExchangeInput>((params) => {
    const { input, sendBack } = params;
    const report = (event: ExchangeEvent) => sendBack(event);
    const id = input.request.id;
    const startedAt = now();
    const said: ConnectionEvent[] = [];
    let outcome: 'pending' | 'answered' | 'handed-over' = 'pending';
    let adopter: ((event: ConnectionEvent) => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let parked: Parked | undefined;

    const handOver = () => {
      if (outcome !== 'pending') return;
      outcome = 'handed-over';
      clearTimeout(timer);
      parked = {
        said,
        adopt: (sendBack) => {
          adopter = sendBack;
        },
        stop: () => stopReader(),
      };
      handovers.park(input.request, parked);
      report({ type: 'exchange.handover', id, waitedMs: Math.round(now() - startedAt) });
    };

    const hear = (event: ConnectionEvent) => {
      if (adopter !== undefined) return adopter(event);
      if (outcome !== 'pending') {
        if (outcome === 'handed-over') said.push(event);
        return;
      }
      said.push(event);
      const [head, body] = said;
      if (head?.type !== 'stream.response') return handOver();
      // A POST answered 202 is closed as accepted by a connection too, whatever it carried.
      if (head.status === 202) {
        outcome = 'answered';
        clearTimeout(timer);
        return report({ type: 'exchange.answered', id, response: head });
      }
      if (!isJson2xx(head)) return handOver();
      if (body === undefined) return;
      const { type: _type, ...message } = body as Extract<ConnectionEvent, { type: 'stream.event' }>;
      // The body answers every request it carries: a connection would close on it the same way.
      if (body.type !== 'stream.event' || remainingAfter(input.awaiting, message)?.length !== 0) return handOver();
      outcome = 'answered';
      clearTimeout(timer);
      report({ type: 'exchange.answered', id, response: head, event: message });
    };

    const stopReader =
      reader({ ...params, input: input.request, sendBack: hear } as unknown as Parameters<Reader>[0]) ?? (() => {});
    if (outcome === 'pending' && windowMs > 0) timer = setTimeout(handOver, windowMs);

    return () => {
      clearTimeout(timer);
      if (parked === undefined) return stopReader();
      // Handed over: its connection adopts it in this same step; if none did, nobody will.
      const handed = parked;
      queueMicrotask(() => handovers.discard(input.request, handed));
    };
  });
}

/** A connection's reader that first adopts a reader its exchange handed over, if there is one. */
export function adoptingReader(reader: Reader, handovers: Handovers): Reader {
  return (params) => {
    const parked = handovers.take(params.input);
    if (parked === undefined) return reader(params);
    for (const event of parked.said) params.sendBack(event);
    parked.adopt(params.sendBack);
    return () => parked.stop();
  };
}
