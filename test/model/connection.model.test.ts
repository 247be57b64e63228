import { expect } from 'vitest';
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
import { readBatch } from '../../machines/connection-rules.js';
import { answerNewest, fakeOpenStream, type Reader } from './fake-reader.js';
import type { Effect, MachineModel, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged = { kind: 'request'; request: StreamRequest } | { kind: 'abort' } | ConnectionStatus | ConnectionDelivery;

interface ConnectionWorld extends World {
  log: Logged[];
  readers: Reader[];
}

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
    // One silent resume is tried again, the second gives up.
    options: { backoff: { maxAttempts: 2 }, resumeSilenceMs: 3000, maxSilentResumes: 1 },
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

type ConnectionEffect = Effect<typeof connectionMachine, ConnectionWorld>;

const reports = (e: ConnectionEffect) =>
  (e.recorded as Logged[]).filter((r): r is ConnectionStatus => 'type' in r && r.type === 'connection.status');
const deliveries = (e: ConnectionEffect) =>
  (e.recorded as Logged[]).filter((r): r is ConnectionDelivery => 'type' in r && r.type === 'connection.event');
const aborted = (e: ConnectionEffect) => (e.recorded as Logged[]).some((r) => 'kind' in r && r.kind === 'abort');
const requested = (e: ConnectionEffect) =>
  (e.recorded as Logged[]).flatMap((r) => ('kind' in r && r.kind === 'request' ? [r.request] : []));

/** The step's last reported state change is this one, for this reason. */
function reported(state: ConnectionStatus['state'], reason?: ConnectionStatus['reason']) {
  return (e: ConnectionEffect) => {
    const last = reports(e).at(-1);
    expect([last?.state, last?.reason]).toEqual([state, reason ?? expect.anything()]);
  };
}

/** The stream ended in a final state: reported, request aborted, output set, nothing scheduled. */
function ended(state: 'closed' | 'failed' | 'expired', reason: ConnectionStatus['reason']) {
  return (e: ConnectionEffect) => {
    reported(state, reason)(e);
    expect(e.after.snapshot.output).toMatchObject({ state, reason });
    expect(e.after.clock.pending()).toEqual([]);
    expect(e.after.world.readers.every((r) => r.stopped)).toBe(true);
  };
}

/** A failure that will be retried: reported as waiting, why, with its delay the only timer. */
function willRetry(reason: ConnectionStatus['reason'], counts = true) {
  return (e: ConnectionEffect) => {
    reported('waiting', reason)(e);
    const report = reports(e).at(-1);
    expect(e.after.clock.pending()).toEqual([report?.delayMs]);
    expect(e.after.snapshot.context.attempt).toBe(e.before.snapshot.context.attempt + (counts ? 1 : 0));
    expect(aborted(e)).toBe(true);
  };
}

const delivered = (e: ConnectionEffect, id: string | undefined) =>
  expect(deliveries(e).map((d) => d.event.id)).toEqual([id]);
const lastReaderEvent = (e: ConnectionEffect) => (e.step as { event?: { id?: string } }).event;
/** The ids of the batch the step sent the reader. */
const batchIds = (e: ConnectionEffect) =>
  ((e.step as { event?: { events?: Array<{ id?: string; data: string }> } }).event?.events ?? []).map((one) => one.id);

/** A batch without the answer: its new events with data delivered in order, its new ids remembered. */
function deliveredBatch(e: ConnectionEffect) {
  const ids = batchIds(e);
  const fresh = ids.filter((id) => id !== e.before.snapshot.context.lastEventId);
  expect(deliveries(e).map((d) => d.event.id)).toEqual(fresh.filter((id) => !id?.endsWith('-bp')));
  expect(e.after.snapshot.context.lastEventId).toBe(ids.at(-1));
  expect(e.after.snapshot.context.recentIds.slice(-fresh.length)).toEqual(fresh);
}

/** A batch that carries the answer: delivered through it, not beyond; the stream complete. */
function completedByBatch(e: ConnectionEffect) {
  const ids = batchIds(e);
  expect(deliveries(e).map((d) => d.event.id)).toEqual(ids.slice(0, 2));
  ended('closed', 'completed')(e);
}

const model: MachineModel<typeof connectionMachine, ConnectionWorld> = {
  machine: connectionMachine,
  world: () => ({ log: [], readers: [] }),
  provide: (world) =>
    connectionMachine.provide({
      actors: {
        openStream: fakeOpenStream(() => world().readers, {
          opened: (reader) => world().log.push({ kind: 'request', request: reader.request }),
          stopped: () => world().log.push({ kind: 'abort' }),
        }),
      },
      actions: {
        report: ({ context }, params: { state: ConnectionStatus['state'] }) =>
          world().log.push({
            type: 'connection.status',
            id: context.id,
            state: params.state,
            reason: context.reason,
            attempt: context.attempt,
            opens: context.opens,
            status: context.status,
            detail: context.detail,
            delayMs: params.state === 'waiting' ? context.delay?.ms : undefined,
            delaySource: params.state === 'waiting' ? context.delay?.source : undefined,
          } satisfies ConnectionStatus),
        deliverBatch: ({ context, event }) => {
          if (event.type !== 'stream.events') throw new Error(`deliverBatch on ${event.type}`);
          for (const one of readBatch(context, event.events).deliver) {
            world().log.push({ type: 'connection.event', id: context.id, event: one } satisfies ConnectionDelivery);
          }
        },
        deliver: ({ context, event }) => {
          if (event.type !== 'stream.event') throw new Error(`deliver on ${event.type}`);
          const { type: _t, ...streamEvent } = event;
          world().log.push({
            type: 'connection.event',
            id: context.id,
            event: streamEvent,
          } satisfies ConnectionDelivery);
        },
      },
    }),
  inputCount: inputs.length,
  input: (index) => inputs[index] as ConnectionInput,
  commands: ['connection.stop'],
  steps: ({ context }, world) => {
    const steps: Step<typeof connectionMachine>[] = [{ type: 'connection.stop' }];
    if (!world.readers.some((r) => !r.stopped)) return steps;
    const fresh = `ev-${context.opens}-${context.recentIds.length}`;
    const events: ConnectionEvent[] = [
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
      { type: 'stream.event', id: `${fresh}-p`, data: '' },
      { type: 'stream.event', id: `${fresh}-r`, data: JSON.stringify(response), message: response },
    ];
    if (context.lastEventId !== undefined) {
      events.push({ type: 'stream.event', id: context.lastEventId, data: '{}', message: {} });
    }
    // Runs of events from one chunk: a priming, a repeat, notifications; one with the answer
    // and an event after it, which the completed stream must not deliver.
    const note = (id: string) => ({ id, data: JSON.stringify(notification), message: notification });
    const repeat = context.lastEventId === undefined ? [] : [{ id: context.lastEventId, data: '{}', message: {} }];
    events.push(
      {
        type: 'stream.events',
        events: [{ id: `${fresh}-bp`, data: '' }, ...repeat, note(`${fresh}-b1`), note(`${fresh}-b2`)],
      },
      {
        type: 'stream.events',
        events: [
          note(`${fresh}-c1`),
          { id: `${fresh}-cr`, data: JSON.stringify(response), message: response },
          note(`${fresh}-c2`),
        ],
      },
    );
    return [...steps, ...events.map((event) => ({ type: '@world' as const, action: 'reader', event }))];
  },
  perform: (step, world) => answerNewest(world.readers, step.event as ConnectionEvent),
  serialize: ({ value, context }) =>
    JSON.stringify([
      value,
      context.attempt,
      context.resumeWatch.silent,
      context.lastEventId === context.resumeWatch.fromId,
      context.opens > 0,
      context.lastEventId !== undefined,
      context.retryHintMs !== undefined,
      context.active,
    ]),
  check: ({ snapshot, world, clock, input }) => {
    const entries = world.log;
    const name = connectionStateName(snapshot.value);
    // Exactly one HTTP request is in flight while streaming, none otherwise.
    expect(world.readers.filter((r) => !r.stopped)).toHaveLength(
      name === 'connecting' || name === 'open' || name === 'stalled' ? 1 : 0,
    );

    // Every state change is reported; the last report names the current state.
    const statuses = entries.filter((e): e is ConnectionStatus => 'type' in e && e.type === 'connection.status');
    expect(statuses.at(-1)?.state).toBe(name);

    // No event id is delivered twice.
    const ids = entries
      .filter((e): e is ConnectionDelivery => 'type' in e && e.type === 'connection.event')
      .map((e) => e.event.id)
      .filter((id) => id !== undefined);
    expect(new Set(ids).size).toBe(ids.length);

    const { context } = snapshot;
    expect(context.attempt).toBeLessThanOrEqual(context.options.backoff.maxAttempts);

    const lastRequest = world.readers.at(-1)?.request;
    if (lastRequest && name === 'connecting') {
      const firstPost = input.method === 'POST' && context.opens === 0;
      expect(lastRequest.method).toBe(firstPost ? 'POST' : 'GET');
      expect(lastRequest.headers['mcp-session-id']).toBe('upstream-1');
      expect(lastRequest.headers.accept).toBe(firstPost ? 'application/json, text/event-stream' : 'text/event-stream');
      expect(lastRequest.headers['last-event-id']).toBe(context.lastEventId);
      expect(lastRequest.body).toBe(firstPost ? input.body : undefined);
    }

    if (name === 'waiting') {
      const report = statuses.at(-1);
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
  effects: {
    'connection --connection.stop--> connection.closed': ended('closed', 'stopped'),
    'connection.streaming --stream.retry--> (self)': (e) => {
      expect(e.after.snapshot.context.retryHintMs).toBe(RETRY_HINT_MS);
      expect(reports(e)).toEqual([]);
    },
    'connection.streaming.connecting --stream.response[isAccepted]--> connection.closed': ended('closed', 'accepted'),
    'connection.streaming.connecting --stream.response[isStreamBody]--> connection.streaming.open': (e) => {
      const { opens } = e.before.snapshot.context;
      reported('open', opens === 0 ? 'opened' : 'resumed')(e);
      expect(e.after.snapshot.context.opens).toBe(opens + 1);
    },
    'connection.streaming.connecting --stream.response[isSessionGone]--> connection.expired': (e) => {
      ended('expired', 'session-not-found')(e);
      expect(e.after.snapshot.output?.status).toBe(404);
    },
    'connection.streaming.connecting --stream.response[and(isRetryableStatus, mayRetry, attemptsExhausted(true))]--> connection.failed':
      ended('failed', 'attempts-exhausted'),
    'connection.streaming.connecting --stream.response[and(isRetryableStatus, mayRetry)]--> connection.waiting': (
      e,
    ) => {
      willRetry('http-status')(e);
      expect(reports(e).at(-1)?.status).toBeGreaterThanOrEqual(500);
    },
    'connection.streaming.connecting --stream.response[is2xx]--> connection.failed': (e) => {
      // A 2xx that is neither a stream nor (a POST's) JSON answer.
      ended('failed', 'content-type')(e);
      expect(e.after.snapshot.output?.detail).toMatch(/^HTTP 200 \((text\/html|application\/json)\)/);
    },
    'connection.streaming.connecting --stream.response--> connection.failed': (e) => {
      ended('failed', 'http-status')(e);
      expect(e.after.snapshot.output?.detail).toContain('bad request');
    },
    'connection.streaming.connecting --stream.error[not(mayRetry)]--> connection.failed': (e) => {
      // A POST that may have been processed is never sent again.
      ended('failed', 'not-resumable')(e);
      expect(e.after.input.method).toBe('POST');
    },
    'connection.streaming.connecting --stream.error[attemptsExhausted(true)]--> connection.failed': ended(
      'failed',
      'attempts-exhausted',
    ),
    'connection.streaming.connecting --stream.error--> connection.waiting': willRetry('network-error'),
    'connection.streaming.connecting --after connectTimeout[not(mayRetry)]--> connection.failed': (e) => {
      ended('failed', 'not-resumable')(e);
      expect(e.after.snapshot.output?.detail).toContain('connect-timeout');
    },
    'connection.streaming.connecting --after connectTimeout[attemptsExhausted(true)]--> connection.failed': ended(
      'failed',
      'attempts-exhausted',
    ),
    'connection.streaming.connecting --after connectTimeout--> connection.waiting': willRetry('connect-timeout'),
    'connection.streaming.open --stream.end[not(mayRetry)]--> connection.failed': ended('failed', 'not-resumable'),
    // SEP-1699: a graceful close is not a failed attempt.
    'connection.streaming.open --stream.end--> connection.waiting': willRetry('server-closed', false),
    'connection.streaming.open --stream.error[not(mayRetry)]--> connection.failed': ended('failed', 'not-resumable'),
    'connection.streaming.open --stream.error[attemptsExhausted(true)]--> connection.failed': ended(
      'failed',
      'attempts-exhausted',
    ),
    'connection.streaming.open --stream.error--> connection.waiting': willRetry('dropped'),
    'connection.streaming.open --after healthyAfter--> (self)': (e) => {
      expect(e.after.snapshot.context.attempt).toBe(0);
      expect(reports(e)).toEqual([]);
    },
    'connection.streaming.open.health.receiving --stream.bytes--> (self)': (e) => {
      expect(e.after.snapshot.context.active).toBe(true);
      expect(e.recorded).toEqual([]);
    },
    'connection.streaming.open.health.receiving --stream.event[isRepeat]--> (self)': (e) => {
      expect(deliveries(e)).toEqual([]);
      expect(e.after.snapshot.context.active).toBe(true);
    },
    'connection.streaming.open.health.receiving --stream.event[isPriming]--> (self)': (e) => {
      // The resume point is kept; nothing goes to the parent.
      expect(deliveries(e)).toEqual([]);
      expect(e.after.snapshot.context.lastEventId).toBe(lastReaderEvent(e)?.id);
      expect(e.after.snapshot.context.active).toBe(true);
    },
    'connection.streaming.open.health.receiving --stream.event[completesStream]--> connection.closed': (e) => {
      delivered(e, lastReaderEvent(e)?.id);
      ended('closed', 'completed')(e);
    },
    'connection.streaming.open.health.receiving --stream.event--> (self)': (e) => {
      delivered(e, lastReaderEvent(e)?.id);
      expect(e.after.snapshot.context.lastEventId).toBe(lastReaderEvent(e)?.id);
    },
    'connection.streaming.open.health.receiving --after heartbeat[and(heartbeatEnabled, wasActive)]--> connection.streaming.open.health.receiving':
      (e) => {
        // Activity seen: the next period starts clean, nothing reported.
        expect(e.before.snapshot.context.active).toBe(true);
        expect(e.after.snapshot.context.active).toBe(false);
        expect(reports(e)).toEqual([]);
        expect(e.after.snapshot.matches({ streaming: { open: { health: 'receiving' } } })).toBe(true);
      },
    'connection.streaming.open.health.receiving --after heartbeat[heartbeatEnabled]--> connection.streaming.open.health.stalled':
      reported('stalled'),
    'connection.streaming.open.health.stalled --stream.bytes--> connection.streaming.open.health.receiving': reported(
      'open',
      'recovered',
    ),
    'connection.streaming.open.health.stalled --stream.event[isRepeat]--> connection.streaming.open.health.receiving': (
      e,
    ) => {
      reported('open', 'recovered')(e);
      expect(deliveries(e)).toEqual([]);
    },
    'connection.streaming.open.health.stalled --stream.event[isPriming]--> connection.streaming.open.health.receiving':
      (e) => {
        reported('open', 'recovered')(e);
        expect(deliveries(e)).toEqual([]);
        expect(e.after.snapshot.context.lastEventId).toBe(lastReaderEvent(e)?.id);
      },
    'connection.streaming.open.health.stalled --stream.event[completesStream]--> connection.closed': (e) => {
      delivered(e, lastReaderEvent(e)?.id);
      ended('closed', 'completed')(e);
    },
    'connection.streaming.open.health.stalled --stream.event--> connection.streaming.open.health.receiving': (e) => {
      delivered(e, lastReaderEvent(e)?.id);
      expect(reports(e).at(-1)?.reason).toBe('recovered');
    },
    'connection.streaming.open.health.receiving --stream.events[batchCompletesStream]--> connection.closed':
      completedByBatch,
    'connection.streaming.open.health.receiving --stream.events--> (self)': (e) => {
      deliveredBatch(e);
      expect(e.after.snapshot.context.active).toBe(true);
    },
    'connection.streaming.open.health.stalled --stream.events[batchCompletesStream]--> connection.closed':
      completedByBatch,
    'connection.streaming.open.health.stalled --stream.events--> connection.streaming.open.health.receiving': (e) => {
      deliveredBatch(e);
      expect(reports(e).at(-1)?.reason).toBe('recovered');
    },
    'connection.streaming.open.health.stalled --after stallGrace[and(mayRetry, attemptsExhausted(true))]--> connection.failed':
      ended('failed', 'attempts-exhausted'),
    'connection.streaming.open.health.stalled --after stallGrace[mayRetry]--> connection.waiting': willRetry('stalled'),
    'connection.streaming.open.resume.choosing --always--> connection.streaming.open.resume.idle': (e) => {
      // Not a resumed POST still waiting: no silence watch, no timer for it.
      expect(e.after.clock.pending()).not.toContain(3000);
    },
    'connection.streaming.open.resume.choosing --always[watchesResume]--> connection.streaming.open.resume.watching': (
      e,
    ) => {
      // Resumed and still waiting for its answer: the watch starts from where the stream is.
      expect(e.after.snapshot.context.resumeWatch.fromId).toBe(e.after.snapshot.context.lastEventId);
      expect(e.after.clock.pending()).toContain(3000);
    },
    'connection.streaming.open.resume.watching --after resumeSilence[and(silentSinceCheckpoint, silentResumesLeft)]--> connection.waiting':
      (e) => {
        willRetry('resume-silent', false)(e);
        expect(e.after.snapshot.context.resumeWatch.silent).toBe(e.before.snapshot.context.resumeWatch.silent + 1);
      },
    'connection.streaming.open.resume.watching --after resumeSilence[silentSinceCheckpoint]--> connection.failed': (
      e,
    ) => {
      ended('failed', 'resume-lost')(e);
      expect(e.after.snapshot.output?.detail).toMatch(/sent nothing more for its request.*send the request again/);
    },
    'connection.streaming.open.resume.watching --after resumeSilence--> connection.streaming.open.resume.watching': (
      e,
    ) => {
      // It spoke since the last look: no resume, the count starts over, the next period is watched.
      expect(e.after.snapshot.context.resumeWatch).toEqual({ fromId: e.after.snapshot.context.lastEventId, silent: 0 });
      expect(reports(e)).toEqual([]);
    },
    'connection.waiting --after reconnectDelay--> connection.streaming': (e) => {
      reported('connecting')(e);
      const [request] = requested(e);
      expect(request?.method).toBe('GET');
      expect(request?.headers['last-event-id']).toBe(e.after.snapshot.context.lastEventId);
    },
  },
};

await describeTransitions(model, (index) => inputs[index]?.id ?? '');
