/**
 * What a server does on the wire, seen with bare HTTP (no SDK in between), for the quirks
 * section of the compatibility report: what initialize answers, how an unknown session is
 * refused, whether GET is offered, whether SSE events carry ids, and on which stream an
 * elicitation request arrives.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { FrameworkServer } from './types.js';

export interface Observed {
  initialize: string;
  sessionId: string;
  unknownSession: { post: string; get: string; delete: string };
  get: string;
  eventIds: string;
  elicitation: string;
  /** Anything that went wrong while probing. */
  errors: string[];
}

const PROTOCOL = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';
const UNKNOWN = 'matrix-unknown-session';

/** One HTTP response read as it streams: JSON-RPC messages (from a JSON body or SSE `data:`), with SSE ids. */
class Exchange {
  readonly events: Array<{ id: string | undefined; message: unknown }> = [];
  private waiters: Array<() => void> = [];
  private text = '';
  done = false;

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {}

  static async open(url: string, init: RequestInit, timeoutMs = 3000): Promise<Exchange> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await fetch(url, { ...init, signal: abort.signal });
      const exchange = new Exchange(response, abort);
      void exchange.read();
      return exchange;
    } finally {
      clearTimeout(timer);
    }
  }

  get status(): number {
    return this.response.status;
  }

  get contentType(): string {
    return (this.response.headers.get('content-type') ?? '').split(';', 1)[0] ?? '';
  }

  get isSse(): boolean {
    return this.contentType === 'text/event-stream';
  }

  /** Status, content type and the start of the body, in one line. */
  async summary(): Promise<string> {
    if (this.isSse) {
      this.close();
      return `${this.status} ${this.contentType}`;
    }
    await this.until(() => this.done, 1000);
    const text = this.text.trim().replace(/\s+/g, ' ');
    return `${this.status}${this.contentType ? ` ${this.contentType}` : ''}${text ? ` ${text.slice(0, 160)}` : ''}`;
  }

  private async read(): Promise<void> {
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        let message: unknown = event.data;
        try {
          message = event.data ? JSON.parse(event.data) : undefined;
        } catch {}
        this.events.push({ id: event.id, message });
        this.wake();
      },
    });
    try {
      const decoder = new TextDecoder();
      const body = this.response.body;
      if (!body) return;
      for await (const chunk of body) {
        const text = decoder.decode(chunk, { stream: true });
        if (this.isSse) parser.feed(text);
        else this.text += text;
      }
      if (!this.isSse && this.text.trim()) {
        try {
          this.events.push({ id: undefined, message: JSON.parse(this.text) });
        } catch {}
      }
    } catch {
      // aborted or cut: what was read stays
    } finally {
      this.done = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves true once `predicate` holds, false after `timeoutMs` or when the body ended without it. */
  async until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.done || Date.now() >= deadline) return predicate();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  find(predicate: (message: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    for (const { message } of this.events) {
      if (message && typeof message === 'object' && predicate(message as Record<string, unknown>)) {
        return message as Record<string, unknown>;
      }
    }
    return undefined;
  }

  close(): void {
    this.abort.abort();
  }
}

