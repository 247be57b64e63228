/**
 * What a client is told when one of its session's streams ends without answering: the
 * same for an HTTP client (stream-relay.ts) and an in-process SDK client (client-transport.ts).
 */
import type { SessionEmitted } from '../../machines/session.types.js';
import {
  NoStandaloneStreamError,
  SessionGoneError,
  type ShepherdError,
  UpstreamStatusError,
  UpstreamUnavailableError,
} from '../errors.js';

type StreamEnded = Extract<SessionEmitted, { type: 'session.stream.ended' }>;

/** The error for a stream that ended unanswered; `listen` is a standalone GET. */
export function errorForEnd(e: StreamEnded, kind: 'request' | 'listen' | 'resume'): ShepherdError {
  if (e.state === 'expired' || e.state === 'stopped') return new SessionGoneError();
  // A stateless upstream may have no GET route at all (404): either way, no stream.
  if ((e.status === 405 || e.status === 404) && kind === 'listen') return new NoStandaloneStreamError();
  if (e.status !== undefined) return new UpstreamStatusError(e.status, e.detail ?? String(e.status));
  return new UpstreamUnavailableError(streamEndedMessage(e));
}

/** Why: the stream's final state, reason and detail. */
export function streamEndedMessage(e: StreamEnded): string {
  return `The upstream stream ended before answering (${e.state}${e.reason ? `: ${e.reason}` : ''}${
    e.detail ? `, ${e.detail}` : ''
  }).`;
}
