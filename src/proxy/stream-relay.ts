/**
 * Relays one of a session's streams to one client HTTP response: a JSON answer passed
 * through, or an SSE stream written with the session's own event ids, keep-alives and (from
 * 2025-11-25) a priming event with a `retry:` hint, until the stream ends, the session ends,
 * the client goes or (polling) the proxy closes it. A client that goes early loses nothing:
 * the session keeps logging the stream for a resume.
 */
import type { ServerResponse } from 'node:http';
import type { Subscription } from 'xstate';
import type { RequestId } from '../../machines/connection.types.js';
import { formatEventId } from '../../machines/event-id.js';
import type { SessionActorRef } from '../../machines/session.machine.js';
import type { SessionEmitted } from '../../machines/session.types.js';
import { SseWriter } from '../sse/sse-writer.js';
import type { LoggedEvent } from '../store/memory-event-log.js';
import { sendError, sendJson } from './http.js';
import { errorBody, PROXY_ERROR, supportsPriming } from './protocol.js';

/** How the proxy writes SSE to its clients (the same for every stream). */
export interface SseClientPolicy {
  /** A `: keep-alive` comment this often; 0 disables. */
  keepAliveMs: number;
  /** The `retry:` sent with each priming event: how long a client waits before it resumes. */
  retryMs: number;
  /**
   * Close a 2025-11-25 client's SSE stream after it has been open this long (0: never); the
   * client resumes with Last-Event-ID from the proxy's log (SEP-1699 polling), whatever the
   * upstream does.
   */
  pollMs: number;
}

export interface RelayOptions {
  session: SessionActorRef;
  res: ServerResponse;
  /** `request`: a POST's answer; `listen`: the standalone GET; `resume`: a GET with Last-Event-ID. */
  kind: 'request' | 'listen' | 'resume';
  /** Known up front (initialize, resume); otherwise learnt from `session.stream.opened` for `key`. */
  stream?: number | undefined;
  key?: string | undefined;
  requestIds?: readonly RequestId[] | undefined;
  /** Events to write first (resume). */
  replay?: readonly LoggedEvent[] | undefined;
  headers: Record<string, string>;
  sse: SseClientPolicy;
  /** The version to judge priming by before the session has negotiated one (initialize). */
  requestedVersion?: string | undefined;
}

type Emitted<T extends SessionEmitted['type']> = Extract<SessionEmitted, { type: T }>;