export async function probe(server: FrameworkServer): Promise<Observed> {
  const errors: string[] = [];
  const open: Exchange[] = [];
  const request = async (method: string, headers: Record<string, string>, body?: unknown, timeoutMs?: number) => {
    const exchange = await Exchange.open(
      server.url,
      {
        method,
        headers: { accept: method === 'GET' ? 'text/event-stream' : ACCEPT, ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      timeoutMs,
    );
    open.push(exchange);
    return exchange;
  };
  const post = (body: unknown, headers: Record<string, string> = {}, timeoutMs?: number) =>
    request('POST', { 'content-type': 'application/json', ...headers }, body, timeoutMs);
  const observed: Observed = {
    initialize: 'not probed',
    sessionId: 'not probed',
    unknownSession: { post: 'not probed', get: 'not probed', delete: 'not probed' },
    get: 'not probed',
    eventIds: 'not probed',
    elicitation: 'not probed',
    errors,
  };
  const step = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  try {
    let session: Record<string, string> = {};
    await step('initialize', async () => {
      const started = Date.now();
      const init = await post(
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: PROTOCOL,
            capabilities: { elicitation: { form: {} } },
            clientInfo: { name: 'matrix-probe', version: '1.0.0' },
          },
        },
        {},
        5000,
      );
      await init.until(() => init.find((m) => m.id === 1) !== undefined, 4000);
      const answer = init.find((m) => m.id === 1) as { result?: { protocolVersion?: string } } | undefined;
      const ms = Date.now() - started;
      observed.initialize = `${init.status} ${init.contentType}, protocolVersion ${answer?.result?.protocolVersion ?? '(none)'}${ms > 500 ? `, answered after ${ms} ms` : ''}`;
      const id = init.response.headers.get('mcp-session-id');
      observed.sessionId = id ? `minted (${id.length} characters)` : 'none (stateless)';
      session = {
        ...(id ? { 'mcp-session-id': id } : {}),
        'mcp-protocol-version': answer?.result?.protocolVersion ?? PROTOCOL,
      };
      init.close();
      const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
      if (initialized.status !== 202) errors.push(`notifications/initialized answered ${initialized.status}`);
      initialized.close();
    });

    await step('unknown session', async () => {
      const unknown = { 'mcp-session-id': UNKNOWN, 'mcp-protocol-version': PROTOCOL };
      observed.unknownSession.post = await (
        await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, unknown)
      ).summary();
      observed.unknownSession.get = await (await request('GET', unknown)).summary();
      observed.unknownSession.delete = await (await request('DELETE', unknown)).summary();
    });

    let stream: Exchange | undefined;
    await step('GET', async () => {
      stream = await request('GET', session);
      observed.get = stream.isSse ? `${stream.status} ${stream.contentType} (offered)` : await stream.summary();
      if (!stream.isSse) stream = undefined;
    });

    await step('event ids', async () => {
      const count = server.tools.count(2, 10);
      const call = await post(
        {
          jsonrpc: '2.0',
          id: 3,
          method: 'tools/call',
          params: { name: count.name, arguments: count.arguments, _meta: { progressToken: 'probe' } },
        },
        session,
      );
      await call.until(() => call.find((m) => m.id === 3) !== undefined, 3000);
      const ids = call.events.map((e) => e.id);
      const priming = call.events.some((e) => e.id !== undefined && e.message === undefined);
      observed.eventIds = !call.isSse
        ? `the call answered ${call.contentType || call.status} (no stream)`
        : ids.every((id) => id === undefined)
          ? 'no: POST stream events carry no id (not resumable)'
          : `yes: ${ids.filter((id) => id !== undefined).length}/${ids.length} POST stream events have an id${priming ? ', starting with a priming event' : ''}`;
      call.close();
    });

    await step('elicitation', async () => {
      const confirm = server.tools.confirm();
      const call = await post(
        { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: confirm.name, arguments: confirm.arguments } },
        session,
      );
      const isElicit = (m: Record<string, unknown>) => m.method === 'elicitation/create';
      const seen = () => call.find(isElicit) ?? stream?.find(isElicit);
      const arrived = () => seen() !== undefined || call.find((m) => m.id === 4) !== undefined;
      await Promise.race([call, ...(stream ? [stream] : [])].map((exchange) => exchange.until(arrived, 3000)));
      const elicit = seen();
      if (!elicit) {
        const answer = call.find((m) => m.id === 4);
        observed.elicitation = answer
          ? `no elicitation request; the call answered ${JSON.stringify(answer).slice(0, 200)}`
          : 'no elicitation request on any stream within 3 s, and no answer';
        return;
      }
      const route = call.find(isElicit) ? 'on the POST response stream of the tools/call' : 'on the GET stream';
      const params = elicit.params as { requestedSchema?: { required?: string[] } } | undefined;
      const content: Record<string, unknown> = { ok: true };
      for (const key of params?.requestedSchema?.required ?? []) if (key !== 'ok') content[key] = 'shepherd';
      const reply = await post({ jsonrpc: '2.0', id: elicit.id, result: { action: 'accept', content } }, session);
      await call.until(() => call.find((m) => m.id === 4) !== undefined, 3000);
      observed.elicitation = `${route}; the answer POST got ${reply.status}; the call ${call.find((m) => m.id === 4) ? 'then answered' : 'never answered'}`;
      reply.close();
    });

    await step('DELETE', async () => {
      if (!session['mcp-session-id']) return;
      (await request('DELETE', session)).close();
    });
  } finally {
    for (const exchange of open) exchange.close();
  }
  return observed;
}
