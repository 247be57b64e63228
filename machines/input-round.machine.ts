/**
 * One call of a 2025 client to a 2026-07-28 upstream, through every round of its
 * multi-round-trip result: the upstream answers `resultType: "input_required"` with
 * `inputRequests` (elicitation, sampling, roots); the proxy asks the client each of them as
 * a 2025 server-to-client request on the call's stream, with ids it owns; with every answer
 * in, it retries the call upstream under a new id with `inputResponses` and the
 * byte-identical `requestState`; until a complete result or an error, which goes to the
 * client under its own id and without `resultType`.
 *
 * "The client MUST include the `requestState` value … exactly as received" and retries "as a
 * new request with a new JSON-RPC id" (2026-07-28 basic/patterns/mrtr). Bounded: at most
 * `maxRounds` input rounds, `roundTimeoutMs` for the client to answer one. A leg the client
 * did not declare the capability for fails the call (-32021); an elicitation the client
 * answered with an error counts as cancelled (the spec has no error slot for a leg); any
 * other failed leg fails the call.
 *
 * Pure statechart: the upstream exchange is the `callUpstream` actor (src/). Diagram:
 * docs/machines/inputRound.md.
 */
import { type ActorRefFrom, and, assign, enqueueActions, fromCallback, not, setup } from 'xstate';
import type { RequestId } from './connection.types.js';
import { INPUT_CAPABILITY } from './era-rules.js';
import { errorResponse, isRecord } from './jsonrpc.js';

export interface InputRoundInput {
  /** The client's request as it came (params without retry fields). */
  request: { id: RequestId; method: string; params: Record<string, unknown> };
  clientCapabilities: Record<string, unknown>;
  /** Unique per call within its session: every id the proxy mints for the call starts with it. */
  idPrefix: string;
  maxRounds?: number;
  roundTimeoutMs?: number;
  /** Pause before retrying a result that carried `requestState` only (load shedding). */
  statePauseMs?: number;
}

export const DEFAULT_INPUT_ROUNDS = { maxRounds: 8, roundTimeoutMs: 10 * 60_000, statePauseMs: 250 } as const;

/** One upstream attempt of the call. */
export interface UpstreamCall {
  id: RequestId;
  method: string;
  params: Record<string, unknown>;
}

export type UpstreamCallEvent =
  /** Something for the call's stream: progress, a log message. */
  | { type: 'upstream.notification'; message: Record<string, unknown> }
  /** The attempt's response (a result or an error). */
  | { type: 'upstream.answer'; message: Record<string, unknown> }
  | { type: 'upstream.failed'; detail: string };

export type InputRoundEvent = UpstreamCallEvent | { type: 'client.answer'; message: Record<string, unknown> };

/** For the client's stream, in order. */
export type InputRoundEmitted = { type: 'round.send'; message: Record<string, unknown> };

export interface InputRoundOutput {
  /** The response the client gets, under its own id. */
  message: Record<string, unknown>;
}

type Leg = { method: string; params?: Record<string, unknown> };

interface InputRoundContext {
  input: Required<InputRoundInput>;
  /** Input rounds so far; also names the attempt now upstream. */
  round: number;
  requestState: string | undefined;
  legs: Record<string, Leg>;
  /** The id each leg was asked under, to its key. */
  asked: Record<string, string>;
  answers: Record<string, unknown>;
  lastProgress: number | undefined;
  outcome: Record<string, unknown> | undefined;
}

const messageOf = (event: unknown) => (event as { message?: Record<string, unknown> }).message ?? {};
const resultOf = (event: unknown) => {
  const { result } = messageOf(event);
  return isRecord(result) ? result : undefined;
};
const resultType = (event: unknown) => resultOf(event)?.resultType ?? 'complete';
const legsOf = (event: unknown): Record<string, Leg> => {
  const requests = resultOf(event)?.inputRequests;
  return isRecord(requests) ? (requests as Record<string, Leg>) : {};
};

/** The call as the upstream gets it in the current round. */
export function attemptOf(context: InputRoundContext): UpstreamCall {
  const { request, idPrefix } = context.input;
  if (context.round === 0 && context.requestState === undefined) {
    return { id: request.id, method: request.method, params: request.params };
  }
  const params: Record<string, unknown> = { ...request.params };
  if (Object.keys(context.answers).length > 0) params.inputResponses = context.answers;
  if (context.requestState !== undefined) params.requestState = context.requestState;
  return { id: `${idPrefix}:call:${context.round}`, method: request.method, params };
}

