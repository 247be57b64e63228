/**
 * A session's streams, as plain data and pure functions: which client-facing streams are
 * live, what each is waiting for, which client is attached to it. The session machine keeps
 * one table in its context and changes it only through these functions.
 *
 * "The server MUST send each of its JSON-RPC messages on only one of the connected streams;
 * that is, it MUST NOT broadcast the same message across multiple streams" (2025-06-18+
 * transports, Multiple Connections): so a live stream has at most one attached client.
 */
import { freeSlot, slotId } from './child-slot.js';
import type { RequestId } from './connection.types.js';
import type { Forwarded } from './session.types.js';

/** The standalone server-to-client stream (client GET, upstream GET). */
export const STANDALONE_STREAM = 0;
/** The initialize request's response stream. */
export const INITIALIZE_STREAM = 1;

/**
 * Stream children are named from this many slots, not by stream number, so that xstate's
 * per-event-type memo stays bounded however many requests a session serves (child-slot.ts).
 * Slot 0 belongs to the standalone stream.
 */
export const STREAM_SLOTS = 1024;
export const streamChildId = (stream: number) => slotId('stream', stream, STREAM_SLOTS);
/** The connection's own id, which its reports carry: the stream number itself. */
export const streamRef = (stream: number) => `stream-${stream}`;
export const streamOf = (ref: string) => Number(ref.slice('stream-'.length));

export interface StreamEntry {
  kind: 'get' | 'post';
  /** The client request that attached to the stream, while it is attached. */
  client: string | undefined;
  /** JSON-RPC requests on this stream still waiting for their response. */
  pending: readonly RequestId[];
  /** The POST body, to send again after the upstream is re-initialized. */
  body: string | undefined;
  /** What the client's request forwards upstream (its credential): kept only while the stream lives. */
  forward: Forwarded | undefined;
  /**
   * The upstream answered with one JSON body, which the client gets as one: it never sees an
   * event id, so it can never resume the stream, and its events need no log.
   */
  json: boolean;
  /** Why the first upstream output of this stream that was not JSON-RPC was dropped, if one was. */
  invalid: string | undefined;
}

export interface StreamTable {
  entries: Readonly<Record<number, StreamEntry>>;
  /** Where the search for the next stream number starts. */
  next: number;
}

export const emptyTable = (): StreamTable => ({ entries: {}, next: INITIALIZE_STREAM });

export const isLive = (table: StreamTable, stream: number) => stream in table.entries;
export const liveCount = (table: StreamTable) => Object.keys(table.entries).length;
export const liveStreams = (table: StreamTable) => Object.keys(table.entries).map(Number);
export const entryOf = (table: StreamTable, stream: number): StreamEntry | undefined => table.entries[stream];

/**
 * What the client does: a request in flight, or a stream a client holds. The standalone
 * stream the proxy keeps open for it while no client holds it is not the client's doing.
 */
export const hasClientActivity = (table: StreamTable) =>
  Object.values(table.entries).some((entry) => entry.kind === 'post' || entry.client !== undefined);

/** The client attached to a live stream, if any. */
export const clientOf = (table: StreamTable, stream: number) => table.entries[stream]?.client;

export interface OpenRequest {
  kind: 'get' | 'post';
  /** The client request attached to it; none for the standalone stream the proxy opens itself. */
  client: string | undefined;
  pending?: readonly RequestId[];
  body?: string | undefined;
  forward?: Forwarded | undefined;
}

/**
 * Adds a live stream with its client attached: the standalone stream has its fixed number;
 * a POST takes the next number whose child slot no live stream holds.
 */
export function openStream(table: StreamTable, request: OpenRequest): { table: StreamTable; stream: number } {
  const live = new Set(liveStreams(table).map(streamChildId));
  live.add(streamChildId(STANDALONE_STREAM));
  const stream =
    request.kind === 'get'
      ? STANDALONE_STREAM
      : freeSlot('stream', table.next, STREAM_SLOTS, (id) => live.has(id)).index;
  const entry: StreamEntry = {
    kind: request.kind,
    client: request.client,
    pending: request.pending ?? [],
    body: request.body,
    forward: request.forward,
    json: false,
    invalid: undefined,
  };
  return {
    table: { entries: { ...table.entries, [stream]: entry }, next: request.kind === 'get' ? table.next : stream + 1 },
    stream,
  };
}

/**
 * Puts back a stream another process had open, under its own number (its clients hold ids
 * naming it), with no client attached until one resumes it.
 */
export function restoreStream(
  table: StreamTable,
  stream: number,
  request: { kind: 'get' | 'post'; pending: readonly RequestId[] },
): StreamTable {
  const entry: StreamEntry = {
    kind: request.kind,
    client: undefined,
    pending: request.pending,
    body: undefined,
    forward: undefined,
    json: false,
    invalid: undefined,
  };
  return { ...table, entries: { ...table.entries, [stream]: entry } };
}

function update(table: StreamTable, stream: number, change: Partial<StreamEntry>): StreamTable {
  const entry = table.entries[stream];
  if (entry === undefined) return table;
  return { ...table, entries: { ...table.entries, [stream]: { ...entry, ...change } } };
}

/** The responses to these requests arrived on the stream. */
export function answer(table: StreamTable, stream: number, ids: readonly RequestId[]): StreamTable {
  const entry = table.entries[stream];
  if (entry === undefined || ids.length === 0) return table;
  return update(table, stream, { pending: entry.pending.filter((id) => !ids.includes(id)) });
}

export const markJson = (table: StreamTable, stream: number) => update(table, stream, { json: true });

/** The stream carried output that is not JSON-RPC; the first problem is kept, for the error. */
export const markInvalid = (table: StreamTable, stream: number, problem: string) =>
  table.entries[stream]?.invalid === undefined ? update(table, stream, { invalid: problem }) : table;

export const attachClient = (table: StreamTable, stream: number, client: string) => update(table, stream, { client });

/** The client left; only the client attached now can detach itself. */
export function detachClient(table: StreamTable, stream: number, client: string): StreamTable {
  return table.entries[stream]?.client === client ? update(table, stream, { client: undefined }) : table;
}

export function closeStream(table: StreamTable, stream: number): StreamTable {
  if (!(stream in table.entries)) return table;
  const { [stream]: _closed, ...entries } = table.entries;
  return { ...table, entries };
}

/**
 * After the upstream was re-initialized: a stream is sent again if it still waits for
 * something (the standalone stream always does); a POST stream with nothing pending is over.
 */
export function splitForResend(table: StreamTable): { resend: StreamTable; ended: number[] } {
  const entries: Record<number, StreamEntry> = {};
  const ended: number[] = [];
  for (const stream of liveStreams(table)) {
    const entry = table.entries[stream] as StreamEntry;
    if (entry.kind === 'post' && (entry.pending.length === 0 || entry.body === undefined)) ended.push(stream);
    else entries[stream] = entry;
  }
  return { resend: { ...table, entries }, ended };
}
