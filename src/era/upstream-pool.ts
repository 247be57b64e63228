/**
 * The 2025 upstream sessions a 2026-07-28 client's requests go on: a session-era server
 * negotiates capabilities once per session, so one pooled session per credential and
 * declared capabilities (and client info), opened on demand with an `initialize` built from
 * the request's envelope, kept while used, ended when idle like any session (each is a
 * session actor with its connection children, visible in the admin page). The pooled
 * session's messages are routed by the stream that carried them: a call's, or the
 * standalone stream for listens.
 */

import { createHash } from 'node:crypto';
import type { createActor } from 'xstate';
import { errorResponse, isRecord, isResponse } from '../../machines/jsonrpc.js';
import type { pendingCallMachine } from '../../machines/pending-call.machine.js';
import type { UpstreamTarget } from '../../machines/session.types.js';
import { STANDALONE_STREAM } from '../../machines/stream-table.js';
import type { CredentialPolicy } from '../auth/credentials.js';
import { type JsonRpcMessage, ShepherdClientTransport } from '../client/client-transport.js';
import type { SupervisorRuntime } from '../session/supervisor-runtime.js';

export type Message = Record<string, unknown>;
export type PendingCall = ReturnType<typeof createActor<typeof pendingCallMachine>>;

/** The 2025 revision the proxy opens pooled sessions with. */
export const POOL_PROTOCOL_VERSION = '2025-11-25';

/** A stable text of a JSON value (sorted keys), for pool keys. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface PoolRequest {
  credentialId: string;
  headers: Readonly<Record<string, string>>;
  clientCapabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown> | undefined;
}

export class PooledSession {
  /** The upstream's initialize result, once it answered. */
  readonly ready: Promise<Message>;
  readonly calls = new Map<string, { actor: PendingCall; stream?: number }>();
  private readonly callOfStream = new Map<number, string>();
  /** Who wants the standalone stream's messages (subscriptions/listen). */
  readonly listeners = new Set<(message: Message) => void>();
  /** Told once when the session ends (a listen closes gracefully). */
  readonly closeListeners = new Set<() => void>();
  private nextId = 0;
  private waiting = new Map<string, (message: Message) => void>();
  closed = false;

  constructor(
    readonly key: string,
    readonly transport: ShepherdClientTransport,
    request: PoolRequest,
    private headers: Readonly<Record<string, string>>,
  ) {
    transport.onStreamMessage = (message, stream) => this.route(message, stream);
    this.ready = this.open(request);
  }

  /** The credential's latest headers go with what this session sends next. */
  useHeaders(headers: Readonly<Record<string, string>>): void {
    this.headers = headers;
  }

  get currentHeaders(): Readonly<Record<string, string>> {
    return this.headers;
  }

  /** An id no other request of this session has. */
  mintId(): string {
    this.nextId += 1;
    return `mcp-shepherd-${this.nextId}`;
  }

  /** Sends a request of the proxy's own and resolves with its response. */
  ask(method: string, params: Message): Promise<Message> {
    const id = this.mintId();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.transport.send({ jsonrpc: '2.0', id, method, params }).catch((error: unknown) => {
        this.waiting.delete(id);
        reject(error);
      });
    });
  }

  /** Starts a call: its upstream messages go to `actor`. */
  async startCall(upstreamId: string, actor: PendingCall, message: JsonRpcMessage): Promise<void> {
    const call: { actor: PendingCall; stream?: number } = { actor };
    this.calls.set(upstreamId, call);
    actor.subscribe({ complete: () => this.endCall(upstreamId) });
    await this.transport.send(message, {
      onStream: (stream: number) => {
        call.stream = stream;
        this.callOfStream.set(stream, upstreamId);
      },
    });
  }

  send(message: Message): Promise<void> {
    return this.transport.send(message as JsonRpcMessage);
  }

  private endCall(upstreamId: string): void {
    const call = this.calls.get(upstreamId);
    this.calls.delete(upstreamId);
    if (call?.stream !== undefined) this.callOfStream.delete(call.stream);
  }

  private async open(request: PoolRequest): Promise<Message> {
    const result = await this.ask('initialize', {
      protocolVersion: POOL_PROTOCOL_VERSION,
      capabilities: request.clientCapabilities,
      clientInfo: request.clientInfo ?? { name: 'mcp-shepherd', version: '0.1.0' },
    });
    if (!isRecord(result.result)) throw new Error(`the upstream refused initialize: ${JSON.stringify(result.error)}`);
    await this.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // Log messages are filtered per request by the proxy: the session gets them all.
    const capabilities = isRecord(result.result.capabilities) ? result.result.capabilities : {};
    if ('logging' in capabilities) await this.ask('logging/setLevel', { level: 'debug' }).catch(() => undefined);
    return result.result;
  }

  private route(message: JsonRpcMessage, stream: number): void {
    const id = message.id;
    if (isResponse(message) && (typeof id === 'string' || typeof id === 'number')) {
      const waiter = this.waiting.get(String(id));
      if (waiter) {
        this.waiting.delete(String(id));
        waiter(message);
        return;
      }
      const call = this.calls.get(String(id));
      if (call) {
        call.actor.send({ type: 'upstream.message', message });
        return;
      }
    }
    const upstreamId = this.callOfStream.get(stream);
    const call = upstreamId === undefined ? undefined : this.calls.get(upstreamId);
    if (call) {
      call.actor.send({ type: 'upstream.message', message });
      return;
    }
    if (stream === STANDALONE_STREAM && typeof message.method === 'string') {
      if ('id' in message) {
        // A request outside any call cannot reach a 2026-07-28 client.
        void this.send(
          errorResponse(message.id, -32601, 'mcp-shepherd: no 2026-07-28 client can answer this outside a call'),
        );
        return;
      }
      for (const listener of this.listeners) listener(message);
    }
  }
}

export class UpstreamPool {
  private readonly sessions = new Map<string, PooledSession>();

  constructor(
    private readonly runtime: SupervisorRuntime,
    private readonly upstream: UpstreamTarget,
    private readonly credentials: CredentialPolicy,
  ) {}

  static keyOf(request: PoolRequest): string {
    return createHash('sha256')
      .update(request.credentialId)
      .update('\0')
      .update(stable(request.clientCapabilities))
      .update('\0')
      .update(stable(request.clientInfo ?? null))
      .digest('base64url')
      .slice(0, 22);
  }

  get(key: string): PooledSession | undefined {
    const session = this.sessions.get(key);
    return session && !session.closed ? session : undefined;
  }

  /** The pooled session for this credential and envelope, opened if there is none. */
  sessionFor(request: PoolRequest): PooledSession {
    const key = UpstreamPool.keyOf(request);
    const existing = this.get(key);
    if (existing) {
      existing.useHeaders(request.headers);
      return existing;
    }
    let session: PooledSession | undefined;
    const transport = new ShepherdClientTransport(this.runtime, this.upstream, this.credentials, {
      requestHeaders: () => ({ ...(session?.currentHeaders ?? request.headers) }),
    });
    session = new PooledSession(key, transport, request, request.headers);
    const created = session;
    transport.onclose = () => {
      created.closed = true;
      if (this.sessions.get(key) === created) this.sessions.delete(key);
      for (const call of created.calls.values())
        call.actor.send({ type: 'upstream.ended', detail: 'the upstream session ended' });
    };
    created.ready.catch(() => {
      created.closed = true;
      if (this.sessions.get(key) === created) this.sessions.delete(key);
      void transport.close().catch(() => {});
    });
    this.sessions.set(key, created);
    return created;
  }
}