export class StreamRelay {
  private stream: number | undefined;
  private mode: 'pending' | 'json' | 'sse' | 'done' = 'pending';
  private writer: SseWriter | undefined;
  private readonly subscriptions: Subscription[] = [];
  private attached = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  /** Resolves when the relay has finished with the response. */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly options: RelayOptions) {
    this.stream = options.stream;
    const { session, res } = options;
    const on = <T extends SessionEmitted['type']>(type: T, handler: (event: Emitted<T>) => void) =>
      this.subscriptions.push(session.on(type, handler as (event: SessionEmitted) => void));
    on('session.stream.opened', (e) => {
      if (this.stream === undefined && e.key === options.key) this.stream = e.stream;
    });
    on('session.refused', (e) => {
      if (e.key !== options.key || this.mode !== 'pending') return;
      const status = REFUSAL_STATUS[e.code];
      sendError(res, status, e.message, { headers: status === 400 ? {} : { 'retry-after': '1' } });
      this.finish();
    });
    on('session.stream.status', (e) => {
      if (e.stream !== this.stream || this.mode !== 'pending' || e.state !== 'open') return;
      if (e.status.bodyKind === 'json') this.mode = 'json';
      else this.startSse();
    });
    on('session.event', (e) => {
      if (e.stream !== this.stream) return;
      if (this.mode === 'json') {
        // No attach: the answer goes out at once, and the stream itself keeps the session busy.
        sendJson(res, 200, e.data, options.headers);
        this.finish();
      } else if (this.mode === 'sse') this.writer?.event(e.data, e.eventId);
    });
    on('session.stream.ended', (e) => {
      if (e.stream === this.stream) this.ended(e);
    });
    on('session.ended', () => {
      if (this.mode === 'pending') sendError(res, 404, sessionGoneMessage);
      this.finish();
    });
    res.on('close', () => this.finish());
  }

  /** Starts writing at once: a resume, or a listen to a standalone stream already open. */
  startNow(): void {
    this.startSse();
    for (const event of this.options.replay ?? []) this.writer?.event(event.data, event.eventId);
  }

  /** Ends the relay now (a resume of a stream that has already finished). */
  close(): void {
    this.finish();
  }

  private startSse(): void {
    if (this.mode !== 'pending') return;
    this.mode = 'sse';
    this.attach();
    const { sse, headers, kind } = this.options;
    this.writer = new SseWriter(this.options.res, { keepAliveMs: sse.keepAliveMs, headers });
    this.writer.start();
    const { context } = this.options.session.getSnapshot();
    if (!supportsPriming(context.protocolVersion ?? this.options.requestedVersion) || this.stream === undefined) return;
    // A resume needs no priming: its replayed events carry ids, and a priming id here could
    // repeat the id of one of them; the client already has a cursor.
    if (kind !== 'resume') {
      // "The server SHOULD immediately send an SSE event consisting of an event ID and an
      // empty data field in order to prime the client to reconnect" (2025-11-25, SEP-1699).
      this.writer.event('', formatEventId(context.config.eventTag, this.stream, context.nextSeq - 1), sse.retryMs);
    }
    // "The server MAY close the connection after sending the priming event"; the client
    // "MUST respect the retry field" and resume, so nothing is lost.
    if (sse.pollMs > 0) this.pollTimer = setTimeout(() => this.finish(), sse.pollMs);
  }

  private ended(e: Emitted<'session.stream.ended'>): void {
    const { res, requestIds = [] } = this.options;
    if (this.mode === 'sse') {
      // Requests the stream never answered get an error each, so no client call hangs.
      for (const id of e.unanswered) {
        this.writer?.event(JSON.stringify(errorBody(PROXY_ERROR, streamEndedMessage(e), id)));
      }
    } else if (this.mode === 'pending' || this.mode === 'json') {
      const id = requestIds.length === 1 ? (requestIds[0] ?? null) : null;
      if (e.state === 'closed' && requestIds.length === 0) {
        // "the server MUST return HTTP status code 202 Accepted with no body".
        res.writeHead(202, this.options.headers).end();
      } else if (e.state === 'expired' || e.state === 'stopped') sendError(res, 404, sessionGoneMessage, { id });
      else if ((e.status === 405 || e.status === 404) && this.options.kind === 'listen') {
        // A stateless upstream may have no GET route at all (404): either way, no stream.
        sendError(res, 405, 'The upstream server does not offer a server-to-client stream (GET).', {
          headers: { allow: 'POST, DELETE' },
        });
      } else if (e.status !== undefined) {
        // The proxy's session still exists: an upstream 404 (without a session to lose) must
        // not read as "session not found" to the client.
        sendError(res, e.status === 404 ? 502 : e.status, `Upstream answered: ${e.detail ?? e.status}`, { id });
      } else sendError(res, 502, streamEndedMessage(e), { id });
    }
    this.finish();
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.options.session.send({ type: 'session.client.attach' });
  }

  private finish(): void {
    if (this.mode === 'done') return;
    this.mode = 'done';
    clearTimeout(this.pollTimer);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.writer?.end();
    if (this.attached) this.options.session.send({ type: 'session.client.detach' });
    this.resolveDone();
  }
}

const REFUSAL_STATUS: Record<Emitted<'session.refused'>['code'], number> = {
  'too-many-streams': 429,
  'not-initialized': 400,
  reinitializing: 503,
};

const sessionGoneMessage = 'Session not found: it ended or expired. Start a new session with initialize.';

function streamEndedMessage(e: Emitted<'session.stream.ended'>): string {
  return `The upstream stream ended before answering (${e.state}${e.reason ? `: ${e.reason}` : ''}${
    e.detail ? `, ${e.detail}` : ''
  }).`;
}
