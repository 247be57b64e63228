/**
 * The sessions as the page uses them, read from `GET /sessions` and the `sessions` events of
 * `GET /events` (SessionView in src/admin/session-view.ts). The JSON is checked field by field
 * rather than trusted, so that a listener of another version (a stream without `machine`, a
 * session without `host`, a missing event log) still draws what it can. No DOM: unit-tested.
 */

export type JsonRecord = Record<string, unknown>;

export const isRecord = (value: unknown): value is JsonRecord =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface StreamData {
  /** The stream number, as text: it names the stream's card and diagram. */
  stream: string;
  /** 'get' (the standalone stream), 'post' (a POST response stream), or whatever a newer listener sends. */
  kind: string;
  /** Which statechart of `GET /machines` the state value belongs to. */
  machine: string;
  state: unknown;
  attempts: number;
  reconnects: number;
  lastEventId: string | undefined;
}

/** A stdio session's server process. */
export interface HostData {
  machine: string;
  state: unknown;
  restarts: number;
  attempt: number;
}

export interface SessionData {
  id: string;
  state: unknown;
  status: string | undefined;
  protocolVersion: string | undefined;
  upstreamEra: string | undefined;
  ageMs: number | undefined;
  idleMs: number | undefined;
  expiresInMs: number | undefined;
  reinitializations: number;
  streams: StreamData[];
  host: HostData | undefined;
  eventLog: { events: number; bytes: number | undefined };
}

/** Statechart definitions by machine id (`GET /machines`: each machine's toJSON()). */
export type MachineDefinitions = Record<string, JsonRecord>;

const finite = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const count = (value: unknown): number => finite(value) ?? 0;
const text = (value: unknown): string | undefined =>
  value === null || value === undefined || value === '' ? undefined : String(value);

/** Before streams named their machine, every stream was a connection. */
const DEFAULT_STREAM_MACHINE = 'connection';
const DEFAULT_HOST_MACHINE = 'process';

function readStream(raw: JsonRecord): StreamData {
  return {
    stream: String(raw.stream),
    kind: text(raw.kind) ?? '',
    machine: text(raw.machine) ?? DEFAULT_STREAM_MACHINE,
    state: raw.state,
    attempts: count(raw.attempts),
    reconnects: count(raw.reconnects),
    lastEventId: text(raw.lastEventId),
  };
}

function readHost(raw: unknown): HostData | undefined {
  if (!isRecord(raw)) return undefined;
  return {
    machine: text(raw.machine) ?? DEFAULT_HOST_MACHINE,
    state: raw.state,
    restarts: count(raw.restarts),
    attempt: count(raw.attempt),
  };
}

function readSession(raw: JsonRecord, id: string): SessionData {
  const log = isRecord(raw.eventLog) ? raw.eventLog : {};
  const streams = Array.isArray(raw.streams) ? raw.streams.filter(isRecord) : [];
  return {
    id,
    state: raw.state,
    status: text(raw.status),
    protocolVersion: text(raw.protocolVersion),
    upstreamEra: text(raw.upstreamEra),
    ageMs: finite(raw.ageMs),
    idleMs: finite(raw.idleMs),
    expiresInMs: finite(raw.expiresInMs),
    reinitializations: count(raw.reinitializations),
    streams: streams.map(readStream),
    host: readHost(raw.host),
    eventLog: { events: count(log.events), bytes: finite(log.bytes) },
  };
}

/** The sessions in a `GET /sessions` body or a `sessions` event; entries without an id are left out. */
export function readSessions(body: unknown): SessionData[] {
  if (!Array.isArray(body)) return [];
  return body.flatMap((raw) =>
    isRecord(raw) && raw.id !== undefined && raw.id !== null ? [readSession(raw, String(raw.id))] : [],
  );
}

/** The definitions in a `GET /machines` body; anything that is not an object is left out. */
export function readMachines(body: unknown): MachineDefinitions {
  if (!isRecord(body)) return {};
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, JsonRecord] => isRecord(entry[1])));
}

export function totalReconnects(session: SessionData): number {
  return session.streams.reduce((sum, stream) => sum + stream.reconnects, 0);
}