/** A leg as a 2025 server-to-client request; a URL elicitation gets the id 2025-11-25 requires. */
function legRequest(id: string, leg: Leg): Record<string, unknown> {
  const params = { ...(leg.params ?? {}) };
  if (leg.method === 'elicitation/create' && params.mode === 'url' && params.elicitationId === undefined) {
    params.elicitationId = id;
  }
  return { jsonrpc: '2.0', id, method: leg.method, params };
}

const failure = (context: InputRoundContext, message: string, code = -32603, data?: Record<string, unknown>) =>
  errorResponse(context.input.request.id, code, message, data);

const missingCapabilities = (context: InputRoundContext, legs: Record<string, Leg>) => {
  const missing: Record<string, object> = {};
  for (const leg of Object.values(legs)) {
    const capability = INPUT_CAPABILITY[leg.method];
    if (capability === undefined || !(capability in context.input.clientCapabilities)) {
      missing[capability ?? leg.method] = {};
    }
  }
  return missing;
};

export const inputRoundMachine = setup({
  types: {
    context: {} as InputRoundContext,
    events: {} as InputRoundEvent,
    input: {} as InputRoundInput,
    output: {} as InputRoundOutput,
    emitted: {} as InputRoundEmitted,
  },
  actors: {
    callUpstream: fromCallback<InputRoundEvent, UpstreamCall>(() => {
      throw new Error('inputRound: provide the callUpstream actor');
    }),
  },
  delays: {
    roundTimeout: ({ context }) => context.input.roundTimeoutMs,
    statePause: ({ context }) => context.input.statePauseMs,
  },
  guards: {
    /** "Progress MUST increase": a retried call may count again from its start. */
    isStaleProgress: ({ context, event }) => {
      const { method, params } = messageOf(event);
      const progress = isRecord(params) ? params.progress : undefined;
      return (
        method === 'notifications/progress' &&
        typeof progress === 'number' &&
        context.lastProgress !== undefined &&
        progress <= context.lastProgress
      );
    },
    isComplete: ({ event }) => resultOf(event) !== undefined && resultType(event) === 'complete',
    isError: ({ event }) => isRecord(messageOf(event).error),
    isInputRequired: ({ event }) => resultType(event) === 'input_required',
    hasRoundsLeft: ({ context }) => context.round < context.input.maxRounds,
    hasLegs: ({ event }) => Object.keys(legsOf(event)).length > 0,
    hasState: ({ event }) => typeof resultOf(event)?.requestState === 'string',
    lacksCapability: ({ context, event }) => Object.keys(missingCapabilities(context, legsOf(event))).length > 0,
    isLegAnswer: ({ context, event }) => String(messageOf(event).id) in context.asked,
    isElicitationError: ({ context, event }) => {
      const message = messageOf(event);
      const key = context.asked[String(message.id)];
      return 'error' in message && key !== undefined && context.legs[key]?.method === 'elicitation/create';
    },
    isLegError: ({ event }) => 'error' in messageOf(event),
    allAnswered: ({ context }) => Object.keys(context.legs).every((key) => key in context.answers),
  },
  actions: {
    /** Hands a notification to the client's stream, remembering how far progress went. */
    relay: enqueueActions(({ context, event, enqueue }) => {
      const message = messageOf(event);
      const progress = isRecord(message.params) ? message.params.progress : undefined;
      if (message.method === 'notifications/progress' && typeof progress === 'number') {
        enqueue.assign({ lastProgress: Math.max(progress, context.lastProgress ?? progress) });
      }
      enqueue.emit({ type: 'round.send', message });
    }),
    settle: assign(({ context, event }) => {
      const { result, error } = messageOf(event);
      if (isRecord(error)) return { outcome: { jsonrpc: '2.0', id: context.input.request.id, error } };
      const { resultType: _type, ...complete } = (result ?? {}) as Record<string, unknown>;
      return { outcome: { jsonrpc: '2.0', id: context.input.request.id, result: complete } };
    }),
    takeInputRequired: assign(({ context, event }) => {
      const result = resultOf(event) ?? {};
      const legs = legsOf(event);
      const round = context.round + 1;
      const asked: Record<string, string> = {};
      for (const key of Object.keys(legs)) asked[`${context.input.idPrefix}:${round}:${key}`] = key;
      return {
        round,
        legs,
        asked,
        answers: {},
        requestState: typeof result.requestState === 'string' ? result.requestState : undefined,
      };
    }),
    /** Every leg of the round goes to the client as a request of its own. */
    askClient: enqueueActions(({ context, enqueue }) => {
      for (const [id, key] of Object.entries(context.asked)) {
        const leg = context.legs[key];
        if (leg) enqueue.emit({ type: 'round.send', message: legRequest(id, leg) });
      }
    }),
    takeAnswer: assign(({ context, event }) => {
      const message = messageOf(event);
      const key = context.asked[String(message.id)];
      if (key === undefined) return {};
      // An elicitation the client could not show is one the user did not complete.
      const answer = 'error' in message ? { action: 'cancel' } : message.result;
      return { answers: { ...context.answers, [key]: answer } };
    }),
    fail: assign(
      ({ context, event }, params: { why: 'rounds' | 'capability' | 'leg' | 'timeout' | 'upstream' | 'invalid' }) => {
        const detail = (event as { detail?: string }).detail;
        const leg = messageOf(event);
        const messages = {
          rounds: `the upstream asked for input more than ${context.input.maxRounds} times`,
          capability: 'the upstream asked for input this client did not declare it can give',
          leg: `the client could not answer the upstream's ${context.legs[context.asked[String(leg.id)] ?? '']?.method ?? 'request'}: ${
            isRecord(leg.error) ? String(leg.error.message) : 'error'
          }`,
          timeout: `the client did not answer the upstream's request for input within ${context.input.roundTimeoutMs} ms`,
          upstream: `the upstream call failed: ${detail ?? 'no answer'}`,
          invalid: `the upstream answered with an invalid result (resultType ${JSON.stringify(resultType(event))})`,
        };
        const data =
          params.why === 'capability'
            ? { requiredCapabilities: missingCapabilities(context, legsOf(event)) }
            : { reason: `input-${params.why}` };
        const code = params.why === 'capability' ? -32021 : -32603;
        return { outcome: failure(context, messages[params.why], code, data) };
      },
    ),
  },
}).createMachine({
  id: 'inputRound',
  context: ({ input }) => ({
    input: { ...DEFAULT_INPUT_ROUNDS, ...input } as Required<InputRoundInput>,
    round: 0,
    requestState: undefined,
    legs: {},
    asked: {},
    answers: {},
    lastProgress: undefined,
    outcome: undefined,
  }),
  initial: 'calling',
  states: {
    calling: {
      invoke: { id: 'upstream', src: 'callUpstream', input: ({ context }) => attemptOf(context) },
      on: {
        'upstream.notification': [{ guard: 'isStaleProgress' }, { actions: 'relay' }],
        'upstream.answer': [
          { guard: 'isError', target: 'done', actions: 'settle' },
          { guard: 'isComplete', target: 'done', actions: 'settle' },
          {
            guard: and(['isInputRequired', not('hasRoundsLeft')]),
            target: 'failed',
            actions: { type: 'fail', params: { why: 'rounds' } },
          },
          {
            guard: and(['isInputRequired', 'hasLegs', 'lacksCapability']),
            target: 'failed',
            actions: { type: 'fail', params: { why: 'capability' } },
          },
          { guard: and(['isInputRequired', 'hasLegs']), target: 'asking', actions: 'takeInputRequired' },
          // A result with `requestState` only: the upstream asks for a retry (load shedding).
          { guard: and(['isInputRequired', 'hasState']), target: 'pausing', actions: 'takeInputRequired' },
          // "At least one of inputRequests and requestState MUST be present"; resultType is known.
          { target: 'failed', actions: { type: 'fail', params: { why: 'invalid' } } },
        ],
        'upstream.failed': { target: 'failed', actions: { type: 'fail', params: { why: 'upstream' } } },
      },
    },
    asking: {
      entry: 'askClient',
      after: { roundTimeout: { target: 'failed', actions: { type: 'fail', params: { why: 'timeout' } } } },
      always: { guard: 'allAnswered', target: 'calling' },
      on: {
        'client.answer': [
          { guard: 'isElicitationError', actions: 'takeAnswer' },
          { guard: 'isLegError', target: 'failed', actions: { type: 'fail', params: { why: 'leg' } } },
          { guard: 'isLegAnswer', actions: 'takeAnswer' },
        ],
      },
    },
    pausing: {
      after: { statePause: 'calling' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({ message: context.outcome ?? failure(context, 'the call ended without an answer') }),
});

export type InputRoundActorRef = ActorRefFrom<typeof inputRoundMachine>;
