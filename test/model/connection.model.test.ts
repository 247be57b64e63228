import { expect } from 'vitest';
import { fromCallback } from 'xstate';
import {
  connectionMachine,
  connectionStateName,
  DEFAULT_CONNECTION_OPTIONS,
} from '../../machines/connection.machine.js';
import type {
  ConnectionDelivery,
  ConnectionEvent,
  ConnectionInput,
  ConnectionStatus,
  StreamRequest,
} from '../../machines/connection.types.js';
import type { MachineModel } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged = { kind: 'request'; request: StreamRequest } | { kind: 'abort' } | ConnectionStatus | ConnectionDelivery;

const baseInput = {
  url: 'http://127.0.0.1:9/mcp',
  headers: { 'Mcp-Session-Id': 'upstream-1', 'MCP-Protocol-Version': '2025-11-25' },
  options: { backoff: { maxAttempts: 2 } },
  random: () => 0.5,
} satisfies Partial<ConnectionInput>;

const inputs: ConnectionInput[] = [
  { id: 'get', ...baseInput },
  {
    id: 'post',
    ...baseInput,
    method: 'POST',
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
    awaitResponses: [1],
  },
  // A heartbeat shorter than the healthy period, so a stall can exhaust the attempts.
  {
    id: 'get-fast-heartbeat',
    ...baseInput,
    options: { backoff: { maxAttempts: 2 }, heartbeatTimeoutMs: 1000, stallGraceMs: 500 },
  },
];

const notification = { jsonrpc: '2.0', method: 'notifications/progress' };
const response = { jsonrpc: '2.0', id: 1, result: {} };
const RETRY_AFTER_MS = 2000;
const RETRY_HINT_MS = 500;

const model: MachineModel<typeof connectionMachine> = {
  machine: connectionMachine,
  inputs,
  provide: (log) =>
    connectionMachine.provide({
      actors: {
        openStream: fromCallback<ConnectionEvent, StreamRequest>(({ input }) => {
          log.push({ kind: 'request', request: input });
          return () => log.push({ kind: 'abort' });
        }),
      },
      actions: {
        report: ({ context }, params: { state: ConnectionStatus['state'] }) =>
          log.push({
            type: 'connection.status',
            id: context.id,
            state: params.state,
            reason: context.reason,
            attempt: context.attempt,
            opens: context.opens,
            delayMs: params.state === 'waiting' ? context.delayMs : undefined,
            delaySource: params.state === 'waiting' ? context.delaySource : undefined,
          } satisfies ConnectionStatus),
        deliver: ({ context, event }) => {
          if (event.type !== 'stream.event') throw new Error(`deliver on ${event.type}`);
          const { type: _t, ...streamEvent } = event;
          log.push({ type: 'connection.event', id: context.id, event: streamEvent } satisfies ConnectionDelivery);
        },
      },
    }),
  events: ({ context }) => {
    const fresh = `ev-${context.opens}-${context.recentIds.length}`;
    const events: ConnectionEvent[] = [
      { type: 'connection.stop' },
      { type: 'stream.response', status: 200, contentType: 'text/event-stream' },
      { type: 'stream.response', status: 200, contentType: 'application/json' },
      { type: 'stream.response', status: 200, contentType: 'text/html' },
      { type: 'stream.response', status: 202, contentType: null },
      { type: 'stream.response', status: 404, contentType: 'application/json' },
      { type: 'stream.response', status: 503, contentType: 'text/plain', retryAfterMs: RETRY_AFTER_MS },
      { type: 'stream.response', status: 502, contentType: 'text/plain' },
      { type: 'stream.response', status: 400, contentType: 'application/json', bodySnippet: 'bad request' },
      { type: 'stream.error', message: 'socket hang up' },
      { type: 'stream.retry', ms: RETRY_HINT_MS },
      { type: 'stream.bytes' },
      { type: 'stream.end' },
      { type: 'stream.event', id: fresh, data: JSON.stringify(notification), message: notification },
      { type: 'stream.event', id: `${fresh}-r`, data: JSON.stringify(response), message: response },
    ];
    if (context.lastEventId !== undefined) {
      events.push({ type: 'stream.event', id: context.lastEventId, data: '{}', message: {} });
    }
    return events;
  },
  serialize: ({ value, context }) =>
    JSON.stringify([
      value,
      context.attempt,
      context.opens > 0,
      context.lastEventId !== undefined,
      context.retryHintMs !== undefined,
      context.active,
    ]),
  check: ({ snapshot, log, clock, input }) => {
    const entries = log as Logged[];
    const name = connectionStateName(snapshot.value);
    const live =
      entries.filter((e) => 'kind' in e && e.kind === 'request').length -
      entries.filter((e) => 'kind' in e && e.kind === 'abort').length;
    // Exactly one HTTP request is in flight while streaming, none otherwise.
    expect(live).toBe(name === 'connecting' || name === 'open' || name === 'stalled' ? 1 : 0);

    // Every state change is reported; the last report names the current state.
    const reports = entries.filter((e): e is ConnectionStatus => 'type' in e && e.type === 'connection.status');
    expect(reports.at(-1)?.state).toBe(name);

    // No event id is delivered twice.
    const ids = entries
      .filter((e): e is ConnectionDelivery => 'type' in e && e.type === 'connection.event')
      .map((e) => e.event.id)
      .filter((id) => id !== undefined);
    expect(new Set(ids).size).toBe(ids.length);

    const { context } = snapshot;
    expect(context.attempt).toBeLessThanOrEqual(context.options.backoff.maxAttempts);

    const lastRequest = entries.filter((e) => 'kind' in e && e.kind === 'request').at(-1) as
      | { request: StreamRequest }
      | undefined;
    if (lastRequest && name === 'connecting') {
      const { request } = lastRequest;
      const firstPost = input.method === 'POST' && context.opens === 0;
      expect(request.method).toBe(firstPost ? 'POST' : 'GET');
      expect(request.headers['mcp-session-id']).toBe('upstream-1');
      expect(request.headers.accept).toBe(firstPost ? 'application/json, text/event-stream' : 'text/event-stream');
      expect(request.headers['last-event-id']).toBe(context.lastEventId);
      expect(request.body).toBe(firstPost ? input.body : undefined);
    }

    if (name === 'waiting') {
      const report = reports.at(-1);
      // Precedence: Retry-After > retry hint > backoff (±25 % jitter, capped).
      if (report?.delaySource === 'retry-after') expect(report.delayMs).toBe(RETRY_AFTER_MS);
      else if (context.retryHintMs !== undefined) expect(report?.delayMs).toBe(RETRY_HINT_MS);
      else {
        const { baseMs, factor } = DEFAULT_CONNECTION_OPTIONS.backoff;
        const raw = baseMs * factor ** (Math.max(1, context.attempt) - 1);
        expect(report?.delayMs).toBeGreaterThanOrEqual(raw * 0.75);
        expect(report?.delayMs).toBeLessThanOrEqual(raw * 1.25);
      }
      expect(clock.pending()).toEqual([report?.delayMs]);
    }
    if (snapshot.status === 'done') {
      // A finished connection leaves no timer and no request behind.
      expect(clock.pending()).toEqual([]);
      expect(snapshot.output?.state).toBe(name);
    }
  },
};

describeTransitions(model, (index) => inputs[index]?.id ?? '');
