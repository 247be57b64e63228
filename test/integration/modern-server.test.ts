/**
 * The modern (2026-07-28) upstream fixture, reached directly (no proxy) by the official SDK 2.x
 * client pinned to the modern era: every tool (MRTR legs auto-fulfilled by the client's
 * handlers), resources, prompts, the listen stream, and the two legacy postures.
 */
import {
  type CallToolResult,
  Client,
  type ElicitRequest,
  type ElicitResult,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type ModernServer, type RecordedRequest, startModernServer } from '../support/modern-server.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(legacy?: 'reject' | 'stateless'): Promise<ModernServer> {
  const server = await startModernServer(legacy ? { legacy } : {});
  cleanups.push(() => server.close());
  return server;
}

interface Harness {
  server: ModernServer;
  client: Client;
  /** What the elicitation handler answers; tests swap it. */
  elicit: (request: ElicitRequest) => ElicitResult;
  sampledPrompts: string[];
}

/** A modern fixture and a pinned modern client with elicitation, sampling and roots handlers. */
async function connect(): Promise<Harness> {
  const server = await serve();
  const client = new Client(
    { name: 'fixture-test', version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      capabilities: { elicitation: {}, sampling: {}, roots: {} },
    },
  );
  const harness: Harness = {
    server,
    client,
    // Answers by the one field asked for: confirm's `ok`, two_step's `name` then `color`.
    elicit: ({ params }) => {
      const field = 'requestedSchema' in params ? Object.keys(params.requestedSchema.properties)[0] : undefined;
      if (field === 'ok') return { action: 'accept', content: { ok: true } };
      if (field === 'name') return { action: 'accept', content: { name: 'Ada' } };
      if (field === 'color') return { action: 'accept', content: { color: 'teal' } };
      return { action: 'cancel' };
    },
    sampledPrompts: [],
  };
  client.setRequestHandler('elicitation/create', async (request) => harness.elicit(request));
  client.setRequestHandler('sampling/createMessage', async (request) => {
    const content = request.params.messages[0]?.content;
    harness.sampledPrompts.push(content && 'type' in content && content.type === 'text' ? content.text : '');
    return { role: 'assistant', content: { type: 'text', text: 'a poem' }, model: 'test-model' };
  });
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }] }));
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  cleanups.push(() => client.close());
  return harness;
}

function textOf(result: CallToolResult): string {
  const block = result.content[0];
  return block?.type === 'text' ? block.text : `<${block?.type}>`;
}

interface RpcBody {
  id?: string | number;
  method?: string;
  params?: Record<string, unknown> & { name?: string; _meta?: Record<string, unknown> };
}

/** The recorded `tools/call` POSTs for one tool. */
function toolCalls(server: ModernServer, name: string): Array<RecordedRequest & { body: RpcBody }> {
  return server.requests.filter((request): request is RecordedRequest & { body: RpcBody } => {
    const body = request.body as RpcBody | undefined;
    return body?.method === 'tools/call' && body.params?.name === name;
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'legacy', version: '1.0.0' } },
};

async function postInitialize(url: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(initialize),
  });
}

/** A JSON-RPC message from a JSON body or the first `data:` line of an SSE body. */
async function rpcOf(response: Response): Promise<{ result?: Record<string, unknown>; error?: { code: number } }> {
  const body = await response.text();
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return JSON.parse(body);
  const data = body.split('\n').find((line) => line.startsWith('data: '));
  return JSON.parse(data?.slice('data: '.length) ?? 'null');
}

