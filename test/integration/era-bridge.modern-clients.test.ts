/**
 * 2026-07-28 clients through mcp-shepherd to 2025 session servers: the SDK 2.x `Client`
 * pinned to 2026-07-28 (no fallback), against the demo server (the SDK 1.x server) and
 * server-everything. The proxy holds the upstream sessions (a pool), answers
 * `server/discover`, and turns the upstream's elicitation and sampling requests into
 * `input_required` results the client fulfils itself.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { startServerEverything } from '../support/frameworks/server-everything.js';
import type { FrameworkServer } from '../support/frameworks/types.js';
import { countWithProgress } from '../support/progress-call.js';
import { waitFor } from '../support/wait.js';

let upstream: DemoServer | undefined;
let shepherd: Shepherd | undefined;
let everything: FrameworkServer | undefined;
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  await shepherd?.close();
  await upstream?.close();
  await everything?.close();
  shepherd = upstream = everything = undefined;
});

/** Every JSON-RPC body the demo upstream receives, in order. */
const received: unknown[] = [];

async function proxy(url?: string): Promise<string> {
  received.length = 0;
  if (url === undefined) {
    upstream = await DemoServer.start();
    upstream.beforeRequest = (_req, _res, body) => {
      if (body !== undefined) received.push(body);
      return false;
    };
  }
  shepherd = createShepherd({
    upstream: { url: url ?? (upstream as DemoServer).urlVia() },
    logger: createLogger('silent'),
  });
  return (await shepherd.listen({ port: 0 })).url;
}

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};

/** One raw 2026-07-28 POST (headers as the spec requires them); its status and JSON body. */
async function post(url: string, id: number, method: string, params: Record<string, unknown>) {
  const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...name,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: ENVELOPE } }),
  });
  const text = await response.text();
  const data = text.startsWith('{')
    ? text
    : (
        text
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .pop() ?? ''
      ).slice(5);
  return {
    status: response.status,
    body: JSON.parse(data) as Record<string, unknown> & {
      result?: Record<string, unknown>;
      error?: Record<string, unknown>;
    },
  };
}

async function modernClient(url: string) {
  const client = new Client(
    { name: 'modern-client', version: '3.0.0' },
    {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      capabilities: { elicitation: {}, sampling: {} },
    },
  );
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { ok: true, name: 'ada' },
  }));
  client.setRequestHandler('sampling/createMessage', async (request) => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: `sampled(${JSON.stringify(request.params.messages[0]?.content)})` },
  }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return client;
}

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');

