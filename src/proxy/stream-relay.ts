/**
 * Relays one of a session's streams to one client HTTP response: a JSON answer passed
 * through, or an SSE stream written with the session's own event ids, keep-alives and (from
 * 2025-11-25) a priming event with a `retry:` hint, until the stream ends, the session ends,
 * the client goes or (polling) the proxy closes it. A client that goes early loses nothing:
 * the session keeps logging the stream for a resume. Everything it knows of the session
 * comes from the session's own events, through its handle.
 */
import type { ServerResponse } from 'node:http';
import type { RequestId } from '../../machines/connection.types.js';
import type { SessionCommand, SessionEmitted } from '../../machines/session.types.js';
import { SessionGoneError, type ShepherdError, UpstreamUnavailableError } from '../errors.js';
import type { KeyedEvent, SessionHandle, StreamEvent } from '../session/session-handle.js';
import { errorForEnd, streamEndedMessage } from '../session/stream-end.js';
import { SseWriter } from '../sse/sse-writer.js';
import { sendAnswer, sendError, sendJson } from './http.js';
import { supportsPriming } from './protocol.js';
import { errorForRefusal } from './refusals.js';

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
  handle: SessionHandle;
  res: ServerResponse;
  /** `request`: a POST's answer; `listen`: the standalone GET; `resume`: a GET with Last-Event-ID. */
  kind: 'request' | 'listen' | 'resume';
  /** The client request's handle in the session's events. */
  key: string;
  requestIds?: readonly RequestId[] | undefined;
  headers: Record<string, string>;
  sse: SseClientPolicy;
  /** Known up front: the initialize stream, which the session opened as it started. */
  opened?: { stream: number; primingId: string } | undefined;
  /** The version to judge priming by before the session has negotiated one (initialize). */
  requestedVersion?: string | undefined;
  /** Points an upstream 401's `WWW-Authenticate` at the proxy's own resource metadata. */
  challenge?: ((header: string) => string) | undefined;
}

type Emitted<T extends SessionEmitted['type']> = Extract<SessionEmitted, { type: T }>;

