/**
 * The load generator's MCP client: raw JSON-RPC over Streamable HTTP with undici, so the
 * client costs the same few microseconds whatever answers it. One `Endpoint` per target
 * (upstream direct, nginx, a proxy), keep-alive connections, sessions opened before timing.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Client, type Dispatcher, Pool } from 'undici';

export const PROTOCOL_VERSION = '2025-11-25';

export interface Endpoint {
  name: string;
  url: URL;
  /** Keep-alive pool for requests; long-lived GET streams get a Client each instead. */
  pool: Pool;
}

export function openEndpoint(name: string, url: string, connections: number): Endpoint {
  const parsed = new URL(url);
  return {
    name,
    url: parsed,
    pool: new Pool(parsed.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 }),
  };
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export class McpHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'McpHttpError';
  }
}

const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC response with `id` in a JSON body or in the data lines of an SSE body. */
function findResponse(contentType: string, text: string, id: number): JsonRpcResponse | undefined {
  if (contentType.startsWith('application/json')) return JSON.parse(text) as JsonRpcResponse;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '') continue;
    const message = JSON.parse(data) as JsonRpcResponse;
    if (message.id === id && ('result' in message || 'error' in message)) return message;
  }
  return undefined;
}

export class McpHttpSession {
  private nextId = 1;
  private readonly headers: Record<string, string>;

  private constructor(
    readonly endpoint: Endpoint,
    readonly id: string,
  ) {
    this.headers = { ...POST_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL_VERSION };
  }

  /** initialize, then notifications/initialized: a session ready for requests. */
  static async open(endpoint: Endpoint, dispatcher: Dispatcher = endpoint.pool): Promise<McpHttpSession> {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
    const res = await dispatcher.request({
      origin: endpoint.url.origin,
      path: endpoint.url.pathname,
      method: 'POST',
      headers: POST_HEADERS,
      body,
    });
    const text = await res.body.text();
    const id = res.headers['mcp-session-id'];
    if (res.statusCode !== 200 || typeof id !== 'string') {
      throw new McpHttpError(
        `${endpoint.name}: initialize got ${res.statusCode}: ${text.slice(0, 300)}`,
        res.statusCode,
      );
    }
    const session = new McpHttpSession(endpoint, id);
    await session.notify('notifications/initialized', dispatcher);
    return session;
  }

  /**
   * The same session with its requests sent to another endpoint: in a cluster, a replica
   * that does not hold it (it forwards them to the one that does). JSON-RPC ids count afresh.
   */
  via(endpoint: Endpoint): McpHttpSession {
    return new McpHttpSession(endpoint, this.id);
  }

  async notify(method: string, dispatcher: Dispatcher = this.endpoint.pool): Promise<void> {
    const res = await this.send(JSON.stringify({ jsonrpc: '2.0', method }), dispatcher);
    await res.body.dump();
    if (res.statusCode !== 202)
      throw new McpHttpError(`${this.endpoint.name}: ${method} got ${res.statusCode}`, res.statusCode);
  }

  /** One request; resolves with its response, whether it came as JSON or on an SSE stream. */
  async request(method: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
    const id = this.nextId++;
    const res = await this.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const text = await res.body.text();
    const response =
      res.statusCode === 200 ? findResponse(String(res.headers['content-type'] ?? ''), text, id) : undefined;
    if (!response || response.error) {
      throw new McpHttpError(`${this.endpoint.name}: ${method} got ${res.statusCode}: ${text.slice(0, 300)}`, 0);
    }
    return response;
  }

  callTool(name: string, args: Record<string, unknown> = {}): Promise<JsonRpcResponse> {
    return this.request('tools/call', { name, arguments: args });
  }

  /**
   * tools/call whose answer is an SSE stream; `onEvent` sees every event as it is parsed.
   * Resolves with the response once it arrives and the stream has ended.
   */
  async streamTool(
    name: string,
    args: Record<string, unknown>,
    onEvent: (event: EventSourceMessage) => void,
  ): Promise<JsonRpcResponse> {
    const id = this.nextId++;
    const res = await this.send(
      JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
    );
    if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
      throw new McpHttpError(`${this.endpoint.name}: stream got ${res.statusCode}: ${await res.body.text()}`, 0);
    }
    let response: JsonRpcResponse | undefined;
    const parser = createParser({
      onEvent: (event) => {
        onEvent(event);
        // Notifications are the bulk; only a data that is not one can be the response.
        if (event.data !== '' && !event.data.includes('"notifications/')) {
          const message = JSON.parse(event.data) as JsonRpcResponse;
          if (message.id === id) response = message;
        }
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Buffer>) parser.feed(decoder.decode(chunk, { stream: true }));
    if (!response || response.error)
      throw new McpHttpError(`${this.endpoint.name}: stream ended without its response`, 0);
    return response;
  }

  /**
   * The `stream` tool of the bench upstream: `count` notifications on one SSE answer. Throws
   * unless every one of them arrived.
   */
  async streamNotifications(count: number): Promise<{ events: number; elapsedMs: number }> {
    let events = 0;
    const t0 = performance.now();
    await this.streamTool('stream', { count }, (event) => {
      if (event.data.includes('"notifications/message"')) events++;
    });
    const elapsedMs = performance.now() - t0;
    if (events !== count) throw new Error(`${this.endpoint.name}: ${events} of ${count} notifications arrived`);
    return { events, elapsedMs };
  }

  /**
   * GET: the standalone server-to-client stream, on a connection of its own (it stays open).
   * Resolves once the headers arrived; `close()` drops it.
   */
  async openStandaloneStream(): Promise<{ close(): Promise<void> }> {
    const client = new Client(this.endpoint.url.origin, { pipelining: 0 });
    const res = await client.request({
      path: this.endpoint.url.pathname,
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': this.id, 'mcp-protocol-version': PROTOCOL_VERSION },
    });
    if (res.statusCode !== 200) {
      await client.destroy();
      throw new McpHttpError(`${this.endpoint.name}: GET stream got ${res.statusCode}`, res.statusCode);
    }
    res.body.on('error', () => {}); // the stream ends with the session: not a failure
    res.body.resume();
    return {
      close: async () => {
        res.body.destroy();
        await client.destroy();
      },
    };
  }

  /** DELETE: ends the session. */
  async close(dispatcher: Dispatcher = this.endpoint.pool): Promise<void> {
    const res = await dispatcher.request({
      origin: this.endpoint.url.origin,
      path: this.endpoint.url.pathname,
      method: 'DELETE',
      headers: { 'mcp-session-id': this.id, 'mcp-protocol-version': PROTOCOL_VERSION },
    });
    await res.body.dump();
    if (res.statusCode >= 300)
      throw new McpHttpError(`${this.endpoint.name}: DELETE got ${res.statusCode}`, res.statusCode);
  }

  private send(body: string, dispatcher: Dispatcher = this.endpoint.pool) {
    return dispatcher.request({
      origin: this.endpoint.url.origin,
      path: this.endpoint.url.pathname,
      method: 'POST',
      headers: this.headers,
      body,
    });
  }
}

/** Opens `count` sessions, `parallel` at a time. */
export async function openSessions(endpoint: Endpoint, count: number, parallel = 8): Promise<McpHttpSession[]> {
  const sessions: McpHttpSession[] = [];
  await inParallel(count, parallel, async () => {
    sessions.push(await McpHttpSession.open(endpoint));
  });
  return sessions;
}

/** Runs `task` `count` times with at most `parallel` running at once. */
export async function inParallel(
  count: number,
  parallel: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}