describe('modern upstream fixture, direct', () => {
  it('negotiates the modern era and names itself modern-upstream', async () => {
    const { client } = await connect();
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getServerVersion()?.name).toBe('modern-upstream');
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    expect(client.getServerCapabilities()?.resources).toBeDefined();
    expect(client.getServerCapabilities()?.prompts).toBeDefined();
  });

  it('echo: answers the text; the recorded POST carries the modern headers and envelope', async () => {
    const { client, server } = await connect();
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
    const [call] = toolCalls(server, 'echo');
    expect(call?.method).toBe('POST');
    expect(call?.headers).toMatchObject({
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    expect(call?.body.params?._meta).toMatchObject({
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, sampling: {}, roots: {} },
      'io.modelcontextprotocol/clientInfo': { name: 'fixture-test', version: '1.0.0' },
    });
  });

  it('count: sends progress 1..n with total n, then answers', async () => {
    const { client } = await connect();
    const progress: Array<[number, number | undefined]> = [];
    const result = await client.callTool(
      { name: 'count', arguments: { n: 3, delayMs: 5 } },
      { onprogress: (p) => progress.push([p.progress, p.total]) },
    );
    expect(textOf(result)).toBe('counted to 3');
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('confirm: one input_required round; the retry echoes the sealed requestState on a fresh id', async () => {
    const harness = await connect();
    expect(textOf(await harness.client.callTool({ name: 'confirm', arguments: {} }))).toBe('confirmed: {"ok":true}');
    const [first, retry, extra] = toolCalls(harness.server, 'confirm');
    expect(extra).toBeUndefined();
    expect(first?.body.params?.requestState).toBeUndefined();
    expect(retry?.body.id).not.toEqual(first?.body.id);
    expect(retry?.body.params?.inputResponses).toEqual({ confirm: { action: 'accept', content: { ok: true } } });
    expect(retry?.body.params?.requestState).toMatch(/^v1\./); // the SDK codec's HMAC wire shape

    harness.elicit = () => ({ action: 'decline' });
    expect(textOf(await harness.client.callTool({ name: 'confirm', arguments: {} }))).toBe('declined');
    harness.elicit = () => ({ action: 'cancel' });
    expect(textOf(await harness.client.callTool({ name: 'confirm', arguments: {} }))).toBe('cancelled');
  });

  it('two_step: two rounds; the first answer rides only in requestState', async () => {
    const { client, server } = await connect();
    expect(textOf(await client.callTool({ name: 'two_step', arguments: {} }))).toBe('name=Ada color=teal');
    const calls = toolCalls(server, 'two_step');
    expect(calls.map((call) => Object.keys((call.body.params?.inputResponses as object | undefined) ?? {}))).toEqual([
      [],
      ['name'],
      ['color'],
    ]);
    const states = calls.map((call) => call.body.params?.requestState);
    expect(states[0]).toBeUndefined();
    expect(states[1]).not.toEqual(states[2]);
  });

  it('sample: a sampling/createMessage leg carrying the prompt', async () => {
    const harness = await connect();
    const result = await harness.client.callTool({ name: 'sample', arguments: { prompt: 'write a poem' } });
    expect(textOf(result)).toBe('sampled: a poem');
    expect(harness.sampledPrompts).toEqual(['write a poem']);
  });

  it('roots: a roots/list leg, answered with the root URIs', async () => {
    const { client } = await connect();
    expect(textOf(await client.callTool({ name: 'roots', arguments: {} }))).toBe('file:///a,file:///b');
  });

  it('region: the client mirrors Mcp-Param-Region; the server answers with the header it received', async () => {
    const { client, server } = await connect();
    const { tools } = await client.listTools(); // the client mirrors headers from its cached tools/list
    const region = tools.find((tool) => tool.name === 'region');
    expect(region?.inputSchema.properties?.region).toMatchObject({ 'x-mcp-header': 'Region' });
    const result = await client.callTool({ name: 'region', arguments: { region: 'eu-west1', text: 'hi' } });
    expect(textOf(result)).toBe('region=eu-west1;text=hi');
    const calls = toolCalls(server, 'region');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.headers['mcp-param-region']).toBe('eu-west1');
  });

  it('region: a missing or disagreeing Mcp-Param-Region is refused with 400 / -32020', async () => {
    const server = await serve();
    const post = (headers: Record<string, string>) =>
      fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'region',
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: {
            name: 'region',
            arguments: { region: 'eu', text: 't' },
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        }),
      });
    for (const headers of [{}, { 'mcp-param-region': 'us' }]) {
      const response = await post(headers);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { id: number; error: { code: number; data: { mismatch: unknown } } };
      expect(body.id).toBe(7);
      expect(body.error.code).toBe(-32020);
      expect(body.error.data.mismatch).toMatchObject({ header: 'Mcp-Param-Region' });
    }
    const accepted = await post({ 'mcp-param-region': 'eu' });
    expect(accepted.status).toBe(200);
    expect(await rpcOf(accepted)).toMatchObject({ result: { content: [{ text: 'region=eu;text=t' }] } });
  });

  it('add_tool: a listen stream gets tools/list_changed; later requests see the new tool', async () => {
    const { client, server } = await connect();
    const changes: unknown[] = [];
    let changed = () => {};
    client.setNotificationHandler('notifications/tools/list_changed', (notification) => {
      changes.push(notification.params);
      changed();
    });
    const nextChange = () => new Promise<void>((resolve) => (changed = resolve));

    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
    const listen = server.requests.find((request) => (request.body as RpcBody).method === 'subscriptions/listen');
    expect(listen?.headers['mcp-method']).toBe('subscriptions/listen');

    const added = nextChange();
    expect(textOf(await client.callTool({ name: 'add_tool', arguments: { name: 'extra' } }))).toBe('added extra');
    await added;
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('extra');
    expect(textOf(await client.callTool({ name: 'extra', arguments: {} }))).toBe('I am extra');

    const poked = nextChange();
    server.notifyToolsChanged();
    await poked;
    expect(changes).toHaveLength(2);
    // The SDK client hands the notification over with the listen request's id still stamped on it.
    const subscriptionId = (listen?.body as RpcBody | undefined)?.id;
    expect(subscriptionId).toBeDefined();
    expect(changes[0]).toEqual({ _meta: { 'io.modelcontextprotocol/subscriptionId': subscriptionId } });

    await subscription.close();
    expect(await subscription.closed).toBe('local');
  });

  it('resources: list, templates and read, with the static resource cache hint', async () => {
    const { client, server } = await connect();
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(['modern://static']);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['modern://item/{id}']);
    const read = await client.readResource({ uri: 'modern://static' });
    expect(read.contents).toEqual([{ uri: 'modern://static', mimeType: 'text/plain', text: 'static content' }]);
    const item = await client.readResource({ uri: 'modern://item/42' });
    expect(item.contents[0]).toMatchObject({ uri: 'modern://item/42', text: 'item 42' });
    const reads = server.requests.filter((request) => (request.body as RpcBody).method === 'resources/read');
    expect(reads.map((request) => request.headers['mcp-name'])).toEqual(['modern://static', 'modern://item/42']);
  });

  it('prompts: list and get greet', async () => {
    const { client } = await connect();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual(['greet']);
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Hello, Ada!' } }]);
  });
});

describe('legacy postures', () => {
  it("legacy 'reject' (default): a 2025 initialize gets 400 / -32022 naming 2026-07-28", async () => {
    const server = await serve();
    const response = await postInitialize(server.url);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { id: number; error: { code: number; data: unknown } };
    expect(body.id).toBe(1);
    expect(body.error.code).toBe(-32022);
    expect(body.error.data).toEqual({ supported: ['2026-07-28'], requested: '2025-06-18' });
    expect(server.requests[0]).toMatchObject({ method: 'POST', body: initialize });
  });

  it("legacy 'stateless': a 2025 initialize succeeds without an Mcp-Session-Id", async () => {
    const server = await serve('stateless');
    const response = await postInitialize(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const message = await rpcOf(response);
    expect(message.error).toBeUndefined();
    expect(message.result).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name: 'modern-upstream' } });

    // A default (legacy-mode) SDK client is served too, one fresh instance per POST.
    const client = new Client({ name: 'legacy-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    cleanups.push(() => client.close());
    expect(client.getProtocolEra()).toBe('legacy');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'old' } }))).toBe('old');
  });
});
