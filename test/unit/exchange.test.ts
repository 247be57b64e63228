import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromCallback, SimulatedClock } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type {
  ConnectionEvent,
  ConnectionInput,
  ConnectionStatus,
  ReaderInbound,
  StreamRequest,
} from '../../machines/connection.types.js';
import { firstRequest, statusOf } from '../../machines/connection-rules.js';
import {
  type ExchangeAnswered,
  type ExchangeEvent,
  exchangeConnecting,
  exchangeEnded,
  exchangeOpened,
} from '../../machines/exchange.js';
import { adoptingReader, exchangeLogic, Handovers } from '../../src/sse/exchange.js';
import { fakeReader, type Reader } from '../model/fake-reader.js';

const input: ConnectionInput = {
  id: 'stream-3',
  session: 'client-session',
  url: 'http://127.0.0.1:9/mcp',
  method: 'POST',
  body: '{"jsonrpc":"2.0","id":7,"method":"tools/call"}',
  headers: { 'mcp-session-id': 'upstream-1' },
  awaitResponses: [7],
};
const result = { jsonrpc: '2.0', id: 7, result: { content: [] } };
const jsonBody = { data: JSON.stringify(result), message: result };
const json = {
  type: 'stream.response',
  status: 200,
  contentType: 'application/json',
  sessionId: 'upstream-1',
} as const;
const sse = { type: 'stream.response', status: 200, contentType: 'text/event-stream' } as const;

/** What a real connection machine reports for these reader events, in order. */
function connectionReports(events: ConnectionEvent[]): ConnectionStatus[] {
  const readers: Reader[] = [];
  const reports: ConnectionStatus[] = [];
  const machine = connectionMachine.provide({
    actors: { openStream: fromCallback(fakeReader(() => readers)) },
    actions: {
      report: ({ context }, params: { state: ConnectionStatus['state'] }) =>
        reports.push(statusOf(context, params.state)),
      deliver: () => {},
    },
  });
  const actor = createActor(machine, { input }).start();
  for (const event of events) readers[0]?.sendBack(event);
  actor.stop();
  return reports;
}

describe('an exchange reports what its connection would have', () => {
  it('a JSON answer: connecting, open, closed', () => {
    const answered: ExchangeAnswered = { type: 'exchange.answered', id: 'stream-3', response: json, event: jsonBody };
    expect([exchangeConnecting('stream-3'), exchangeOpened(answered), exchangeEnded(answered)]).toEqual(
      connectionReports([json, { type: 'stream.event', ...jsonBody }]),
    );
  });

  it('a 202: connecting, closed as accepted', () => {
    const accepted = { type: 'stream.response', status: 202, contentType: null } as const;
    const answered: ExchangeAnswered = { type: 'exchange.answered', id: 'stream-3', response: accepted };
    expect(exchangeOpened(answered)).toBeUndefined();
    expect([exchangeConnecting('stream-3'), exchangeEnded(answered)]).toEqual(connectionReports([accepted]));
  });

  it('sends the request the connection would have sent first', () => {
    expect(firstRequest(input)).toMatchObject({
      id: 'stream-3',
      method: 'POST',
      body: input.body,
      headers: { accept: 'application/json, text/event-stream', 'mcp-session-id': 'upstream-1' },
    });
  });
});

