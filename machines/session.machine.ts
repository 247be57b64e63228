/**
 * One MCP session, as the client sees it: owns one connection child per upstream stream,
 * numbers every event it forwards with its own ids and appends it to its event log, answers
 * resumes from that log, and ends on DELETE, shutdown, idle time, lifetime or when the
 * upstream session is gone.
 *
 * Pure statechart: its vocabulary (children, guards, actions) is in session.setup.ts, how it
 * ends in session-teardown.ts, its streams in stream-table.ts, resumes in session-resume.ts.
 * Diagram and limits: docs/session.md.
 */
import { type ActorRefFrom, and, not } from 'xstate';
import { exchangeEnded, exchangeOpened } from './exchange.js';
import { sessionSetup } from './session.setup.js';
import { DEFAULT_SESSION_LIMITS, END_IS_EXPIRY, initialContext, isReinitialized } from './session-rules.js';
import { teardownStates } from './session-teardown.js';

export { HOST_ID, hostSystemId, primingIdOf, type SessionContext } from './session-rules.js';
export { INITIALIZE_STREAM, STANDALONE_STREAM, type StreamEntry, streamChildId } from './stream-table.js';
export { DEFAULT_SESSION_LIMITS };

/** While the upstream is not (yet) initialized, client requests are refused with `code`. */
const refuseClientRequests = (code: 'not-initialized') => ({
  'session.request': { actions: { type: 'refuse' as const, params: { code } } },
  'session.listen': { actions: { type: 'refuse' as const, params: { code } } },
});

/**
 * While the upstream GET stream opens, or the upstream is re-initialized, client commands
 * wait and are handled once requests may go again; past `maxConnectionsPerSession` waiting,
 * more are refused with `code` (the client retries).
 */
const holdClientCommands = (code: 'too-many-streams' | 'reinitializing') => {
  const hold = [
    { guard: 'deferredFull' as const, actions: { type: 'refuse' as const, params: { code } } },
    { actions: 'defer' as const },
  ];
  return { 'session.request': hold, 'session.listen': hold, 'session.resume': hold };
};

const endWith = (
  reason: 'deleted' | 'shutdown' | 'idle' | 'lifetime' | 'upstream-gone' | 'initialize-failed' | 'handoff',
) => ({
  type: 'setEndReason' as const,
  params: { reason },
});

const answer = (reopen: boolean) => ({ type: 'answerResume' as const, params: { reopen } });
const resumeIs = (outcome: 'failed' | 'refused' | 'conflict' | 'attached' | 'reopen') => ({
  type: 'resumeIs' as const,
  params: { outcome },
});

/** The initialize stream carried its answer (alone, or in a run after what the upstream said first). */
const initializeAnswered = {
  guard: 'isInitializeResult',
  target: 'preparing',
  actions: [
    'acceptInitializeResult',
    'forward',
    'announceInitialized',
    {
      type: 'notify',
      params: ({ context }: { context: { sessionId: string } }) => ({
        sessionId: context.sessionId,
        event: 'initialized' as const,
      }),
    },
  ],
} as const;

