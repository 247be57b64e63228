/**
 * 2025 clients through mcp-shepherd to a 2026-07-28 upstream: the official SDK 2.x server
 * (`createMcpHandler`) refusing session-era traffic (`legacy: 'reject'`), or serving it
 * statelessly (`'stateless'`, where the proxy still prefers the modern era). The clients are
 * the SDK 1.x `Client` and the 2.x `Client` in its default legacy mode; what reached the
 * upstream is read from the server's own record of its requests.
 */
import { Client as Client2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { type ModernServer, startModernServer } from '../support/modern-server.js';
import { countWithProgress } from '../support/progress-call.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait.js';

let upstream: ModernServer | undefined;
let shepherd: Shepherd | undefined;
let relay: TcpRelay | undefined;
/** A session-era upstream, for the tests of --upstream-protocol. */
let demo: DemoServer | undefined;
const clients: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  await shepherd?.close();
  await relay?.close();
  await upstream?.close();
  await demo?.close();
  shepherd = relay = upstream = demo = undefined;
});

async function proxyTo(options: { legacy?: 'reject' | 'stateless'; relayed?: boolean; heartbeatMs?: number } = {}) {
  upstream = await startModernServer({ legacy: options.legacy ?? 'reject' });
  let url = upstream.url;
  if (options.relayed) {
    relay = await TcpRelay.start(upstream.port);
    url = url.replace(`:${upstream.port}`, `:${relay.port}`);
  }
  shepherd = createShepherd({
    upstream: { url },
    logger: createLogger('silent'),
    connection: { backoff: { baseMs: 50, jitter: 0 } },
  });
  return (await shepherd.listen({ port: 0 })).url;
}

/** An SDK 1.x client that can be asked for everything a 2026 tool may ask for. */
async function sdk1(url: string) {
  const client = new Client(
    { name: 'era-client', version: '1.2.3' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params.message);
    if (request.params.message === 'Your name?') return { action: 'accept', content: { name: 'ada' } };
    if (request.params.message === 'Your favourite color?') return { action: 'accept', content: { color: 'teal' } };
    return { action: 'accept', content: { ok: true } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: 'test-model',
    content: {
      type: 'text',
      text: `echo of ${(request.params.messages[0]?.content as { text?: string } | undefined)?.text}`,
    },
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }],
  }));
  const listChanged: number[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged.push(Date.now());
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return { client, asked, listChanged };
}

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');

/** The upstream acknowledged the session's listen this many times (its filter is in force upstream). */
const listensAcknowledged = (count: number) =>
  waitFor(() => {
    const [session] = (shepherd as Shepherd).listSessions();
    return session !== undefined && ((shepherd as Shepherd).runtime.bridges.get(session.id)?.listens ?? 0) >= count;
  }, `${count} acknowledged listen(s)`);

const posted = (server: ModernServer, method: string) =>
  server.requests.filter((r) => r.method === 'POST' && (r.body as { method?: string } | undefined)?.method === method);

