/**
 * The admin API as the page calls it. Every URL is relative to the page, so it keeps working
 * behind a reverse proxy under a path prefix, and carries the page's own `?token=` on: an
 * `EventSource` cannot send an Authorization header, so the listener accepts the token in
 * the query string (src/admin/admin-server.ts).
 */
import { type MachineDefinitions, readMachines, readSessions, type SessionData } from './data.js';

const token = new URLSearchParams(location.search).get('token');

/** The URL of an admin endpoint (`machines`, `sessions/<id>`, `events`), with the token. */
export function apiUrl(path: string): string {
  const url = new URL(path, location.href);
  url.search = '';
  url.hash = '';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

/** A failed admin request, with the message the page shows. */
export class AdminApiError extends Error {
  constructor(readonly status: number) {
    super(
      status === 401 || status === 403
        ? 'Unauthorized: open this page with ?token=<admin token>.'
        : `Admin API unreachable (${status}). Retrying\u2026`,
    );
    this.name = 'AdminApiError';
  }
}

async function getJson(path: string): Promise<unknown> {
  const response = await fetch(apiUrl(path), { headers: { accept: 'application/json' } });
  if (!response.ok) throw new AdminApiError(response.status);
  return response.json();
}

export async function fetchMachines(): Promise<MachineDefinitions> {
  return readMachines(await getJson('machines'));
}

export async function fetchSessions(): Promise<SessionData[]> {
  return readSessions(await getJson('sessions'));
}

/** `GET /sessions/:id`: the session's and its streams' contexts, payloads redacted. */
export async function fetchSessionDetail(id: string): Promise<unknown> {
  return getJson(`sessions/${encodeURIComponent(id)}`);
}

export type LiveStatus = { text: string; tone: 'ok' | 'warn' | 'bad' };

export interface LiveHandlers {
  sessions(list: SessionData[]): void;
  status(status: LiveStatus): void;
}

const LIVE: LiveStatus = { text: 'live', tone: 'ok' };
const RECONNECTING: LiveStatus = { text: 'reconnecting\u2026', tone: 'warn' };
const failure = (error: unknown): LiveStatus => ({
  text: error instanceof Error ? error.message : String(error),
  tone: 'bad',
});

/** Without EventSource (very old browsers), the page polls `GET /sessions` every 2 s. */
function poll(handlers: LiveHandlers): void {
  handlers.status({ text: 'polling', tone: 'warn' });
  const loop = () => {
    fetchSessions()
      .then(handlers.sessions, (error: unknown) => handlers.status(failure(error)))
      .finally(() => setTimeout(loop, 2000));
  };
  loop();
}

/**
 * Follows `GET /events` (a `sessions` event with the whole list on connect and after every
 * change). The browser retries a dropped stream by itself; when it gives up (the listener
 * answered with an error), one `GET /sessions` tells why, and a new stream is tried in 3 s.
 */
export function followSessions(handlers: LiveHandlers): void {
  if (typeof EventSource === 'undefined') {
    poll(handlers);
    return;
  }
  const source = new EventSource(apiUrl('events'));
  source.addEventListener('open', () => handlers.status(LIVE));
  source.addEventListener('sessions', (event) => {
    handlers.status(LIVE);
    let list: SessionData[];
    try {
      list = readSessions(JSON.parse(String(event.data)));
    } catch {
      handlers.status({ text: 'bad data from /events', tone: 'bad' });
      return;
    }
    handlers.sessions(list);
  });
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) {
      handlers.status(RECONNECTING);
      return;
    }
    source.close();
    fetchSessions().then(
      (list) => {
        handlers.sessions(list);
        handlers.status(RECONNECTING);
      },
      (error: unknown) => handlers.status(failure(error)),
    );
    setTimeout(() => followSessions(handlers), 3000);
  });
}
