/**
 * Transitions the connection machine uses in several places, as configs: how a broken
 * stream is retried or failed, and how an event is taken in either health state.
 */
import { not } from 'xstate';
import type { WaitReason } from './connection.types.js';

/** Transitions shared by every place a stream can break: retry if allowed, else fail. */
export function retryOrFail(reason: WaitReason, counts = true) {
  return [
    {
      guard: not('mayRetry'),
      target: '#connection.failed',
      actions: { type: 'setOutcome' as const, params: { reason: 'not-resumable' as const, cause: reason } },
    },
    // Only a failure that counts can exhaust the attempts.
    ...(counts
      ? [
          {
            guard: { type: 'attemptsExhausted' as const, params: { counts } },
            target: '#connection.failed',
            actions: { type: 'setOutcome' as const, params: { reason: 'attempts-exhausted' as const, cause: reason } },
          },
        ]
      : []),
    {
      target: '#connection.waiting',
      actions: { type: 'planReconnect' as const, params: { reason, counts } },
    },
  ];
}

/** Coming back from `stalled`, the parent hears that the stream is healthy again. */
export const recovered = ['markRecovered' as const, { type: 'report' as const, params: { state: 'open' as const } }];

/**
 * How an SSE event is handled in both health sub-states. Every event is activity: it marks
 * the stream active, which the heartbeat reads when it fires (see `receiving`); from
 * `stalled` it goes back to `receiving`. Restarting the heartbeat timer on each event instead
 * cost a timer and a state exit and entry per event.
 */
export function onStreamEvent(fromStall: boolean) {
  const { recovery, target } = afterEvent(fromStall);
  return [
    { guard: 'isRepeat' as const, ...target, actions: ['markActive' as const, ...recovery] },
    // An event with an id and no data (a priming event) is only a resume point: kept here,
    // not handed on (the session would drop it; this saves it a step per stream).
    { guard: 'isPriming' as const, ...target, actions: ['recordEvent' as const, ...recovery] },
    completing('completesStream', ['recordEvent', 'deliver']),
    { ...target, actions: ['recordEvent' as const, 'deliver' as const, ...recovery] },
  ];
}

/**
 * A run of events (`stream.events`): what `onStreamEvent` does to each, in one step. The
 * events are delivered before they are recorded: both read the batch against the context as
 * it was (connection-rules.ts, readBatch).
 */
export function onStreamEvents(fromStall: boolean) {
  const { recovery, target } = afterEvent(fromStall);
  return [
    completing('batchCompletesStream', ['deliverBatch', 'recordBatch']),
    { ...target, actions: ['deliverBatch' as const, 'recordBatch' as const, ...recovery] },
  ];
}

/** From `stalled`, an event is a recovery: back to `receiving`, and the parent told. */
const afterEvent = (fromStall: boolean) => ({
  recovery: fromStall ? recovered : [],
  target: fromStall ? { target: '#connection.streaming.open.health.receiving' } : {},
});

/** The stream's last awaited response arrived: what it carried goes on, and the stream is complete. */
function completing<const G extends string, const A extends string>(guard: G, actions: readonly A[]) {
  return {
    guard,
    target: '#connection.closed',
    actions: [...actions, { type: 'setOutcome' as const, params: { reason: 'completed' as const } }],
  };
}
