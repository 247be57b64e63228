/**
 * One 2026-07-28 client's call on a pooled 2025 upstream session, through every request the
 * upstream makes of the client while it runs. A 2026-07-28 server "MUST NOT send JSON-RPC
 * requests on any stream"; a 2025 one sends elicitation, sampling and roots requests on the
 * call's stream and waits. So the proxy answers the client's call with `input_required`
 * (the requests as `inputRequests`, a `requestState` src/ mints), keeps the upstream call
 * waiting, and when the client retries with `inputResponses` sends them upstream as the
 * JSON-RPC responses to the waiting requests and relays the rest of the call to the retry.
 *
 * Requests that arrive together (within `collectMs`) go in one round. A retry that leaves a
 * request unanswered is asked again ("SHOULD re-ask"). A retry that never comes: after
 * `retryTimeoutMs` the upstream call is cancelled. The client going away cancels it too
 * ("closing the stream is the cancellation"). Pure statechart; src/era/modern-front.ts feeds
 * it the call's upstream messages. Diagram: docs/machines/pendingCall.md.
 */
import { type ActorRefFrom, and, assign, enqueueActions, setup } from 'xstate';
import type { RequestId } from './connection.types.js';
import { INPUT_CAPABILITY } from './era-rules.js';
import { errorResponse, isResponse } from './jsonrpc.js';

export interface PendingCallInput {
  /** The call's id upstream (the proxy's, unique on the pooled session). */
  upstreamId: RequestId;
  /** The id of the client request now attached (the first call, then each retry). */
  clientId: RequestId;
  /** The client's declared capabilities (the envelope's `clientCapabilities`). */
  clientCapabilities: Record<string, unknown>;
  /**
   * `inputResponses` the first request already carried: a request of the upstream under one
   * of these keys is answered with it at once (a modern server uses what it is given).
   */
  prefilled?: Record<string, unknown>;
  collectMs?: number;
  retryTimeoutMs?: number;
}

export const DEFAULT_PENDING_CALL = { collectMs: 20, retryTimeoutMs: 5 * 60_000, prefilled: {} } as const;

/**
 * A 2025 server's request has no key of its own; one that names the key it wants in
 * `params._meta["mcp-shepherd/inputKey"]` gets it (the conformance upstream does), any other
 * `r<its id>`.
 */
export const INPUT_KEY_META = 'mcp-shepherd/inputKey';

export type PendingCallEvent =
  /** A message on the call's upstream stream. */
  | { type: 'upstream.message'; message: Record<string, unknown> }
  /** The client retried with its answers (the requestState already verified by src/). */
  | { type: 'client.retry'; clientId: RequestId; inputResponses: Record<string, unknown> }
  /** The attached client went away before the answer. */
  | { type: 'client.gone' }
  /** The upstream stream ended without the call's response. */
  | { type: 'upstream.ended'; detail: string };

export type PendingCallEmitted =
  /** For the attached client: a notification of the call, or its final answer. */
  | { type: 'call.send'; message: Record<string, unknown>; final: boolean }
  /** End the attached client's answer with `input_required` carrying these requests. */
  | { type: 'call.inputRequired'; clientId: RequestId; inputRequests: Record<string, Leg>; round: number }
  /** Send upstream: a response to one of its requests, or the call's cancellation. */
  | { type: 'call.upstream'; message: Record<string, unknown> };

export interface Leg {
  method: string;
  params?: unknown;
}

interface PendingCallContext {
  input: Required<PendingCallInput>;
  clientId: RequestId;
  /** Rounds of input so far; a requestState names the round it answers. */
  round: number;
  /** Requests of the upstream not yet answered: key to the upstream's request id and the request. */
  waiting: Record<string, { id: RequestId; leg: Leg }>;
  /** Keys asked in the current round. */
  asked: string[];
  /** What came for the call while no client was attached. */
  held: Array<Record<string, unknown>>;
}

/** An input response is a result object (ElicitResult, CreateMessageResult, ListRootsResult); anything else answers nothing. */
const isAnswer = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);
const messageOf = (event: unknown) => (event as { message?: Record<string, unknown> }).message ?? {};
const isRequest = (m: Record<string, unknown>) =>
  typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
/** The key a request is asked under: stable, so a re-ask keeps it. */
function keyOf(message: Record<string, unknown>): string {
  const params = message.params as { _meta?: Record<string, unknown> } | undefined;
  const named = params?._meta?.[INPUT_KEY_META];
  return typeof named === 'string' && named !== '' ? named : `r${String(message.id)}`;
}

