/**
 * One call's rounds of input: the upstream (faked: the world answers the current attempt
 * with each kind of answer) and the client (commands: its answers to what it was asked),
 * with time passing. Every attempt after the first goes up under a new id with the round's
 * answers and the state byte for byte; the client's answer always comes under its own id.
 */
import { expect } from 'vitest';
import { fromCallback } from 'xstate';
import {
  type InputRoundEvent,
  type InputRoundInput,
  inputRoundMachine,
  type UpstreamCall,
} from '../../machines/input-round.machine.js';
import type { Effect, MachineModel, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged = { kind: 'call'; call: UpstreamCall } | { kind: 'send'; message: Record<string, unknown> };

interface RoundWorld extends World {
  log: Logged[];
  upstream: { sendBack: (event: InputRoundEvent) => void; call: UpstreamCall; stopped: boolean } | undefined;
}

const STATE = 'c3RhdGU=.sig';
const input: InputRoundInput = {
  request: { id: 7, method: 'tools/call', params: { name: 'book', arguments: { city: 'Oslo' } } },
  clientCapabilities: { elicitation: {}, sampling: {} },
  idPrefix: 'mcp-shepherd:3',
  maxRounds: 2,
  roundTimeoutMs: 60_000,
  statePauseMs: 250,
};

const result = (id: unknown, body: Record<string, unknown>) => ({ jsonrpc: '2.0', id, result: body });
const ANSWERS: Record<string, (id: unknown) => Record<string, unknown>> = {
  complete: (id) => result(id, { resultType: 'complete', content: [{ type: 'text', text: 'booked' }] }),
  error: (id) => ({ jsonrpc: '2.0', id, error: { code: -32602, message: 'no such city' } }),
  elicit: (id) =>
    result(id, {
      resultType: 'input_required',
      inputRequests: {
        when: { method: 'elicitation/create', params: { mode: 'form', message: 'When?', requestedSchema: {} } },
        model: { method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } },
      },
      requestState: STATE,
    }),
  roots: (id) =>
    result(id, {
      resultType: 'input_required',
      inputRequests: { dirs: { method: 'roots/list' } },
      requestState: STATE,
    }),
  shed: (id) => result(id, { resultType: 'input_required', requestState: STATE }),
  empty: (id) => result(id, { resultType: 'input_required' }),
};

type RoundEffect = Effect<typeof inputRoundMachine, RoundWorld>;
const sent = (e: RoundEffect) => (e.recorded as Logged[]).flatMap((r) => (r.kind === 'send' ? [r.message] : []));
const calls = (e: RoundEffect) => (e.recorded as Logged[]).flatMap((r) => (r.kind === 'call' ? [r.call] : []));
const output = (e: RoundEffect) => {
  expect(e.after.snapshot.status).toBe('done');
  const message = e.after.snapshot.output?.message as Record<string, unknown>;
  // The client's answer is always under its own id.
  expect(message.id).toBe(7);
  return message;
};
const failedWith =
  (reason: string, code = -32603) =>
  (e: RoundEffect) => {
    const { error } = output(e) as { error: { code: number; data: Record<string, unknown> } };
    expect(error.code).toBe(code);
    if (code === -32603) expect(error.data.reason).toBe(reason);
  };
/** A retry for a result with state only: a new id, the original params, the state, no answers. */
const retriedWithState = (e: RoundEffect) => {
  const [call] = calls(e);
  expect(call?.id).toBe(`mcp-shepherd:3:call:${e.after.snapshot.context.round}`);
  expect(call?.params).toMatchObject({ name: 'book', arguments: { city: 'Oslo' }, requestState: STATE });
  expect(call?.params).not.toHaveProperty('inputResponses');
};

const upstream = (answer: string): Step<typeof inputRoundMachine> => ({ type: '@world', action: 'answer', answer });

