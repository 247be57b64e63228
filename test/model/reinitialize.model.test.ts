import { expect } from 'vitest';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ConnectionEvent, StreamRequest } from '../../machines/connection.types.js';
import { type ReinitializeInput, reinitializeMachine } from '../../machines/reinitialize.machine.js';
import { answerNewest, fakeOpenStream, type Reader } from './fake-reader.js';
import type { Effect, MachineModel, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

interface ReinitializeWorld extends World {
  log: StreamRequest[];
  readers: Reader[];
}

const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
});
const initializedBody = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
const UPSTREAM_SESSION = 'upstream-2';

const base: ReinitializeInput = {
  sessionId: 'client-session-0123456789',
  upstream: { url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'Bearer t' } },
  initialize: { body: initializeBody, requestId: 0 },
  initializedBody,
  connection: { backoff: { maxAttempts: 1 } },
  timeoutMs: 10_000,
};
const inputs: ReinitializeInput[] = [base, { ...base, initializedBody: undefined }];

type ReinitializeEffect = Effect<typeof reinitializeMachine, ReinitializeWorld>;
const posted = (e: ReinitializeEffect) => e.recorded as StreamRequest[];

const finished = (ok: boolean, detail?: RegExp) => (e: ReinitializeEffect) => {
  expect(e.after.snapshot.status).toBe('done');
  const output = e.after.snapshot.output;
  expect(output?.ok).toBe(ok);
  if (output?.ok === false && detail) expect(output.detail).toMatch(detail);
  if (output?.ok) expect(output).toMatchObject({ upstreamSessionId: UPSTREAM_SESSION, protocolVersion: '2025-11-25' });
  expect(e.after.world.readers.every((r) => r.stopped)).toBe(true);
  expect(e.after.clock.pending()).toEqual([]);
};

/** The step sent the client's notifications/initialized under the new session. */
const notified = (e: ReinitializeEffect) => {
  const [request] = posted(e);
  expect(request).toMatchObject({ method: 'POST', body: initializedBody });
  expect(request?.headers['mcp-session-id']).toBe(UPSTREAM_SESSION);
  expect(request?.headers['mcp-protocol-version']).toBe('2025-11-25');
};

const reader = (event: ConnectionEvent): Step<typeof reinitializeMachine> => ({
  type: '@world',
  action: 'reader',
  event,
});

const model: MachineModel<typeof reinitializeMachine, ReinitializeWorld> = {
  machine: reinitializeMachine,
  world: () => ({ log: [], readers: [] }),
  provide: (world) =>
    reinitializeMachine.provide({
      actors: {
        connection: connectionMachine.provide({
          actors: {
            openStream: fakeOpenStream(() => world().readers, { opened: (reader) => world().log.push(reader.request) }),
          },
        }),
      },
    }),
  inputCount: inputs.length,
  input: (index) => inputs[index] as ReinitializeInput,
  commands: [],
  steps: (snapshot, world) => {
    if (!world.readers.some((r) => !r.stopped)) return [];
    const result = { jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25' } };
    const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello' } };
    return [
      reader({ type: 'stream.response', status: 200, contentType: 'text/event-stream', sessionId: UPSTREAM_SESSION }),
      reader({ type: 'stream.response', status: 202, contentType: null }),
      reader({ type: 'stream.response', status: 500, contentType: 'text/plain' }),
      reader({ type: 'stream.event', data: JSON.stringify(result), message: result }),
      reader({ type: 'stream.event', data: JSON.stringify(log), message: log }),
      // A log message and the answer in one chunk: a run.
      reader({
        type: 'stream.events',
        events: [
          { data: JSON.stringify(log), message: log },
          { data: JSON.stringify(result), message: result },
        ],
      }),
      reader({ type: 'stream.error', message: 'socket hang up' }),
    ].filter(() => snapshot.status === 'active');
  },
  perform: (step, world) => answerNewest(world.readers, step.event as ConnectionEvent),
  serialize: ({ value, context }, world) =>
    JSON.stringify([
      value,
      context.upstreamSessionId !== undefined,
      context.protocolVersion !== undefined,
      world.readers.filter((r) => !r.stopped).map((r) => r.request.body),
      world.readers.length,
    ]),
  check: ({ snapshot, world }) => {
    // One request at a time; the initialize first, without a session id, then the notification with one.
    expect(world.readers.filter((r) => !r.stopped).length).toBeLessThanOrEqual(1);
    const [first, ...rest] = world.log;
    if (first) {
      expect(first.body).toBe(initializeBody);
      expect(first.headers['mcp-session-id']).toBeUndefined();
      expect(first.headers.authorization).toBe('Bearer t');
    }
    for (const request of rest) expect(request.body === undefined || request.body === initializedBody).toBe(true);
    if (snapshot.status === 'done') expect(world.readers.every((r) => r.stopped)).toBe(true);
  },
  effects: {
    'reinitialize --after timeout--> reinitialize.failed': finished(false, /did not answer .* in time/),
    'reinitialize.initializing --connection.status--> (self)': (e) => {
      // The initialize answer's Mcp-Session-Id is the new upstream session, once it opens.
      const step = (e.step as { event?: ConnectionEvent }).event;
      const opened = step?.type === 'stream.response' && step.status === 200;
      expect(e.after.snapshot.context.upstreamSessionId).toBe(
        opened ? UPSTREAM_SESSION : e.before.snapshot.context.upstreamSessionId,
      );
    },
    'reinitialize.initializing --connection.event[isInitializeResult]--> (self)': (e) => {
      expect(e.after.snapshot.context).toMatchObject({ answered: true, protocolVersion: '2025-11-25' });
    },
    'reinitialize.initializing --connection.events[isInitializeResult]--> (self)': (e) => {
      expect(e.before.snapshot.context.answered).toBe(false);
      expect(e.after.snapshot.context).toMatchObject({ answered: true, protocolVersion: '2025-11-25' });
    },
    'reinitialize.initializing --xstate.done.actor.initialize[wasAnswered]--> reinitialize.initialized': (e) => {
      if (e.after.input.initializedBody === undefined) finished(true)(e);
      else notified(e);
    },
    'reinitialize.initializing --xstate.done.actor.initialize--> reinitialize.failed': finished(
      false,
      /replayed initialize ended without an answer/,
    ),
    'reinitialize.initialized --always[hasInitialized]--> reinitialize.notifying': notified,
    'reinitialize.initialized --always--> reinitialize.done': (e) => {
      expect(e.after.input.initializedBody).toBeUndefined();
      finished(true)(e);
    },
    'reinitialize.notifying --xstate.done.actor.initialized[wasAccepted]--> reinitialize.done': finished(true),
    'reinitialize.notifying --xstate.done.actor.initialized--> reinitialize.failed': finished(
      false,
      /notifications\/initialized ended without an answer/,
    ),
  },
};

await describeTransitions(model, (index) => (index === 0 ? 'with notifications/initialized' : 'without'));
