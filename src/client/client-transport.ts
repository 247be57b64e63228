/**
 * A session supervisor behind the SDK's `Transport` interface: an SDK `Client` (1.x, or 2.x
 * in its legacy mode) gets the proxy's session without HTTP in between. Each message the
 * client sends becomes a command to its session actor; everything the session forwards
 * reaches `onmessage` once, in order, across upstream cuts, stalls, 503s and restarts,
 * because the same session and connection machines do the work as in the proxy.
 *
 * The structural types below are the SDK's (shared/transport.ts), so that this package does
 * not depend on the SDK at run time.
 */
import { randomUUID } from 'node:crypto';
import type { RequestId } from '../../machines/connection.types.js';
import type { LoggedEvent } from '../../machines/event-log.js';
import type { Forwarded, UpstreamTarget } from '../../machines/session.types.js';
import { STANDALONE_STREAM } from '../../machines/stream-table.js';
import { type CredentialPolicy, forwardedFromHeaders } from '../auth/credentials.js';
import { ProtocolViolationError, SessionGoneError, type ShepherdError } from '../errors.js';
import { parseBody } from '../proxy/protocol.js';
import { errorForRefusal } from '../proxy/refusals.js';
import type { SessionHandle, StreamEvent } from '../session/session-handle.js';
import { errorForEnd } from '../session/stream-end.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';

/** A JSON-RPC 2.0 message as the SDK passes it. */
export type JsonRpcMessage = { jsonrpc: '2.0' } & Record<string, unknown>;

export interface ClientTransportOptions {
  /** Headers on every upstream request of the session (a service's own credential). */
  headers?: Record<string, string> | undefined;
  /**
   * Headers for each message, asked for as it is sent (a token that refreshes): they go
   * upstream with what the message causes, and the latest the upstream accepted goes with the
   * session's own requests (its GET stream, a re-initialization, the DELETE).
   */
  requestHeaders?: (() => Record<string, string> | Promise<Record<string, string>>) | undefined;
}

type Deliverable = { message?: unknown; data?: string };