/** A request's params as the client is asked them: the key hint is the proxy's business. */
function withoutKeyHint(params: unknown): unknown {
  const meta = (params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  if (meta === undefined || !(INPUT_KEY_META in meta)) return params;
  const { [INPUT_KEY_META]: _hint, ...rest } = meta;
  const { _meta: _old, ...others } = params as Record<string, unknown>;
  return Object.keys(rest).length > 0 ? { ...others, _meta: rest } : others;
}

/** The call's end as an error for the attached client. */
const errorToClient = (context: PendingCallContext, code: number, message: string, data?: unknown) => ({
  type: 'call.send' as const,
  final: true,
  message: errorResponse(context.clientId, code, message, data),
});

/** The call's response as the attached client gets it: its id, `resultType` (2026-07-28 `Result`). */
function finalFor(context: PendingCallContext, message: Record<string, unknown>): Record<string, unknown> {
  if ('error' in message) return { jsonrpc: '2.0', id: context.clientId, error: message.error };
  const result = (message.result ?? {}) as Record<string, unknown>;
  return { jsonrpc: '2.0', id: context.clientId, result: { ...result, resultType: 'complete' } };
}

export const pendingCallMachine = setup({
  types: {
    context: {} as PendingCallContext,
    events: {} as PendingCallEvent,
    input: {} as PendingCallInput,
    emitted: {} as PendingCallEmitted,
  },
  delays: {
    collect: ({ context }) => context.input.collectMs,
    retryTimeout: ({ context }) => context.input.retryTimeoutMs,
  },
  guards: {
    isFinal: ({ context, event }) => {
      const message = messageOf(event);
      return isResponse(message) && message.id === context.input.upstreamId;
    },
    isServerRequest: ({ event }) => isRequest(messageOf(event)),
    heldFinal: ({ context }) =>
      context.held.some((message) => isResponse(message) && message.id === context.input.upstreamId),
    /** "The server MUST NOT embed a request the client did not declare a capability for" (-32021). */
    lacksCapability: ({ context, event }) => {
      const capability = INPUT_CAPABILITY[String(messageOf(event).method)];
      return capability === undefined || !(capability in context.input.clientCapabilities);
    },
    isNotification: ({ event }) => {
      const message = messageOf(event);
      return typeof message.method === 'string' && !('id' in message);
    },
    isPrefilled: ({ context, event }) => isAnswer(context.input.prefilled[keyOf(messageOf(event))]),
    answersAll: ({ context, event }) =>
      event.type === 'client.retry' && Object.keys(context.waiting).every((key) => isAnswer(event.inputResponses[key])),
  },
  actions: {
    relay: enqueueActions(({ event, enqueue }) => {
      enqueue.emit({ type: 'call.send', message: messageOf(event), final: false });
    }),
    hold: assign(({ context, event }) => ({ held: [...context.held, messageOf(event)] })),
    answer: enqueueActions(({ context, event, enqueue }) => {
      enqueue.emit({ type: 'call.send', message: finalFor(context, messageOf(event)), final: true });
    }),
    /** The upstream asks for something this client cannot give: it gets the spec's error, the call is dropped. */
    refuseCapability: enqueueActions(({ context, event, enqueue }) => {
      const message = messageOf(event);
      const capability = INPUT_CAPABILITY[String(message.method)] ?? String(message.method);
      enqueue.emit({
        type: 'call.upstream',
        message: errorResponse(message.id, -32601, `the client cannot serve ${String(message.method)}`),
      });
      enqueue.emit(
        errorToClient(
          context,
          -32021,
          `The server needs the client capability ${capability}, which the request did not declare.`,
          { requiredCapabilities: { [capability]: {} } },
        ),
      );
      enqueue.emit({ type: 'call.upstream', message: cancelOf(context, 'the client lacks a capability') });
    }),
    takeRequest: assign(({ context, event }) => {
      const message = messageOf(event);
      const key = keyOf(message);
      return {
        waiting: {
          ...context.waiting,
          [key]: {
            id: message.id as RequestId,
            leg: { method: String(message.method), params: withoutKeyHint(message.params) },
          },
        },
        asked: [...context.asked, key],
      };
    }),
    answerPrefilled: enqueueActions(({ context, event, enqueue }) => {
      const message = messageOf(event);
      const result = context.input.prefilled[keyOf(message)];
      enqueue.emit({ type: 'call.upstream', message: { jsonrpc: '2.0', id: message.id, result } });
    }),
    askClient: enqueueActions(({ context, enqueue }) => {
      const inputRequests: Record<string, Leg> = {};
      for (const key of Object.keys(context.waiting)) inputRequests[key] = context.waiting[key]?.leg as Leg;
      const round = context.round + 1;
      enqueue.assign({ round });
      enqueue.emit({ type: 'call.inputRequired', clientId: context.clientId, inputRequests, round });
    }),
    /** The retry's answers go upstream as the responses the waiting requests expect; the rest waits. */
    takeRetry: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.retry') return;
      const waiting = { ...context.waiting };
      for (const [key, pending] of Object.entries(context.waiting)) {
        if (!isAnswer(event.inputResponses[key])) continue;
        enqueue.emit({
          type: 'call.upstream',
          message: { jsonrpc: '2.0', id: pending.id, result: event.inputResponses[key] },
        });
        delete waiting[key];
      }
      enqueue.assign({ clientId: event.clientId, waiting, asked: [] });
    }),
    attachRetry: assign(({ event }) => (event.type === 'client.retry' ? { clientId: event.clientId } : {})),
    flushHeld: enqueueActions(({ context, enqueue }) => {
      for (const message of context.held) {
        const final = isResponse(message) && message.id === context.input.upstreamId;
        enqueue.emit({ type: 'call.send', message: final ? finalFor(context, message) : message, final });
      }
      enqueue.assign({ held: [] });
    }),
    cancelUpstream: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
      enqueue.emit({ type: 'call.upstream', message: cancelOf(context, params.reason) });
    }),
    failEnded: enqueueActions(({ context, event, enqueue }) => {
      const detail = (event as { detail?: string }).detail ?? 'ended';
      enqueue.emit(errorToClient(context, -32603, `The upstream call ended without an answer: ${detail}`));
    }),
  },
}).createMachine({
  id: 'pendingCall',
  context: ({ input }) => ({
    input: { ...DEFAULT_PENDING_CALL, ...input } as Required<PendingCallInput>,
    clientId: input.clientId,
    round: 0,
    waiting: {},
    asked: [],
    held: [],
  }),
  initial: 'relaying',
  states: {
    relaying: {
      on: {
        'upstream.message': [
          { guard: 'isFinal', target: 'done', actions: 'answer' },
          { guard: and(['isServerRequest', 'isPrefilled']), actions: 'answerPrefilled' },
          { guard: and(['isServerRequest', 'lacksCapability']), target: 'done', actions: 'refuseCapability' },
          { guard: 'isServerRequest', target: 'collecting', actions: 'takeRequest' },
          { guard: 'isNotification', actions: 'relay' },
        ],
        'upstream.ended': { target: 'done', actions: 'failEnded' },
        'client.gone': {
          target: 'cancelled',
          actions: { type: 'cancelUpstream', params: { reason: 'the client closed its stream' } },
        },
      },
    },
    // The upstream may ask several things at once: they go to the client in one round.
    collecting: {
      after: { collect: { target: 'parked', actions: 'askClient' } },
      on: {
        'upstream.message': [
          { guard: and(['isServerRequest', 'lacksCapability']), target: 'done', actions: 'refuseCapability' },
          { guard: 'isServerRequest', actions: 'takeRequest' },
          { guard: 'isNotification', actions: 'relay' },
          { guard: 'isFinal', target: 'done', actions: 'answer' },
        ],
        'upstream.ended': { target: 'done', actions: 'failEnded' },
        'client.gone': {
          target: 'cancelled',
          actions: { type: 'cancelUpstream', params: { reason: 'the client closed its stream' } },
        },
      },
    },
    // No client attached: the upstream call waits for the retry; what it sends meanwhile is held.
    parked: {
      after: {
        retryTimeout: {
          target: 'cancelled',
          actions: { type: 'cancelUpstream', params: { reason: 'no retry came in time' } },
        },
      },
      on: {
        'upstream.message': { actions: 'hold' },
        'upstream.ended': { target: 'cancelled' },
        'client.retry': [
          // The upstream answered the call meanwhile (it gave up waiting): the retry gets the answer.
          { guard: 'heldFinal', target: 'done', actions: ['attachRetry', 'flushHeld'] },
          { guard: 'answersAll', target: 'relaying', actions: ['takeRetry', 'flushHeld'] },
          // Some requests still unanswered: asked again.
          { target: 'parked', reenter: true, actions: ['takeRetry', 'askClient'] },
        ],
      },
    },
    done: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

function cancelOf(context: PendingCallContext, reason: string): Record<string, unknown> {
  return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: context.input.upstreamId, reason } };
}

export type PendingCallActorRef = ActorRefFrom<typeof pendingCallMachine>;