export const sessionMachine = sessionSetup.createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'live',
  states: {
    live: {
      entry: 'startHost',
      after: { maxLifetime: { target: 'terminating', actions: endWith('lifetime') } },
      on: {
        'session.delete': { target: 'terminating', actions: ['takeDeleteCredential', endWith('deleted')] },
        'session.shutdown': { target: 'terminating', actions: endWith('shutdown') },
        'session.handoff': { target: 'terminating', actions: endWith('handoff') },
        'session.client.detach': { actions: 'detach' },
        'session.resume': [
          { guard: 'resumeSlotsFull', actions: { type: 'refuse', params: { code: 'too-many-resumes' } } },
          { actions: 'startReplay' },
        ],
        'connection.event': { actions: 'forward' },
        'connection.events': { actions: 'forward' },
        'connection.status': { actions: 'trackStream' },
        // A one-shot POST answered at once: the statuses its connection would have sent, and
        // the answer between them (exchange.ts).
        'exchange.answered': {
          actions: [
            { type: 'trackStream', params: ({ event }) => ({ status: exchangeOpened(event) }) },
            'forward',
            { type: 'trackStream', params: ({ event }) => ({ status: exchangeEnded(event) }) },
          ],
        },
        'exchange.handover': { actions: 'handOver' },
        'xstate.done.actor.*': [
          // The stdio process gave up (crashed too often): the client must start again.
          { guard: 'isHostDone', target: 'terminating', actions: ['markHostGone', endWith('upstream-gone')] },
          // What the log answered a resume or a listen (session-resume.ts).
          { guard: resumeIs('refused'), actions: answer(false) },
          // "The server MUST send each of its JSON-RPC messages on only one of the connected streams."
          { guard: resumeIs('conflict'), actions: answer(false) },
          { guard: resumeIs('attached'), actions: answer(false) },
          { guard: 'isResumeAnswer', actions: answer(false) },
        ],
        'xstate.error.actor.*': { guard: resumeIs('failed'), actions: answer(false) },
      },
      initial: 'starting',
      states: {
        // A session another process held goes on where it left off: no initialize upstream.
        starting: {
          always: [{ guard: 'isRestored', target: 'active', actions: 'restoreStreams' }, { target: 'initializing' }],
        },
        initializing: {
          entry: {
            type: 'openStream',
            params: ({ context }) => ({
              kind: 'post' as const,
              key: context.config.initialize.key,
              body: context.config.initialize.body,
              pending: [context.config.initialize.requestId],
              forward: context.config.initialize.forward,
            }),
          },
          on: {
            ...refuseClientRequests('not-initialized'),
            'connection.event': initializeAnswered,
            // The answer in a run with what the upstream said before it (a log message).
            'connection.events': initializeAnswered,
            // The initialize stream ended without a result (an error answer, a refusal, a drop).
            'xstate.done.actor.*': {
              guard: 'isInitializeStreamDone',
              target: '#session.terminating',
              actions: endWith('initialize-failed'),
            },
          },
        },
        // The proxy opens the upstream GET stream before it forwards anything else, so that
        // nothing the server sends on it (an elicitation right after connecting) goes to no
        // stream; the client's requests wait (bounded) until it has opened or failed.
        preparing: {
          entry: 'openOwnStandalone',
          after: { standaloneWait: 'active' },
          on: {
            ...holdClientCommands('too-many-streams'),
            'connection.status': [
              {
                guard: and(['isStreamExpired', 'mayReinitialize']),
                target: 'reinitializing',
                actions: 'beginReinitialize',
              },
              { guard: 'isStandaloneSettled', target: 'active', actions: 'trackStream' },
            ],
          },
        },
        active: {
          entry: 'releaseDeferred',
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
                        ? {
                            kind: 'post' as const,
                            key: event.key,
                            body: event.body,
                            pending: event.requestIds,
                            forward: event.forward,
                            exchange: true,
                          }
                        : { kind: 'post' as const, key: '', pending: [] },
                  },
                ],
              },
            ],
            'session.listen': [
              { guard: 'standaloneAttached', actions: { type: 'refuse', params: { code: 'stream-attached' } } },
              {
                guard: 'standaloneUnavailable',
                actions: { type: 'refuse', params: { code: 'no-standalone-stream' } },
              },
              // Live without a client: what it carried meanwhile waits in the log.
              {
                guard: and(['standaloneLive', 'resumeSlotsFull']),
                actions: { type: 'refuse', params: { code: 'too-many-resumes' } },
              },
              { guard: 'standaloneLive', actions: 'startReplay' },
              { guard: 'atStreamLimit', actions: { type: 'refuse', params: { code: 'too-many-streams' } } },
              {
                actions: {
                  type: 'openStream',
                  params: ({ event }) => ({
                    kind: 'get' as const,
                    key: event.type === 'session.listen' ? event.key : '',
                    pending: [],
                    forward: event.type === 'session.listen' ? event.forward : undefined,
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
              { guard: and([resumeIs('reopen'), not('atStreamLimit')]), actions: answer(true) },
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
        // Client commands wait meanwhile: a restarted upstream that takes its time to
        // initialize costs the client a delay, not an error.
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
              forwarded: context.credentials.latest?.headers,
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
          on: holdClientCommands('reinitializing'),
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