const model: MachineModel<typeof inputRoundMachine, RoundWorld> = {
  machine: inputRoundMachine,
  world: () => ({ log: [], upstream: undefined }),
  provide: (current) =>
    inputRoundMachine.provide({
      actors: {
        callUpstream: fromCallback<InputRoundEvent, UpstreamCall>(({ input: call, sendBack }) => {
          const w = current();
          const attempt = { sendBack, call, stopped: false };
          w.upstream = attempt;
          w.log.push({ kind: 'call', call });
          return () => {
            attempt.stopped = true;
          };
        }),
      },
    }),
  attach: (actor, w) => {
    actor.on('round.send', ({ message }) => w.log.push({ kind: 'send', message }));
  },
  inputCount: 1,
  input: () => input,
  commands: ['client.answer'],
  steps: (snapshot, w) => {
    if (snapshot.status !== 'active') return [];
    const steps: Step<typeof inputRoundMachine>[] = [];
    for (const [id, key] of Object.entries(snapshot.context.asked)) {
      if (key in snapshot.context.answers) continue;
      steps.push(
        { type: 'client.answer', message: { jsonrpc: '2.0', id, result: { action: 'accept', content: { key } } } },
        { type: 'client.answer', message: { jsonrpc: '2.0', id, error: { code: -1, message: 'no UI' } } },
      );
    }
    if (w.upstream && !w.upstream.stopped) {
      for (const answer of Object.keys(ANSWERS)) steps.push(upstream(answer));
      steps.push({ type: '@world', action: 'progress', progress: 1 }, { type: '@world', action: 'failed' });
    }
    return steps;
  },
  perform: (step, w) => {
    const attempt = w.upstream;
    if (!attempt || attempt.stopped) return;
    if (step.action === 'failed') return attempt.sendBack({ type: 'upstream.failed', detail: 'HTTP 502' });
    if (step.action === 'progress') {
      return attempt.sendBack({
        type: 'upstream.notification',
        message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } },
      });
    }
    const make = ANSWERS[step.answer as string];
    if (make) attempt.sendBack({ type: 'upstream.answer', message: make(attempt.call.id) });
  },
  serialize: ({ value, context }, w) =>
    JSON.stringify([
      value,
      context.round,
      Object.keys(context.answers).sort(),
      context.lastProgress,
      w.upstream && !w.upstream.stopped,
    ]),
  check: ({ snapshot, world: w }) => {
    // An attempt is upstream exactly while calling.
    const live = w.upstream !== undefined && !w.upstream.stopped;
    expect(live).toBe(snapshot.status === 'active' && snapshot.value === 'calling');
    expect(snapshot.context.round).toBeLessThanOrEqual(input.maxRounds as number);
  },
  effects: {
    'inputRound.calling --upstream.notification[isStaleProgress]--> (self)': (e) => {
      expect(sent(e)).toEqual([]);
    },
    'inputRound.calling --upstream.notification--> (self)': (e) => {
      expect(sent(e)).toEqual([expect.objectContaining({ method: 'notifications/progress' })]);
      expect(e.after.snapshot.context.lastProgress).toBe(1);
    },
    'inputRound.calling --upstream.answer[isError]--> inputRound.done': (e) => {
      expect(output(e).error).toEqual({ code: -32602, message: 'no such city' });
    },
    'inputRound.calling --upstream.answer[isComplete]--> inputRound.done': (e) => {
      const { result: complete } = output(e) as { result: Record<string, unknown> };
      expect(complete).toEqual({ content: [{ type: 'text', text: 'booked' }] });
    },
    'inputRound.calling --upstream.answer[and(isInputRequired, not(hasRoundsLeft))]--> inputRound.failed':
      failedWith('input-rounds'),
    'inputRound.calling --upstream.answer[and(isInputRequired, hasLegs, lacksCapability)]--> inputRound.failed': (
      e,
    ) => {
      failedWith('', -32021)(e);
      expect((output(e).error as { data: unknown }).data).toEqual({ requiredCapabilities: { roots: {} } });
      expect(sent(e)).toEqual([]);
    },
    'inputRound.calling --upstream.answer[and(isInputRequired, hasLegs)]--> inputRound.asking': (e) => {
      const round = e.after.snapshot.context.round;
      // Each leg is a 2025 request to the client, under an id the proxy owns.
      expect(sent(e)).toEqual([
        { jsonrpc: '2.0', id: `mcp-shepherd:3:${round}:when`, method: 'elicitation/create', params: expect.anything() },
        {
          jsonrpc: '2.0',
          id: `mcp-shepherd:3:${round}:model`,
          method: 'sampling/createMessage',
          params: expect.anything(),
        },
      ]);
      expect(e.after.snapshot.context.requestState).toBe(STATE);
    },
    'inputRound.calling --upstream.answer[and(isInputRequired, hasState)]--> inputRound.pausing': (e) => {
      expect(sent(e)).toEqual([]);
      expect(e.after.snapshot.context.requestState).toBe(STATE);
    },
    'inputRound.calling --upstream.answer--> inputRound.failed': failedWith('input-invalid'),
    'inputRound.calling --upstream.failed--> inputRound.failed': (e) => {
      failedWith('input-upstream')(e);
      expect((output(e).error as { message: string }).message).toContain('HTTP 502');
    },
    'inputRound.asking --client.answer[isElicitationError]--> (self)': (e) => {
      // The spec has no error slot for a leg: an elicitation that failed was not completed.
      expect(e.after.snapshot.context.answers.when).toEqual({ action: 'cancel' });
    },
    'inputRound.asking --client.answer[isLegError]--> inputRound.failed': failedWith('input-leg'),
    'inputRound.asking --client.answer[isLegAnswer]--> (self)': (e) => {
      const before = Object.keys(e.before.snapshot.context.answers).length;
      expect(Object.keys(e.after.snapshot.context.answers).length).toBe(before + 1);
    },
    'inputRound.asking --after roundTimeout--> inputRound.failed': failedWith('input-timeout'),
    'inputRound.asking --always[allAnswered]--> inputRound.calling': (e) => {
      const [call] = calls(e);
      expect(call?.id).toBe(`mcp-shepherd:3:call:${e.after.snapshot.context.round}`);
      expect(call?.params).toMatchObject({ name: 'book', arguments: { city: 'Oslo' }, requestState: STATE });
      expect(Object.keys(call?.params.inputResponses as object).sort()).toEqual(['model', 'when']);
    },
    'inputRound.pausing --after statePause--> inputRound.calling': retriedWithState,
  },
};

await describeTransitions(model);
