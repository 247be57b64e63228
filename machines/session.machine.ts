/**
 * One MCP session, as the client sees it: owns one connection child per upstream stream,
 * numbers every event it forwards with its own ids and appends it to its event log, answers
 * resumes from that log, and ends on DELETE, shutdown, idle time, lifetime or when the
 * upstream session is gone.
 *
 * Pure statechart: its vocabulary (children, guards, actions) is in session.setup.ts, how it
 * ends in session-teardown.ts, its streams in stream-table.ts. Diagram and limits:
 * docs/session.md.
 */
import { type ActorRefFrom, and, not } from 'xstate';
import { sessionSetup } from './session.setup.js';
import { DEFAULT_SESSION_LIMITS, END_IS_EXPIRY, initialContext, isReinitialized } from './session-rules.js';
import { teardownStates } from './session-teardown.js';

export { HOST_ID, hostSystemId, primingIdOf, type SessionContext } from './session-rules.js';
export { INITIALIZE_STREAM, STANDALONE_STREAM, type StreamEntry, streamChildId } from './stream-table.js';
export { DEFAULT_SESSION_LIMITS };

/** While the upstream is not (yet, or again) initialized, client requests are refused with `code`. */
const refuseClientRequests = (code: 'not-initialized' | 'reinitializing') => ({
  'session.request': { actions: { type: 'refuse' as const, params: { code } } },
  'session.listen': { actions: { type: 'refuse' as const, params: { code } } },
});

const endWith = (reason: 'deleted' | 'shutdown' | 'idle' | 'lifetime' | 'upstream-gone' | 'initialize-failed') => ({
  type: 'setEndReason' as const,
  params: { reason },
});

