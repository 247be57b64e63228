/**
 * How a session answers a client that wants a stream from its log: a GET with
 * `Last-Event-ID` (a resume), or a GET attaching to the standalone stream while it is live
 * (events that arrived before the client came wait in the log). A replay actor reads the
 * log; its answer, classified here, decides what the session does.
 */
import { formatEventId } from './event-id.js';
import type { ReplayResult } from './event-log.js';
import type { SessionEvent, SessionLimits } from './session.types.js';
import type { ResumeSlot, SessionContext } from './session-rules.js';
import { clientOf, isLive, STANDALONE_STREAM } from './stream-table.js';

export const RESUME_PREFIX = 'resume-';
export const resumeChildId = (slot: number) => `${RESUME_PREFIX}${slot}`;

/**
 * The first replay slot no resume holds now (-1: all are busy). A resume is a client stream
 * too: a session answers at most `maxConnectionsPerSession` at once.
 */
export function freeResumeSlot(resuming: readonly ResumeSlot[], limits: SessionLimits): number {
  for (let slot = 0; slot < limits.maxConnectionsPerSession; slot++) {
    if (!resuming.some((r) => r.slot === slot)) return slot;
  }
  return -1;
}

function isReplayResult(value: unknown): value is ReplayResult {
  return value !== null && typeof value === 'object' && typeof (value as { ok?: unknown }).ok === 'boolean';
}

const childIdOf = (type: string) => type.replace(/^xstate\.(done|error)\.actor\./, '');

/** The slot of a replay actor whose done or error event this is. */
function resumeSlotOf(event: SessionEvent): number | undefined {
  if (!event.type.startsWith('xstate.')) return undefined;
  const id = childIdOf(event.type);
  return id.startsWith(RESUME_PREFIX) ? Number(id.slice(RESUME_PREFIX.length)) : undefined;
}

export interface ResumeAnswer extends ResumeSlot {
  /** What the log said; undefined when it could not be read. */
  replay: ReplayResult | undefined;
}

/** The resume a replay actor's done or error event answers, and what the log said. */
export function resumeOf(context: SessionContext, event: SessionEvent): ResumeAnswer | undefined {
  const slot = resumeSlotOf(event);
  const held = context.resuming.find((r) => r.slot === slot);
  if (held === undefined) return undefined;
  const output = event.type.startsWith('xstate.done.actor.') && 'output' in event ? event.output : undefined;
  return { ...held, replay: isReplayResult(output) ? output : undefined };
}

/**
 * - `failed`: the log could not be read;
 * - `refused`: the log refused the id (malformed, foreign, evicted, unknown);
 * - `conflict`: another client holds the stream;
 * - `attached`: the stream is live: the client now holds it;
 * - `reopen`: the standalone stream is closed: open it upstream again for the client;
 * - `replayed`: the stream is over; the replay is all there is.
 * A listen whose log read was refused still attaches (the events it missed are gone).
 */
export type ResumeOutcome = 'failed' | 'refused' | 'conflict' | 'attached' | 'reopen' | 'replayed';

export function resumeOutcome(context: SessionContext, event: SessionEvent): ResumeOutcome | undefined {
  const resume = resumeOf(context, event);
  if (resume === undefined) return undefined;
  const { replay } = resume;
  if (replay === undefined) return 'failed';
  if (!replay.ok && resume.kind === 'resume') return 'refused';
  const stream = replay.ok ? replay.stream : STANDALONE_STREAM;
  if (clientOf(context.streams, stream) !== undefined) return 'conflict';
  if (isLive(context.streams, stream)) return 'attached';
  return stream === STANDALONE_STREAM ? 'reopen' : 'replayed';
}

/**
 * The event that answers a resume the log answered: the replay, what it was read through,
 * whether the stream goes on, and the id that names the stream where the log was read.
 */
export function resumedEvent(context: SessionContext, resume: ResumeAnswer, live: boolean) {
  const replay: Extract<ReplayResult, { ok: true }> =
    resume.replay?.ok === true
      ? resume.replay
      : { ok: true, stream: STANDALONE_STREAM, afterSeq: 0, throughSeq: context.nextSeq - 1, events: [] };
  return {
    type: 'session.resumed' as const,
    sessionId: context.sessionId,
    key: resume.key,
    stream: replay.stream,
    events: replay.events,
    afterSeq: replay.afterSeq,
    throughSeq: replay.throughSeq,
    live,
    primingId: formatEventId(context.config.eventTag, replay.stream, replay.throughSeq),
    protocolVersion: context.protocolVersion,
  };
}
