/**
 * A modern (MCP 2026-07-28, stateless) upstream for integration tests: the official SDK 2.x
 * server (`@modelcontextprotocol/server`) through `createMcpHandler`, served from node:http on
 * 127.0.0.1. It records every HTTP request it receives, so a test can assert what a proxy put
 * on the upstream wire (envelope `_meta`, `mcp-protocol-version`, `mcp-method`, `mcp-name`,
 * `mcp-param-*`).
 *
 * Server→client input goes through multi-round-trip results (`inputRequired(...)`), never
 * push requests: on the modern path `ctx.mcpReq.elicitInput` throws.
 */
import { randomBytes } from 'node:crypto';
import {
  createMcpHandler,
  createRequestStateCodec,
  type InputResponseView,
  inputRequired,
  inputResponse,
  type McpHttpHandler,
  McpServer,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { type FetchHandler, LoopbackHttp, nodeListener } from './frameworks/loopback-http.js';
import { registerCount } from './frameworks/sdk2-tools.js';
import { confirmSchema } from './frameworks/types.js';

export interface RecordedRequest {
  /** The HTTP method. */
  method: string;
  /** Every request header, names lowercased. */
  headers: Record<string, string>;
  /** The parsed JSON body; the raw text if it is not JSON; undefined when empty. */
  body: unknown;
}

export interface ModernServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  port: number;
  /** Every HTTP request received, in arrival order. */
  requests: ReadonlyArray<RecordedRequest>;
  /** How far each `count` call got when its request was cancelled (the client closed its stream). */
  cancelledCounts: ReadonlyArray<number>;
  /** Publishes `notifications/tools/list_changed` to every open `subscriptions/listen` stream that asked for it. */
  notifyToolsChanged(): void;
  close(): Promise<void>;
}

export interface ModernServerOptions {
  /** How 2025-era traffic is served: `'reject'` (default, modern-only) or the SDK's `'stateless'` fallback. */
  legacy?: 'reject' | 'stateless';
}

/** What the MRTR tools carry between rounds; sealed (HMAC) by the SDK's codec, so a client cannot forge a step. */
interface FlowState {
  tool: string;
  step: string;
  name?: string;
}

type Codec = ReturnType<typeof createRequestStateCodec<FlowState>>;

export async function startModernServer(options: ModernServerOptions = {}): Promise<ModernServer> {
  // One key per fixture: every per-request server instance must verify what another one minted.
  const codec = createRequestStateCodec<FlowState>({ key: randomBytes(32), bind: (ctx) => ctx.mcpReq.method });
  const extraTools: string[] = [];
  const requests: RecordedRequest[] = [];
  const cancelledCounts: number[] = [];
  const handler: McpHttpHandler = createMcpHandler(
    () => {
      const server = new McpServer(
        { name: 'modern-upstream', version: '1.0.0' },
        {
          capabilities: {
            tools: { listChanged: true },
            resources: { listChanged: true },
            prompts: { listChanged: true },
          },
          requestState: { verify: codec.verify },
        },
      );
      registerTools(
        server,
        codec,
        (name) => {
          extraTools.push(name);
          handler.notify.toolsChanged();
        },
        (at) => cancelledCounts.push(at),
      );
      for (const name of extraTools) registerExtraTool(server, name);
      registerResourcesAndPrompts(server);
      return server;
    },
    { legacy: options.legacy ?? 'reject' },
  );
  const recording: FetchHandler = async (request) => {
    requests.push(await record(request));
    return handler.fetch(request);
  };
  const http = await LoopbackHttp.listen(nodeListener(() => recording));
  return {
    url: http.url,
    port: http.port,
    requests,
    cancelledCounts,
    notifyToolsChanged: () => handler.notify.toolsChanged(),
    close: async () => {
      await handler.close();
      await http.close();
    },
  };
}

async function record(request: Request): Promise<RecordedRequest> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value; // Headers iterates lowercased names
  });
  // A clone, so the handler still gets an unread body.
  const text = request.body ? await request.clone().text() : '';
  let body: unknown;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { method: request.method, headers, body };
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

/** Asks one form elicitation: a single string field `field`. */
const askString = (message: string, field: string) =>
  inputRequired.elicit({
    mode: 'form',
    message,
    requestedSchema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] },
  });

/** The text a declined/cancelled elicitation ends a tool with; undefined when accepted. */
function refusal(view: InputResponseView): string | undefined {
  if (view.kind !== 'elicit' || view.action === 'accept') return undefined;
  return view.action === 'decline' ? 'declined' : 'cancelled';
}

