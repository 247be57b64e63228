/**
 * The session's own SSE event ids: `<tag>.<stream>.<seq>`.
 *
 * - `tag` is random per session, so an id from another session is recognised and refused
 *   instead of being answered with this session's events.
 * - `stream` is the client-facing stream number (0 = the standalone GET stream, 1.. = POST
 *   response streams): "event IDs ... SHOULD encode sufficient information to identify the
 *   originating stream" (2025-11-25 transports, Resumability), so a resume replays only it.
 * - `seq` is one counter for the whole session: ids are unique across streams and keep
 *   increasing across upstream reconnects, and the log can find an id by arithmetic.
 */
export interface EventIdParts {
  tag: string;
  stream: number;
  seq: number;
}

export function formatEventId(tag: string, stream: number, seq: number): string {
  return `${tag}.${stream}.${seq}`;
}

export function parseEventId(id: string): EventIdParts | undefined {
  const match = /^([A-Za-z0-9_-]{1,64})\.(\d{1,9})\.(\d{1,15})$/.exec(id);
  if (!match) return undefined;
  return { tag: match[1] as string, stream: Number(match[2]), seq: Number(match[3]) };
}