export class StreamRelay {
  private stream: number | undefined;
  private primingId: string | undefined;
  private protocolVersion: string | undefined;
  private mode: 'pending' | 'json' | 'sse' | 'done' = 'pending';
  private writer: SseWriter | undefined;
  private readonly stops: Array<() => void> = [];
  /** A resume's view of the session's streams before its answer: events it may have to write. */
  private buffered: StreamEvent[] | undefined;
  private streamEnded = false;
  /** Answered with one JSON body: the client never saw an event id, so it holds no stream. */
  private json = false;
  private writtenToEnd = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  /** Resolves when the relay has finished with the response. */
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly options: RelayOptions) {
    const { handle, res } = options;
    this.stops.push(
      handle.onKey(options.key, {
        keyed: (event) => this.onKeyed(event),
        ended: () => this.sessionEnded(),
      }),
    );
    if (options.opened) this.follow(options.opened.stream, options.opened.primingId, undefined);
    // A GET may be answered from the log: what streams carry meanwhile is kept until then.
    if (options.kind !== 'request') {
      this.buffered = [];
      this.stops.push(handle.onEveryStream({ stream: (event) => this.buffered?.push(event) }));
    }
    res.once('finish', () => {
      this.writtenToEnd = true;
    });
    res.once('close', () => this.clientGone());
  }

  /** Sends the command this relay answers, once it listens for the answer. */
  send(command: SessionCommand): Promise<void> {
    this.options.handle.send(command);
    return this.done;
  }

  private onKeyed(event: KeyedEvent): void {
    if (this.mode === 'done') return;
    if (event.type === 'session.refused') {
      this.fail(errorForRefusal(event.code, event.message));
    } else if (event.type === 'session.stream.opened') {
      this.buffered = undefined;
      this.follow(event.stream, event.primingId, event.protocolVersion);
    } else this.resumed(event);
  }

  /** From now on this relay writes `stream`'s events. */
  private follow(stream: number, primingId: string, protocolVersion: string | undefined): void {
    this.stream = stream;
    this.primingId = primingId;
    this.protocolVersion = protocolVersion;
    this.stops.push(
      this.options.handle.onStream(stream, {
        stream: (event) => this.onStream(event),
        ended: () => this.sessionEnded(),
      }),
    );
  }

  private onStream(event: StreamEvent): void {
    if (event.type === 'session.stream.status') {
      if (this.mode !== 'pending' || event.state !== 'open') return;
      if (event.status.bodyKind === 'json') {
        this.mode = 'json';
        this.json = true;
      } else this.startSse();
    } else if (event.type === 'session.event') {
      if (this.mode === 'json') {
        sendJson(this.options.res, 200, event.data, this.options.headers);
        this.finish();
      } else if (this.mode === 'sse') this.writer?.event(event.data, event.eventId);
    } else this.ended(event);
  }

  /**
   * The log's answer to a resume: the replay, then what the stream carried while the log was
   * read (events the replay may not have had), then the live stream if it goes on.
   */
  private resumed(event: Emitted<'session.resumed'>): void {
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    this.protocolVersion = event.protocolVersion;
    this.startSse(false);
    let written = 0;
    // The client has its cursor; it gets the retry hint (below) and what it missed.
    for (const logged of event.events) {
      this.writer?.event(logged.data, logged.eventId);
      written++;
    }
    for (const live of buffered) {
      if (live.type !== 'session.event' || live.stream !== event.stream || live.seq <= event.throughSeq) continue;
      this.writer?.event(live.data, live.eventId);
      written++;
    }
    if (this.primes()) {
      // Nothing replayed, but the log was read past the client's cursor: prime it there.
      if (written === 0 && event.throughSeq > event.afterSeq) {
        this.writer?.event('', event.primingId, this.options.sse.retryMs);
      } else this.writer?.retry(this.options.sse.retryMs);
    }
    if (event.live) {
      this.follow(event.stream, event.primingId, event.protocolVersion);
      // What was buffered also holds the stream's end, if it ended before the answer.
      const end = buffered.find((e) => e.type === 'session.stream.ended' && e.stream === event.stream);
      if (end !== undefined && end.type === 'session.stream.ended') this.ended(end);
    } else {
      this.stream = event.stream;
      this.streamEnded = true;
      this.finish();
    }
  }

  private primes(): boolean {
    return supportsPriming(this.protocolVersion ?? this.options.requestedVersion);
  }

  private startSse(prime = true): void {
    if (this.mode !== 'pending') return;
    this.mode = 'sse';
    const { sse, headers } = this.options;
    this.writer = new SseWriter(this.options.res, { keepAliveMs: sse.keepAliveMs, headers });
    this.writer.start();
    if (!this.primes()) return;
    // "The server SHOULD immediately send an SSE event consisting of an event ID and an
    // empty data field in order to prime the client to reconnect" (2025-11-25, SEP-1699).
    if (prime && this.primingId !== undefined) this.writer.event('', this.primingId, sse.retryMs);
    // "The server MAY close the connection after sending the priming event"; the client
    // "MUST respect the retry field" and resume, so nothing is lost.
    if (sse.pollMs > 0) this.pollTimer = setTimeout(() => this.finish(), sse.pollMs);
  }

  private ended(e: Emitted<'session.stream.ended'>): void {
    if (this.mode === 'done') return;
    this.streamEnded = true;
    const { res, requestIds = [] } = this.options;
    if (this.mode === 'sse') {
      // Requests the stream never answered get an error each, so no client call hangs.
      for (const id of e.unanswered) {
        this.writer?.event(
          JSON.stringify(new UpstreamUnavailableError(streamEndedMessage(e), 'SHEPHERD_STREAM_ENDED').toJsonRpc(id)),
        );
      }
    } else if (e.state === 'closed' && requestIds.length === 0) {
      // "the server MUST return HTTP status code 202 Accepted with no body".
      res.writeHead(202, this.options.headers).end();
    } else if (e.answer) {
      // An upstream 401 or 403 reaches the client as it came, its challenge pointed at the
      // proxy's metadata: the client must be able to authorize through the proxy. A refused
      // initialize created no session the client may use: it gets no session id.
      sendAnswer(res, e.answer, this.options.challenge, this.options.opened ? {} : this.options.headers);
    } else {
      this.fail(errorForEnd(e, this.options.kind), requestIds.length === 1 ? (requestIds[0] ?? null) : null);
      return;
    }
    this.finish();
  }

  private fail(error: ShepherdError, id: RequestId | null = null): void {
    sendError(this.options.res, error, id);
    this.finish();
  }

  private sessionEnded(): void {
    if (this.mode === 'pending') this.fail(new SessionGoneError());
    else this.finish();
  }

  /** The client response is over; the session hears of it if the client held a stream. */
  private clientGone(): void {
    this.finish();
    const { handle, key } = this.options;
    if (this.stream === undefined || this.json || !handle.alive) return;
    handle.send({
      type: 'session.client.detach',
      key,
      stream: this.stream,
      delivered: this.writtenToEnd && this.streamEnded,
    });
  }

  private finish(): void {
    if (this.mode === 'done') return;
    this.mode = 'done';
    clearTimeout(this.pollTimer);
    for (const stop of this.stops) stop();
    this.stops.length = 0;
    this.writer?.end();
    this.resolveDone();
  }
}