/** The sealed state of this round, when it belongs to `tool` (verified by `requestState.verify` before we run). */
function stateOf(ctx: ServerContext, tool: string): FlowState | undefined {
  const state = ctx.mcpReq.requestState<FlowState>();
  return state?.tool === tool ? state : undefined;
}

function registerTools(
  server: McpServer,
  codec: Codec,
  addTool: (name: string) => void,
  onCancelled: (at: number) => void,
): void {
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async (args) => text(args.text));

  registerCount(server, onCancelled);

  server.registerTool('confirm', { inputSchema: z.object({}) }, async (_args, ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
    if (stateOf(ctx, 'confirm') === undefined || answer.kind !== 'elicit') {
      return inputRequired({
        inputRequests: {
          confirm: inputRequired.elicit({ mode: 'form', message: 'Proceed?', requestedSchema: confirmSchema }),
        },
        requestState: await codec.mint({ tool: 'confirm', step: 'confirm' }, ctx),
      });
    }
    return text(refusal(answer) ?? `confirmed: ${JSON.stringify(answer.content ?? {})}`);
  });

  // Two rounds; inputResponses are per round, so the first answer survives only in requestState.
  server.registerTool('two_step', { inputSchema: z.object({}) }, async (_args, ctx) => {
    const state = stateOf(ctx, 'two_step');
    const askName = async () =>
      inputRequired({
        inputRequests: { name: askString('Your name?', 'name') },
        requestState: await codec.mint({ tool: 'two_step', step: 'name' }, ctx),
      });
    const askColor = async (name: string) =>
      inputRequired({
        inputRequests: { color: askString('Your favourite color?', 'color') },
        requestState: await codec.mint({ tool: 'two_step', step: 'color', name }, ctx),
      });
    if (state?.step === 'name') {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'name');
      const refused = refusal(answer);
      if (refused) return text(refused);
      const name = answer.kind === 'elicit' ? answer.content?.name : undefined;
      return typeof name === 'string' ? askColor(name) : askName();
    }
    if (state?.step === 'color' && state.name !== undefined) {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'color');
      const refused = refusal(answer);
      if (refused) return text(refused);
      const color = answer.kind === 'elicit' ? answer.content?.color : undefined;
      return typeof color === 'string' ? text(`name=${state.name} color=${color}`) : askColor(state.name);
    }
    return askName();
  });

  server.registerTool('sample', { inputSchema: z.object({ prompt: z.string() }) }, async ({ prompt }, ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'sample');
    if (stateOf(ctx, 'sample') === undefined || answer.kind !== 'sampling') {
      return inputRequired({
        inputRequests: {
          sample: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 100,
          }),
        },
        requestState: await codec.mint({ tool: 'sample', step: 'sample' }, ctx),
      });
    }
    const blocks = [answer.result.content].flat();
    const said = blocks.map((block) => (block.type === 'text' ? block.text : '')).join('');
    return text(`sampled: ${said}`);
  });

  server.registerTool('roots', { inputSchema: z.object({}) }, async (_args, ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'roots');
    if (stateOf(ctx, 'roots') === undefined || answer.kind !== 'roots') {
      return inputRequired({
        inputRequests: { roots: inputRequired.listRoots() },
        requestState: await codec.mint({ tool: 'roots', step: 'roots' }, ctx),
      });
    }
    return text(answer.roots.map((root) => root.uri).join(','));
  });

  // `x-mcp-header` makes clients mirror `region` as `Mcp-Param-Region`; the SDK's entry itself
  // rejects a missing or disagreeing header (400, -32020) before this handler runs.
  server.registerTool(
    'region',
    { inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), text: z.string() }) },
    async (args, ctx) => {
      const header = ctx.http?.req?.headers.get('mcp-param-region') ?? '';
      return text(`region=${header};text=${args.text}`);
    },
  );

  server.registerTool('add_tool', { inputSchema: z.object({ name: z.string() }) }, async ({ name }) => {
    addTool(name);
    return text(`added ${name}`);
  });
}

/** A tool `add_tool` created: answers with its own name. */
function registerExtraTool(server: McpServer, name: string): void {
  server.registerTool(name, { inputSchema: z.object({}) }, async () => text(`I am ${name}`));
}

function registerResourcesAndPrompts(server: McpServer): void {
  server.registerResource(
    'static',
    'modern://static',
    { mimeType: 'text/plain', cacheHint: { ttlMs: 60_000, cacheScope: 'public' } },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'static content' }] }),
  );
  server.registerResource(
    'item',
    new ResourceTemplate('modern://item/{id}', { list: undefined }),
    { mimeType: 'text/plain' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `item ${String(id)}` }] }),
  );
  server.registerPrompt('greet', { argsSchema: z.object({ name: z.string() }) }, async ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }],
  }));
}
