/**
 * Gets a session a new upstream session after the upstream lost the old one: replays the
 * client's saved initialize, then its notifications/initialized under the new session id,
 * and finishes with what the upstream answered (or why it could not).
 *
 * "When a client receives HTTP 404 in response to a request containing an Mcp-Session-Id,
 * it MUST start a new session by sending a new InitializeRequest without a session ID
 * attached" (2025-03-26+ transports, Session Management). The proxy is that client.
 *
 * Pure statechart: each request is a connection child (the session's own stream logic,
 * provided by src/). Diagram: docs/machines/reinitialize.md.
 */
import { type ActorRefFrom, assign, setup } from 'xstate';
import { connectionMachine } from './connection.machine.js';
import type {
  ConnectionDelivery,
  ConnectionOptionsInput,
  ConnectionOutput,
  ConnectionRunDelivery,
  ConnectionStatus,
  RequestId,
} from './connection.types.js';
import { resultIn } from './connection-rules.js';
import type { UpstreamTarget } from './session.types.js';
import { connectionInput, type UpstreamSession } from './upstream-request.js';

export interface ReinitializeInput {
  sessionId: string;
  upstream: UpstreamTarget;
  initialize: { body: string; requestId: RequestId };
  /** The client's notifications/initialized, sent once the new session exists. */
  initializedBody: string | undefined;
  connection?: ConnectionOptionsInput | undefined;
  /** The whole exchange may take this long. Default 30 s. */
  timeoutMs?: number | undefined;
  /** The credential the upstream accepted last for this session: the replay carries it. */
  forwarded?: Readonly<Record<string, string>> | undefined;
}

export type ReinitializeOutput = ({ ok: true } & UpstreamSession) | { ok: false; detail: string };

export const DEFAULT_REINITIALIZE_TIMEOUT_MS = 30_000;
/** The id the replayed initialize's connection reports under. */
export const REINITIALIZE_STREAM_ID = 'reinitialize';

export interface ReinitializeContext extends UpstreamSession {
  input: ReinitializeInput;
  /** The upstream answered the replayed initialize with a result. */
  answered: boolean;
  failure: string | undefined;
}

type ReinitializeEvent = ConnectionStatus | ConnectionDelivery | ConnectionRunDelivery;

const describeEnd = (what: string, output: ConnectionOutput | undefined) =>
  `${what} ended without an answer (${output?.state ?? 'stopped'}${output?.reason ? `: ${output.reason}` : ''}${
    output?.detail ? `, ${output.detail}` : ''
  })`;

export const reinitializeMachine = setup({
  types: {
    context: {} as ReinitializeContext,
    events: {} as ReinitializeEvent,
    input: {} as ReinitializeInput,
    output: {} as ReinitializeOutput,
  },
  actors: { connection: connectionMachine },
  delays: {
    timeout: ({ context }) => context.input.timeoutMs ?? DEFAULT_REINITIALIZE_TIMEOUT_MS,
  },
  guards: {
    isInitializeResult: ({ context, event }) => resultIn(event, context.input.initialize.requestId) !== undefined,
    wasAnswered: ({ context }) => context.answered,
    hasInitialized: ({ context }) => context.input.initializedBody !== undefined,
    /** "the server MUST return HTTP status code 202 Accepted with no body" for a notification. */
    wasAccepted: ({ event }) => (event as { output?: ConnectionOutput }).output?.reason === 'accepted',
  },
  actions: {
    rememberSessionId: assign(({ context, event }) =>
      event.type === 'connection.status' && event.sessionId !== undefined && context.upstreamSessionId === undefined
        ? { upstreamSessionId: event.sessionId }
        : {},
    ),
    acceptResult: assign(({ context, event }) => {
      const result = resultIn(event, context.input.initialize.requestId);
      if (result === undefined) return {};
      const version = result.protocolVersion;
      return { answered: true, protocolVersion: typeof version === 'string' ? version : undefined };
    }),
    fail: assign((_, params: { failure: string }) => ({ failure: params.failure })),
  },
}).createMachine({
  id: 'reinitialize',
  context: ({ input }) => ({
    input,
    upstreamSessionId: undefined,
    protocolVersion: undefined,
    answered: false,
    failure: undefined,
  }),
  after: {
    timeout: {
      target: '.failed',
      actions: { type: 'fail', params: { failure: 'the upstream did not answer the replayed initialize in time' } },
    },
  },
  initial: 'initializing',
  states: {
    initializing: {
      invoke: {
        id: 'initialize',
        src: 'connection',
        input: ({ context }) =>
          connectionInput({
            id: REINITIALIZE_STREAM_ID,
            sessionId: context.input.sessionId,
            upstream: context.input.upstream,
            // A new session: no session id, and no version until the upstream negotiates one.
            upstreamSession: { upstreamSessionId: undefined, protocolVersion: undefined },
            kind: 'post',
            body: context.input.initialize.body,
            pending: [context.input.initialize.requestId],
            options: context.input.connection,
            forwarded: context.input.forwarded,
          }),
        // The stream's end, not its answer, moves on: a child's done event is the last thing
        // it sends, so nothing of it arrives once this machine has moved past it.
        onDone: [
          { guard: 'wasAnswered', target: 'initialized' },
          {
            target: 'failed',
            actions: {
              type: 'fail',
              params: ({ event }) => ({ failure: describeEnd('the replayed initialize', event.output) }),
            },
          },
        ],
      },
      on: {
        'connection.status': { actions: 'rememberSessionId' },
        // Anything else the upstream says before its answer (a log message) is not the client's.
        'connection.event': { guard: 'isInitializeResult', actions: 'acceptResult' },
        'connection.events': { guard: 'isInitializeResult', actions: 'acceptResult' },
      },
    },
    initialized: {
      always: [{ guard: 'hasInitialized', target: 'notifying' }, { target: 'done' }],
    },
    notifying: {
      invoke: {
        id: 'initialized',
        src: 'connection',
        input: ({ context }) =>
          connectionInput({
            id: 'initialized',
            sessionId: context.input.sessionId,
            upstream: context.input.upstream,
            upstreamSession: context,
            kind: 'post',
            body: context.input.initializedBody,
            pending: [],
            options: context.input.connection,
            forwarded: context.input.forwarded,
          }),
        onDone: [
          { guard: 'wasAccepted', target: 'done' },
          {
            target: 'failed',
            actions: {
              type: 'fail',
              params: ({ event }) => ({ failure: describeEnd('the replayed notifications/initialized', event.output) }),
            },
          },
        ],
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.failure === undefined
      ? { ok: true, upstreamSessionId: context.upstreamSessionId, protocolVersion: context.protocolVersion }
      : { ok: false, detail: context.failure },
});

export type ReinitializeActorRef = ActorRefFrom<typeof reinitializeMachine>;
