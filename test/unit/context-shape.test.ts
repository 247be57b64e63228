/**
 * Every assign copies a machine's context with `Object.assign({}, context, update)`. V8 keeps
 * an object built that way in fast mode only up to 19 properties; from 20 on it is a
 * dictionary and each copy costs about 15 times as much (measured in docs/benchmarks.md:
 * it was the largest single cost of a proxied request). So no context may reach 20 keys.
 */

import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createActor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import { processMachine } from '../../machines/process.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';

const V8_FAST_COPY_LIMIT = 20;

const cases: Array<[string, AnyStateMachine, unknown]> = [
  [
    'connection',
    connectionMachine,
    { id: 'stream-1', session: 's', url: 'http://127.0.0.1:9/mcp', method: 'POST', body: '{}', awaitResponses: [1] },
  ],
  [
    'session',
    sessionMachine,
    {
      sessionId: 'client-session-0123456789',
      eventTag: 't',
      initialize: { key: 'k', body: '{}', requestId: 0 },
      upstream: { url: 'http://127.0.0.1:9/mcp' },
    },
  ],
  ['process', processMachine, { sessionId: 's', process: { command: 'node', args: [] } }],
  ['supervisor', supervisorMachine, {}],
];

describe('machine contexts stay small enough for V8 to copy them fast', () => {
  it.each(cases)('%s context has fewer than 20 top-level keys', (_name, machine, input) => {
    const context = createActor(machine, { input }).getSnapshot().context as Record<string, unknown>;
    expect(Object.keys(context).length).toBeGreaterThan(0);
    expect(Object.keys(context).length).toBeLessThan(V8_FAST_COPY_LIMIT);
  });
});