export class ShepherdClientTransport {
  onmessage?: ((message: JsonRpcMessage, extra?: unknown) => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onclose?: (() => void) | undefined;
  /**
   * Instead of `onmessage`, for a caller that needs to know which of the session's streams
   * carried each message (the 2026-07-28 front: a request's messages are those of its stream).
   */
  onStreamMessage?: ((message: JsonRpcMessage, stream: number) => void) | undefined;
  /** How the session ended, once it has: asked for (`terminated`), or `expired` with why. */
  closeReason: { state: 'terminated' | 'expired'; reason: string } | undefined;
  private handle: SessionHandle | undefined;
  private listening = false;
  private closed = false;
  private readonly stops = new Set<() => void>();
  private protocolVersionValue: string | undefined;
  private readonly outbox: Array<{ message: JsonRpcMessage; stream: number }> = [];
  private pumping: Promise<void> | undefined;

  constructor(
    private readonly runtime: SupervisorRuntime,
    private readonly upstream: UpstreamTarget,
    private readonly credentials: CredentialPolicy,
    private readonly options: ClientTransportOptions = {},
    private readonly onFinished: () => Promise<void> = async () => {},
  ) {}

  /** The session's id in the supervisor (not the upstream's, which stays inside it). */
  get sessionId(): string | undefined {
    return this.handle?.sessionId;
  }

  get protocolVersion(): string | undefined {
    return this.protocolVersionValue ?? this.handle?.protocolVersion;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersionValue = version;
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('mcp-shepherd: this transport was closed; make a new one');
  }

  /** `options.onStream` (the 2026-07-28 front) learns which stream carries what the message causes. */
  async send(message: JsonRpcMessage, options?: object): Promise<void> {
    const onStream = (options as { onStream?: (stream: number) => void } | undefined)?.onStream;
    if (this.closed) throw new SessionGoneError('The session is closed; connect a new transport.');
    const body = JSON.stringify(message);
    const parsed = parseBody(body);
    if (!parsed.ok) throw parsed.error;
    const forward = await this.forwarded();
    const { initialize, requestIds, isInitializedNotification } = parsed.body;
    if (initialize) {
      this.initialize(body, initialize.requestId, forward);
      return;
    }
    const handle = this.handle;
    if (handle === undefined || !handle.alive) {
      throw new ProtocolViolationError('SHEPHERD_SESSION_ID_REQUIRED', 'Send initialize first: there is no session.');
    }
    const key = randomUUID();
    await new Promise<void>((resolve, reject) => {
      const stop = handle.onKey(key, {
        keyed: (event) => {
          stop();
          if (event.type === 'session.stream.opened') {
            onStream?.(event.stream);
            this.follow(event.stream, requestIds);
            resolve();
          } else if (event.type === 'session.refused') {
            const error = errorForRefusal(event.code, event.message);
            // A request gets its error as its answer; a notification or a response cannot.
            if (requestIds.length === 0) reject(error);
            else this.answerWithError(requestIds, error);
            resolve();
          }
        },
        ended: () => reject(new SessionGoneError()),
      });
      handle.send({
        type: 'session.request',
        key,
        body,
        requestIds,
        replayOnReinit: isInitializedNotification,
        forward,
      });
    });
    // The server's own messages come on the standalone stream, once the session is initialized.
    if (isInitializedNotification || !this.listening) this.listen(forward);
  }

  /** Ends the session (DELETE upstream) and resolves once it is over. */
  async close(): Promise<void> {
    if (this.closed) return;
    const handle = this.handle;
    if (handle?.alive) {
      handle.send({ type: 'session.delete', ...(await this.forwardedOrNone()) });
      await handle.ended();
    }
    await this.finish();
  }

  /** The SDK's name for ending the session on purpose. */
  terminateSession(): Promise<void> {
    return this.close();
  }

  private initialize(body: string, requestId: RequestId, forward: Forwarded | undefined): void {
    if (this.handle?.alive) {
      throw new ProtocolViolationError(
        'SHEPHERD_SESSION_ID_NOT_ALLOWED',
        'This transport already has a session; a new initialize needs a new transport.',
      );
    }
    const created = this.runtime.createSession({ body, requestId, forward }, { upstream: this.upstream });
    if (!created.ok) throw created.error;
    this.handle = created.handle;
    const handle = created.handle;
    void handle.ended().then(() => {
      this.closeReason = handle.endedAs;
      if (!this.closed && handle.endedAs?.state === 'expired') {
        this.onerror?.(new SessionGoneError(`The session expired (${handle.endedAs.reason}).`));
      }
      return this.finish();
    });
    this.follow(created.initializeStream.stream, [requestId]);
  }

  /**
   * Attaches to the standalone stream: what the server sent before is replayed from the log,
   * then it is followed live. Events of the stream that come while the log is read are held
   * and the ones after the replay's position are delivered after it.
   */
  private listen(forward: Forwarded | undefined): void {
    const handle = this.handle;
    if (handle === undefined || this.listening) return;
    this.listening = true;
    const key = randomUUID();
    const held: StreamEvent[] = [];
    const stopHolding = this.track(handle.onStream(STANDALONE_STREAM, { stream: (event) => held.push(event) }));
    const stopKey = this.track(
      handle.onKey(key, {
        keyed: (event) => {
          stopKey();
          stopHolding();
          if (event.type === 'session.refused') {
            this.listening = false;
            // An upstream without a server-to-client stream is normal; anything else is worth telling.
            if (event.code !== 'no-standalone-stream') this.onerror?.(errorForRefusal(event.code, event.message));
            return;
          }
          if (event.type === 'session.resumed') {
            for (const logged of event.events) this.deliver(logged, STANDALONE_STREAM);
            for (const e of held)
              if (e.type === 'session.event' && e.seq > event.throughSeq) this.deliver(e, STANDALONE_STREAM);
            if (event.live) this.follow(event.stream, [], () => this.stoppedListening());
            else this.stoppedListening();
            return;
          }
          for (const e of held) if (e.type === 'session.event') this.deliver(e, STANDALONE_STREAM);
          this.follow(event.stream, [], () => this.stoppedListening());
        },
      }),
    );
    handle.send({ type: 'session.listen', key, forward });
  }

  /** The standalone stream ended: the next message sent listens again. */
  private stoppedListening(): void {
    this.listening = false;
  }

  /** Delivers a stream's events until it ends; its unanswered requests get an error each. */
  private follow(stream: number, requestIds: readonly RequestId[], onEnd?: () => void): void {
    const handle = this.handle;
    if (handle === undefined) return;
    const stop = this.track(
      handle.onStream(stream, {
        stream: (event) => {
          if (event.type === 'session.event') {
            this.deliver(event, stream);
          } else if (event.type === 'session.stream.status') {
            const { state, reason, delayMs } = event.status;
            if (state === 'waiting') {
              this.onerror?.(
                new Error(`upstream stream ${stream} ${reason ?? 'interrupted'}; resuming in ${delayMs ?? 0} ms`),
              );
            }
          } else {
            stop();
            const kind = stream === STANDALONE_STREAM ? 'listen' : 'request';
            if (event.unanswered.length > 0) this.answerWithError(event.unanswered, errorForEnd(event, kind), stream);
            else if (requestIds.length > 0 && event.answer) {
              this.answerWithError(requestIds, errorForEnd(event, kind), stream);
            }
            onEnd?.();
          }
        },
      }),
    );
  }

  private answerWithError(ids: readonly RequestId[], error: ShepherdError, stream = -1): void {
    for (const id of ids) this.enqueue(error.toJsonRpc(id) as unknown as JsonRpcMessage, stream);
  }

  /** One event to the client: each message of it (a 2025-03-26 batch carries several). */
  private deliver(event: Deliverable | LoggedEvent, stream: number): void {
    const message =
      'message' in event && event.message !== undefined ? event.message : JSON.parse(event.data ?? 'null');
    for (const item of Array.isArray(message) ? message : [message]) {
      if (item !== null && typeof item === 'object') this.enqueue(item as JsonRpcMessage, stream);
    }
  }

  /**
   * Messages reach `onmessage` one per turn of the event loop, in order. The SDK runs a
   * notification's handler in a later microtask but settles a response at once: a progress
   * notification and its request's response delivered in one go would find the progress
   * handler gone. Over HTTP the stream reader's own awaits space them out; here this does.
   */
  private enqueue(message: JsonRpcMessage, stream: number): void {
    this.outbox.push({ message, stream });
    this.pumping ??= this.pump();
  }

  private async pump(): Promise<void> {
    for (let next = this.outbox.shift(); next !== undefined; next = this.outbox.shift()) {
      try {
        if (this.onStreamMessage) this.onStreamMessage(next.message, next.stream);
        else this.onmessage?.(next.message);
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.pumping = undefined;
  }

  private track(stop: () => void): () => void {
    const once = () => {
      this.stops.delete(once);
      stop();
    };
    this.stops.add(once);
    return once;
  }

  private async forwarded(): Promise<Forwarded | undefined> {
    const headers = await this.options.requestHeaders?.();
    if (headers === undefined) return undefined;
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    return forwardedFromHeaders(lower, { ...this.credentials, forwardHeaders: Object.keys(lower) });
  }

  private async forwardedOrNone(): Promise<{ forward?: Forwarded }> {
    const forward = await this.forwarded();
    return forward ? { forward } : {};
  }

  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.stops]) stop();
    // What was already on its way (the errors of requests the end left unanswered) arrives first.
    await this.pumping;
    this.onclose?.();
    await this.onFinished();
  }
}