export const sessionMachine = sessionSetup.createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'live',
  states: {
    live: {
      entry: 'startHost',
      after: { maxLifetime: { target: 'terminating', actions: endWith('lifetime') } },
      on: {
        'session.delete': { target: 'terminating', actions: endWith('deleted') },
        'session.shutdown': { target: 'terminating', actions: endWith('shutdown') },
        'session.client.detach': { actions: 'detach' },
        'session.resume': [
          { guard: 'resumeSlotsFull', actions: { type: 'refuse', params: { code: 'too-many-resumes' } } },
          { actions: 'startResume' },
        ],
        'connection.event': { actions: 'forward' },
        'connection.status': { actions: 'trackStream' },
        'xstate.done.actor.*': [
          // The stdio process gave up (crashed too often): the client must start again.
          { guard: 'isHostDone', target: 'terminating', actions: ['markHostGone', endWith('upstream-gone')] },
          { guard: 'isResumeRefused', actions: { type: 'answerResume', params: { outcome: 'refused' } } },
          // "The server MUST send each of its JSON-RPC messages on only one of the connected streams."
          { guard: 'isResumeOfAttachedStream', actions: { type: 'answerResume', params: { outcome: 'conflict' } } },
          { guard: 'isResumeOfLiveStream', actions: { type: 'answerResume', params: { outcome: 'attached' } } },
          { guard: 'isResumeAnswer', actions: { type: 'answerResume', params: { outcome: 'replayed' } } },
        ],
        'xstate.error.actor.*': {
          guard: 'isResumeFailure',
          actions: { type: 'answerResume', params: { outcome: 'failed' } },
        },
      },
      initial: 'initializing',
      states: {
        initializing: {
          entry: {
            type: 'openStream',
            params: ({ context }) => ({
              kind: 'post' as const,
              key: context.config.initialize.key,
              body: context.config.initialize.body,
              pending: [context.config.initialize.requestId],
            }),
          },
          on: {
            ...refuseClientRequests('not-initialized'),
            'connection.event': {
              guard: 'isInitializeResult',
              target: 'active',
              actions: ['acceptInitializeResult', 'forward'],
            },
            // The initialize stream ended without a result (an error answer, a refusal, a drop).
            'xstate.done.actor.*': {
              guard: 'isInitializeStreamDone',
              target: '#session.terminating',
              actions: endWith('initialize-failed'),
            },
          },
        },
        active: {
          entry: [
            'announceInitialized',
            {
              type: 'notify',
              params: ({ context }) => ({ sessionId: context.sessionId, event: 'initialized' as const }),
            },
          ],
          on: {
            'session.request': [
              { guard: 'atStreamLimit', actions: { type: 'refuse', params: { code: 'too-many-streams' } } },
              {
                actions: [
                  'rememberInitialized',
                  {
                    type: 'openStream',
                    params: ({ event }) =>
                      event.type === 'session.request'
                        ? { kind: 'post' as const, key: event.key, body: event.body, pending: event.requestIds }
                        : { kind: 'post' as const, key: '', pending: [] },
                  },
                ],
              },
            ],
            'session.listen': [
              { guard: 'standaloneAttached', actions: { type: 'refuse', params: { code: 'stream-attached' } } },
              { guard: 'standaloneLive', actions: 'attachStandalone' },
              { guard: 'atStreamLimit', actions: { type: 'refuse', params: { code: 'too-many-streams' } } },
              {
                actions: {
                  type: 'openStream',
                  params: ({ event }) => ({
                    kind: 'get' as const,
                    key: event.type === 'session.listen' ? event.key : '',
                    pending: [],
                  }),
                },
              },
            ],
            // "When a client receives HTTP 404 in response to a request containing an
            // Mcp-Session-Id, it MUST start a new session": the upstream session is gone.
            // The proxy is that client; by policy it starts one itself (on the report: the
            // stream's entry stays, to be sent again), or ends this session (once the
            // stream is done: see streamEndOf).
            'connection.status': {
              guard: and(['isStreamExpired', 'mayReinitialize']),
              target: 'reinitializing',
              actions: 'beginReinitialize',
            },
            'xstate.done.actor.*': [
              { guard: 'isStreamDoneExpired', target: '#session.terminating', actions: endWith('upstream-gone') },
              // Resuming the standalone stream after it closed opens it upstream again.
              {
                guard: and(['isResumeOfClosedStandalone', not('atStreamLimit')]),
                actions: { type: 'answerResume', params: { outcome: 'reopened' } },
              },
            ],
          },
          initial: 'idle',
          states: {
            idle: {
              always: { guard: 'hasActivity', target: 'busy' },
              after: { idleTimeout: { target: '#session.terminating', actions: endWith('idle') } },
            },
            busy: {
              always: { guard: not('hasActivity'), target: 'idle' },
            },
          },
        },
        reinitializing: {
          invoke: {
            id: 'reinitialize',
            src: 'reinitialize',
            input: ({ context }) => ({
              sessionId: context.sessionId,
              upstream: context.config.upstream,
              initialize: context.config.initialize,
              initializedBody: context.initializedBody,
              connection: context.config.connectionOptions,
            }),
            onDone: [
              {
                guard: 'reinitSucceeded',
                target: 'active',
                actions: [
                  {
                    type: 'resumeAfterReinitialize',
                    params: ({ event }) =>
                      isReinitialized(event.output)
                        ? event.output
                        : { upstreamSessionId: undefined, protocolVersion: undefined },
                  },
                  {
                    type: 'notify',
                    params: ({ context }) => ({ sessionId: context.sessionId, event: 'reinitialized' as const }),
                  },
                ],
              },
              { target: '#session.terminating', actions: endWith('upstream-gone') },
            ],
          },
          on: refuseClientRequests('reinitializing'),
        },
      },
    },
    ...teardownStates,
  },
  output: ({ context }) => ({
    state: context.endReason !== undefined && END_IS_EXPIRY[context.endReason] ? 'expired' : 'terminated',
    reason: context.endReason ?? 'shutdown',
  }),
});

export type SessionActorRef = ActorRefFrom<typeof sessionMachine>;