/** An exchange child under a recording parent, over a fake reader; and a connection that may adopt it. */
function exchangeWorld(options: { handoverAfterMs?: number; now?: () => number } = {}) {
  const readers: Reader[] = [];
  const reader = fakeReader(() => readers);
  const handovers = new Handovers();
  const told: ExchangeEvent[] = [];
  const parent = createMachine({
    invoke: {
      id: 'stream-3',
      src: exchangeLogic(reader, { handovers, ...options }),
      input: { request: firstRequest(input), awaiting: [7] },
    },
    on: { '*': { actions: ({ event }) => told.push(event as ExchangeEvent) } },
  });
  const actor = createActor(parent).start();
  /** The connection's reader, started as the connection would start it: it adopts what was handed over. */
  const adopt = () => {
    const heard: ConnectionEvent[] = [];
    const stop = adoptingReader(
      reader,
      handovers,
    )({
      input: firstRequest(input),
      sendBack: (event: ConnectionEvent) => heard.push(event),
    } as unknown as Parameters<ReturnType<typeof adoptingReader>>[0]);
    return { heard, stop: stop as () => void };
  };
  return { readers, handovers, told, actor, adopt, upstream: () => readers[0] as Reader };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the exchange actor (src/sse/exchange.ts)', () => {
  it('reports a complete JSON answer as one event and never hands it over', () => {
    const w = exchangeWorld();
    expect(w.upstream().request).toEqual(firstRequest(input));
    w.upstream().sendBack(json);
    expect(w.told).toEqual([]);
    w.upstream().sendBack({ type: 'stream.event', ...jsonBody });
    w.upstream().sendBack({ type: 'stream.end' });
    expect(w.told).toEqual([{ type: 'exchange.answered', id: 'stream-3', response: json, event: jsonBody }]);
    w.actor.stop();
    expect(w.upstream().stopped).toBe(true);
    expect(w.handovers.size).toBe(0);
  });

  it('reports a 202 as answered', () => {
    const w = exchangeWorld();
    const accepted = { type: 'stream.response', status: 202, contentType: null } as const;
    w.upstream().sendBack(accepted);
    expect(w.told).toEqual([{ type: 'exchange.answered', id: 'stream-3', response: accepted }]);
  });

  it('hands an SSE answer to the connection, which hears everything from the start, once', () => {
    const w = exchangeWorld();
    w.upstream().sendBack(sse);
    expect(w.told).toEqual([{ type: 'exchange.handover', id: 'stream-3', waitedMs: expect.any(Number) }]);
    // Between the handover and the adoption, what the upstream says is kept.
    w.upstream().sendBack({ type: 'stream.bytes' });
    w.actor.stop();
    expect(w.upstream().stopped).toBe(false);
    const connection = w.adopt();
    w.upstream().sendBack({ type: 'stream.event', id: 'e1', ...jsonBody });
    expect(connection.heard.map((e) => e.type)).toEqual(['stream.response', 'stream.bytes', 'stream.event']);
    expect(w.readers).toHaveLength(1);
    connection.stop();
    expect(w.upstream().stopped).toBe(true);
  });

  it('hands over a JSON body that does not answer the request, and an error status, and a failure', () => {
    const notTheAnswer = { jsonrpc: '2.0', method: 'notifications/message', params: {} };
    const cases: ConnectionEvent[][] = [
      [json, { type: 'stream.event', data: JSON.stringify(notTheAnswer), message: notTheAnswer }],
      [{ type: 'stream.response', status: 404, contentType: 'text/plain' }],
      [{ type: 'stream.error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }],
    ];
    for (const said of cases) {
      const w = exchangeWorld();
      for (const event of said) w.upstream().sendBack(event);
      expect(w.told.map((e) => e.type)).toEqual(['exchange.handover']);
      expect(w.adopt().heard).toEqual(said);
    }
  });

  it('hands over a request whose answer has not begun within its window, saying how long it waited', async () => {
    let now = 1000;
    const w = exchangeWorld({ handoverAfterMs: 5, now: () => now });
    now += 5;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(w.told).toEqual([{ type: 'exchange.handover', id: 'stream-3', waitedMs: 5 }]);
    // The answer comes later: the connection gets it.
    const connection = w.adopt();
    w.upstream().sendBack(json);
    expect(connection.heard).toEqual([json]);
  });

  it('discards only the reader it parked: a later request parked under the same key stays', () => {
    const handovers = new Handovers();
    const request = firstRequest(input);
    const stops: string[] = [];
    const parked = (name: string) => ({ said: [], adopt: () => {}, stop: () => stops.push(name) });
    const first = parked('first');
    handovers.park(request, first);
    expect(handovers.take(request)).toBe(first);
    const second = parked('second');
    handovers.park(request, second);
    handovers.discard(request, first);
    expect(stops).toEqual([]);
    expect(handovers.take(request)).toBe(second);
    handovers.park(request, second);
    handovers.discard(request, second);
    expect(stops).toEqual(['second']);
    expect(handovers.size).toBe(0);
  });

  it('stops a handed-over reader that no connection adopted', async () => {
    const w = exchangeWorld();
    w.upstream().sendBack(sse);
    w.actor.stop();
    await settle();
    expect(w.upstream().stopped).toBe(true);
    expect(w.handovers.size).toBe(0);
  });
});

describe('a connection that adopts a request', () => {
  it('counts the time it already waited in its first connect timeout, not in later ones', () => {
    const readers: Reader[] = [];
    const reports: ConnectionStatus[] = [];
    const machine = connectionMachine.provide({
      actors: { openStream: fromCallback<ReaderInbound, StreamRequest>(fakeReader(() => readers)) },
      actions: {
        report: ({ context }, params: { state: ConnectionStatus['state'] }) =>
          reports.push(statusOf(context, params.state)),
      },
    });
    const clock = new SimulatedClock();
    const actor = createActor(machine, {
      clock,
      input: { ...input, method: 'GET', waitedMs: 900, options: { connectTimeoutMs: 1000 } },
    }).start();
    clock.increment(99);
    expect(reports.map((r) => r.state)).toEqual(['connecting']);
    clock.increment(1);
    // A GET may be sent again: the next attempt waits the whole timeout.
    expect(reports.map((r) => [r.state, r.reason])).toEqual([
      ['connecting', undefined],
      ['waiting', 'connect-timeout'],
    ]);
    clock.increment(reports.at(-1)?.delayMs ?? 0);
    clock.increment(999);
    expect(reports.at(-1)?.state).toBe('connecting');
    clock.increment(1);
    expect(reports.at(-1)?.state).not.toBe('connecting');
    actor.stop();
  });
});