describe('2025 clients → mcp-shepherd → 2026-07-28 upstream', () => {
  it('SDK 1.x: initialize answered from server/discover; tools, progress, resources, prompts; every request carries the envelope and headers', async () => {
    const url = await proxyTo();
    const { client } = await sdk1(url);
    expect(client.getServerVersion()?.name).toBe('modern-upstream');
    // The operator sees which sessions are bridged.
    expect((shepherd as Shepherd).listSessions().map((v) => v.upstreamEra)).toEqual(['2026-07-28']);
    const metrics = await (shepherd as Shepherd).metrics.registry.metrics();
    expect(metrics).toContain('mcp_shepherd_bridged_sessions 1');
    expect(metrics).toContain('mcp_shepherd_upstream_eras{state="modern"} 1');
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    const server = upstream as ModernServer;
    // The upstream never saw an initialize: the proxy answered it.
    expect(posted(server, 'initialize')).toEqual([]);
    expect(posted(server, 'server/discover').length).toBeGreaterThan(0);
    // The probe spoke for the client: its info and capabilities, as its requests will carry them.
    const [probe] = posted(server, 'server/discover');
    const probeMeta =
      (probe?.body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta ?? {};
    expect(probeMeta['io.modelcontextprotocol/clientInfo']).toMatchObject({ name: 'era-client' });
    expect(probeMeta['io.modelcontextprotocol/clientCapabilities']).toMatchObject({ elicitation: {} });

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'count', 'confirm', 'region']));
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(textOf(echo)).toBe('hi');
    expect(echo).not.toHaveProperty('resultType');

    const progress: number[] = [];
    const counted = await client.callTool({ name: 'count', arguments: { n: 4, delayMs: 5 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(counted)).toBe('counted to 4');
    expect(progress).toEqual([1, 2, 3, 4]);

    const resources = await client.listResources();
    expect(resources.resources.map((r) => r.uri)).toContain('modern://static');
    const read = await client.readResource({ uri: 'modern://item/7' });
    expect((read.contents[0] as { text?: string }).text).toBe('item 7');
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'ada' } });
    expect(JSON.stringify(prompt.messages)).toContain('Hello, ada!');
    await expect(client.ping()).resolves.toBeDefined();

    const calls = posted(server, 'tools/call');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(call.headers['mcp-protocol-version']).toBe('2026-07-28');
      expect(call.headers['mcp-method']).toBe('tools/call');
      expect(call.headers['mcp-session-id']).toBeUndefined();
      const meta = (call.body as { params: { _meta: Record<string, unknown> } }).params._meta;
      expect(meta['io.modelcontextprotocol/protocolVersion']).toBe('2026-07-28');
      expect(meta['io.modelcontextprotocol/clientInfo']).toMatchObject({ name: 'era-client', version: '1.2.3' });
      expect(meta['io.modelcontextprotocol/clientCapabilities']).toMatchObject({ elicitation: {}, sampling: {} });
    }
    expect(calls.map((c) => c.headers['mcp-name'])).toEqual(expect.arrayContaining(['echo', 'count']));
    expect(posted(server, 'resources/read')[0]?.headers['mcp-name']).toBe('modern://item/7');
    // ping is not a 2026-07-28 method: the proxy answered it.
    expect(posted(server, 'ping')).toEqual([]);
  });

  it('SDK 1.x: input_required becomes elicitation, sampling and roots requests on the call, over several rounds', async () => {
    const url = await proxyTo();
    const { client, asked } = await sdk1(url);
    expect(textOf(await client.callTool({ name: 'confirm', arguments: {} }))).toBe('confirmed: {"ok":true}');
    expect(textOf(await client.callTool({ name: 'two_step', arguments: {} }))).toBe('name=ada color=teal');
    expect(asked).toEqual(['Proceed?', 'Your name?', 'Your favourite color?']);
    expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'the sea' } }))).toBe(
      'sampled: echo of the sea',
    );
    expect(textOf(await client.callTool({ name: 'roots', arguments: {} }))).toBe('file:///a,file:///b');

    // Each retry went up under a new id, with the round's answers and the state byte for byte.
    const twoStep = posted(upstream as ModernServer, 'tools/call').filter(
      (r) => (r.body as { params: { name: string } }).params.name === 'two_step',
    );
    expect(twoStep).toHaveLength(3);
    const ids = twoStep.map((r) => (r.body as { id: unknown }).id);
    expect(new Set(ids).size).toBe(3);
    const [, second, third] = twoStep.map((r) => (r.body as { params: Record<string, unknown> }).params);
    expect(second?.inputResponses).toEqual({ name: { action: 'accept', content: { name: 'ada' } } });
    expect(third?.inputResponses).toEqual({ color: { action: 'accept', content: { color: 'teal' } } });
    expect(typeof second?.requestState).toBe('string');
    expect(third?.requestState).not.toBe(second?.requestState);
  });

  it('SDK 1.x: a tool’s x-mcp-header parameter is mirrored as Mcp-Param-*, base64 when it is not plain ASCII', async () => {
    const url = await proxyTo();
    const { client } = await sdk1(url);
    // No tools/list first: the proxy lists the tools itself to learn the declarations.
    const plain = await client.callTool({ name: 'region', arguments: { region: 'us-west1', text: 'a' } });
    expect(textOf(plain)).toBe('region=us-west1;text=a');
    const unusual = await client.callTool({ name: 'region', arguments: { region: 'zürich ', text: 'b' } });
    expect(textOf(unusual)).toBe(`region==?base64?${Buffer.from('zürich ').toString('base64')}?=;text=b`);
    const calls = posted(upstream as ModernServer, 'tools/call');
    expect(calls.map((c) => c.headers['mcp-param-region'])).toEqual([
      'us-west1',
      `=?base64?${Buffer.from('zürich ').toString('base64')}?=`,
    ]);
  });

  it('SDK 1.x: tools/list_changed reaches the GET stream from subscriptions/listen', async () => {
    const url = await proxyTo();
    const { client, listChanged } = await sdk1(url);
    await waitFor(() => posted(upstream as ModernServer, 'subscriptions/listen').length > 0, 'the upstream listen');
    const [listen] = posted(upstream as ModernServer, 'subscriptions/listen');
    expect((listen?.body as { params?: { notifications?: unknown } } | undefined)?.params?.notifications).toMatchObject(
      {
        toolsListChanged: true,
      },
    );
    await listensAcknowledged(1);
    expect(textOf(await client.callTool({ name: 'add_tool', arguments: { name: 'fresh' } }))).toBe('added fresh');
    await waitFor(() => listChanged.length > 0, 'tools/list_changed on the GET stream');
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('fresh');
    expect(textOf(await client.callTool({ name: 'fresh', arguments: {} }))).toBe('I am fresh');
  });

  it('SDK 1.x: a cut listen stream is listened again, and the client told the list may have changed', async () => {
    const url = await proxyTo({ relayed: true });
    const { listChanged } = await sdk1(url);
    const server = upstream as ModernServer;
    await listensAcknowledged(1);
    expect(posted(server, 'subscriptions/listen')).toHaveLength(1);
    expect(listChanged).toEqual([]);
    (relay as TcpRelay).cutAll();
    // A change while no listen is open upstream is missed there; the re-listen makes up for it.
    server.notifyToolsChanged();
    await waitFor(() => posted(server, 'subscriptions/listen').length >= 2, 'a second listen');
    await waitFor(() => listChanged.length >= 1, 'list_changed after the re-listen');
  });

  it('SDK 1.x: a cancelled call (notifications/cancelled) closes its upstream request, which the server takes as cancel', async () => {
    const url = await proxyTo();
    const { client } = await sdk1(url);
    const controller = new AbortController();
    const progress: number[] = [];
    const call = client.callTool({ name: 'count', arguments: { n: 200, delayMs: 20 } }, undefined, {
      signal: controller.signal,
      onprogress: (p) => {
        progress.push(p.progress);
        if (p.progress === 3) controller.abort('enough');
      },
    });
    await expect(call).rejects.toThrow();
    await waitFor(() => (upstream as ModernServer).cancelledCounts.length === 1, 'the upstream saw the cancel');
    const [at] = (upstream as ModernServer).cancelledCounts;
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(200);
    // The session goes on.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
  });

  it('the 2.x Client in legacy mode: tools, progress and elicitation', async () => {
    const url = await proxyTo();
    const client = new Client2({ name: 'sdk2-legacy', version: '2.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { ok: true } }));
    const { StreamableHTTPClientTransport: Transport2 } = await import('@modelcontextprotocol/client');
    await client.connect(new Transport2(new URL(url)));
    clients.push(client);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    expect(await countWithProgress(client, 3)).toEqual({ text: 'counted to 3', progress: [1, 2, 3] });
    expect(textOf(await client.callTool({ name: 'confirm', arguments: {} }))).toBe('confirmed: {"ok":true}');
  });

  it("an upstream that also serves 2025 statelessly ('stateless'): the proxy prefers the modern era, so elicitation and list changes work", async () => {
    const url = await proxyTo({ legacy: 'stateless' });
    const { client, listChanged } = await sdk1(url);
    expect(posted(upstream as ModernServer, 'initialize')).toEqual([]);
    expect(textOf(await client.callTool({ name: 'confirm', arguments: {} }))).toBe('confirmed: {"ok":true}');
    await listensAcknowledged(1);
    await client.callTool({ name: 'add_tool', arguments: { name: 'later' } });
    await waitFor(() => listChanged.length > 0, 'tools/list_changed');
  });

  describe('--upstream-protocol in front of a session-era server (the SDK 1.x demo server)', () => {
    async function demoBehind(upstreamProtocol?: 'auto' | '2025' | '2026-07-28') {
      demo = await DemoServer.start();
      const bodies: Array<{ method?: string }> = [];
      demo.beforeRequest = (_req, _res, body) => {
        if (body !== undefined) bodies.push(body as { method?: string });
        return false;
      };
      shepherd = createShepherd({
        upstream: { url: demo.urlVia() },
        logger: createLogger('silent'),
        ...(upstreamProtocol ? { upstreamProtocol } : {}),
      });
      const url = (await shepherd.listen({ port: 0 })).url;
      return { bodies, url };
    }
    const connectPlain = async (url: string) => {
      const client = new Client({ name: 'plain', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push(client);
      return client;
    };

    it('auto: one probe for the URL, then sessions go through as sessions', async () => {
      const { bodies, url } = await demoBehind();
      await connectPlain(url);
      await connectPlain(url);
      expect(bodies.filter((b) => b.method === 'server/discover')).toHaveLength(1);
      expect(bodies.filter((b) => b.method === 'initialize')).toHaveLength(2);
      expect((shepherd as Shepherd).listSessions().map((v) => v.upstreamEra)).toEqual(['session', 'session']);
    });

    it('2025: never probes', async () => {
      const { bodies, url } = await demoBehind('2025');
      const client = await connectPlain(url);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      expect(bodies.filter((b) => b.method === 'server/discover')).toEqual([]);
    });

    it('2026-07-28: a server that does not answer server/discover is never fallen back to; the initialize fails clearly', async () => {
      const { bodies, url } = await demoBehind('2026-07-28');
      await expect(connectPlain(url)).rejects.toThrow(/does not speak 2026-07-28/);
      expect(bodies.filter((b) => b.method === 'initialize')).toEqual([]);
    });
  });
});