describe('2026-07-28 clients → mcp-shepherd → 2025 session server', () => {
  it('discover, tools, resources, prompts and progress on a pooled upstream session', async () => {
    const url = await proxy();
    const client = await modernClient(url);
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getServerVersion()?.name).toBe('mcp-shepherd-demo');
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'count', 'confirm', 'summarize']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    expect(await countWithProgress(client, 3)).toEqual({ text: 'counted to 3', progress: [1, 2, 3] });
    const read = await client.readResource({ uri: 'demo://readme' });
    expect((read.contents[0] as { text?: string }).text).toBe('mcp-shepherd demo resource');
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'ada' } });
    expect(JSON.stringify(prompt.messages)).toContain('Say hello to ada.');
    // One upstream session for all of it.
    expect((upstream as DemoServer).sessions.size).toBe(1);
  });

  it('elicitation and sampling requests of the upstream become input_required, fulfilled by the client', async () => {
    const url = await proxy();
    const client = await modernClient(url);
    expect(textOf(await client.callTool({ name: 'confirm', arguments: { question: 'Go?' } }))).toBe('accept:true');
    expect(textOf(await client.callTool({ name: 'summarize', arguments: { text: 'the sea' } }))).toContain(
      'summary: sampled(',
    );
  });

  it('tools/list_changed reaches client.listen()', async () => {
    const url = await proxy();
    const client = await modernClient(url);
    const changed: unknown[] = [];
    client.setNotificationHandler('notifications/tools/list_changed', (n) => {
      changed.push(n);
    });
    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });
    (upstream as DemoServer).toolsChanged();
    await waitFor(() => changed.length > 0, 'tools/list_changed on the listen stream');
    await subscription.close();
  });

  it('a tampered, replayed or foreign requestState is refused; the genuine one completes the call', async () => {
    const url = await proxy();
    const first = await post(url, 1, 'tools/call', { name: 'confirm', arguments: { question: 'Go?' } });
    expect(first.body.result).toMatchObject({ resultType: 'input_required' });
    const { inputRequests, requestState } = first.body.result as {
      inputRequests: Record<string, unknown>;
      requestState: string;
    };
    const [key] = Object.keys(inputRequests);
    expect(inputRequests[key as string]).toMatchObject({ method: 'elicitation/create', params: { message: 'Go?' } });
    const inputResponses = { [key as string]: { action: 'accept', content: { ok: true } } };
    const retry = (id: number, state: string, method = 'tools/call') =>
      post(url, id, method, { name: 'confirm', arguments: { question: 'Go?' }, inputResponses, requestState: state });

    const [payload, mac] = requestState.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload as string, 'base64url').toString()), round: 9 }),
    ).toString('base64url');
    const tampered = await retry(2, `${forged}.${mac}`);
    expect(tampered.body.error).toMatchObject({ code: -32602, message: expect.stringContaining('requestState') });
    const genuine = await retry(3, requestState);
    expect(genuine.body).toMatchObject({
      id: 3,
      result: { resultType: 'complete', content: [{ text: 'accept:true' }] },
    });
    const replayed = await retry(4, requestState);
    expect(replayed.body.error).toMatchObject({ code: -32602 });
    // Only the genuine retry's answer reached the upstream, once.
    const answers = received.filter((b) => (b as { result?: { action?: string } }).result?.action === 'accept');
    expect(answers).toHaveLength(1);
  });

  it('the validation ladder: missing envelope, header mismatch, unsupported version, removed methods', async () => {
    const url = await proxy();
    const raw = (headers: Record<string, string>, body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error?: { code: number; data?: unknown } },
      }));
    const modern = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' };
    const noEnvelope = await raw(modern, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(noEnvelope).toMatchObject({ status: 400, body: { error: { code: -32602 } } });
    const mismatch = await raw(
      { ...modern, 'mcp-method': 'tools/call' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: ENVELOPE } },
    );
    expect(mismatch).toMatchObject({ status: 400, body: { error: { code: -32020 } } });
    const future = { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const unsupported = await raw(
      { ...modern, 'mcp-protocol-version': '2099-01-01' },
      { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: future } },
    );
    expect(unsupported).toMatchObject({
      status: 400,
      body: { error: { code: -32022, data: { requested: '2099-01-01' } } },
    });
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'no/such']) {
      const removed = await post(url, 4, method, {});
      expect(removed, method).toMatchObject({ status: 404, body: { error: { code: -32601 } } });
    }
    // The session era goes on as before on the same endpoint.
    expect((upstream as DemoServer).sessions.size).toBe(0);
  });

  it('a call the client abandons (its stream closed) is cancelled upstream', async () => {
    const url = await proxy();
    const client = await modernClient(url);
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'count', arguments: { n: 200, delayMs: 20 } },
      {
        signal: controller.signal,
        onprogress: (p) => {
          if (p.progress === 3) controller.abort('enough');
        },
      },
    );
    await expect(call).rejects.toThrow();
    await waitFor(
      () => received.some((b) => (b as { method?: string }).method === 'notifications/cancelled'),
      'notifications/cancelled upstream',
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
  });

  it('server-everything: echo, a long operation with progress, and its elicitation through input_required', async () => {
    everything = await startServerEverything();
    const url = await proxy(everything.url);
    const client = await modernClient(url);
    const echo = everything.tools.echo('hello');
    expect(echo.expect(textOf(await client.callTool({ name: echo.name, arguments: echo.arguments })))).toBe(true);
    const count = everything.tools.count(3, 50);
    const progress: number[] = [];
    const counted = await client.callTool(
      { name: count.name, arguments: count.arguments },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(count.expect(textOf(counted))).toBe(true);
    expect(progress.length).toBe(3);
    const confirm = everything.tools.confirm();
    expect(confirm.expect(textOf(await client.callTool({ name: confirm.name, arguments: confirm.arguments })))).toBe(
      true,
    );
  });
});
