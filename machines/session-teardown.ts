/**
 * How a session ends, whatever the reason: every stream stopped, the stdio process stopped
 * gently, the upstream session deleted, then one announcement and the event log freed.
 */
import { sendTo } from 'xstate';
import { sessionSetup } from './session.setup.js';
import { HOST_ID } from './session-rules.js';
import { upstreamHeaders } from './upstream-request.js';

/** Once every stream is closed: DELETE upstream if it has a session, then end. */
const afterStreamsClosed = [
  { guard: 'shouldDeleteUpstream' as const, target: 'deletingUpstream' },
  { guard: 'endIsExpiry' as const, target: 'expired' },
  { target: 'terminated' },
];

const finalState = (state: 'terminated' | 'expired') =>
  sessionSetup.createStateConfig({
    type: 'final',
    entry: [
      { type: 'announceEnd', params: { state } },
      {
        type: 'notify',
        params: ({ context }) => ({
          sessionId: context.sessionId,
          event: state,
          reason: context.endReason ?? 'shutdown',
        }),
      },
    ],
  });

export const teardownStates = {
  terminating: sessionSetup.createStateConfig({
    entry: 'closeAllStreams',
    always: [{ guard: 'hostAlive', target: 'stoppingHost' }, ...afterStreamsClosed],
  }),
  // A stdio process is stopped gently (stdin closed, SIGTERM, SIGKILL) before the session ends.
  stoppingHost: sessionSetup.createStateConfig({
    entry: sendTo(HOST_ID, { type: 'host.shutdown' }),
    on: { 'xstate.done.actor.*': { guard: 'isHostDone', target: 'terminating', actions: 'markHostGone' } },
    after: { hostStopTimeout: { target: 'terminating', actions: 'markHostGone' } },
  }),
  deletingUpstream: sessionSetup.createStateConfig({
    invoke: {
      id: 'deleteUpstream',
      src: 'deleteUpstream',
      input: ({ context }) => ({
        upstream: context.config.upstream,
        headers: upstreamHeaders(context.config.upstream, context, 'DELETE', context.credentials.latest?.headers),
      }),
      onDone: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
      // A failed DELETE changes nothing for the client: the session is over either way.
      onError: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
    },
    after: {
      deleteTimeout: [{ guard: 'endIsExpiry', target: 'expired' }, { target: 'terminated' }],
    },
  }),
  terminated: finalState('terminated'),
  expired: finalState('expired'),
};
