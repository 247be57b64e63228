/**
 * The session-era (2025-11-25) upstream behind mcp-shepherd for the suite's 2026-07-28 SERVER
 * scenarios (conformance/era-bridge-server.ts): the official SDK 1.x server, one transport per
 * session with an event store (src/demo/demo-server.ts, as conformance/upstream.ts), offering
 * every tool, prompt and resource that `server-stateless`, `caching`,
 * `sep-2164-resource-not-found` and the `input-required-result-*` scenarios call, written the
 * 2025 way:
 *
 * - where a 2026-07-28 server would answer `input_required`, the tool (or prompt) sends the
 *   server-to-client request on the call's own stream (`relatedRequestId`) and awaits the
 *   answer: one request, two in sequence (multi-round), or three at once (multiple inputs,
 *   Promise.all). Each request names, in `params._meta[INPUT_KEY_META]`, the `inputRequests`
 *   key the scenario expects (`user_name`, `capital_question`, ...): a 2025 request has no key
 *   of its own, and the scenarios check some keys by name and answer by key;
 * - client capabilities come from the session's initialize (`getClientCapabilities()`);
 * - list changes are `notifications/tools/list_changed` and `prompts/list_changed` on every
 *   session's GET stream, as a server whose lists are global sends them;
 * - an unknown resource is -32002 with `data.uri` (2025-11-25 "Resource not found"; 2026-07-28
 *   standardises on -32602, SEP-2164);
 * - logging is `notifications/message` whenever a tool logs (2025 has no per-request level).
 *
 * Nothing here knows about 2026-07-28: what the scenarios see of that era, mcp-shepherd makes.
 */

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type ElicitRequestFormParams,
  ErrorCode,
  GetPromptRequestSchema,
  type GetPromptResult,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type Prompt,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  type Tool,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { INPUT_KEY_META } from '../machines/pending-call.machine.js';
import { DemoServer } from '../src/demo/demo-server.js';

/**
 * Where each server-to-client request names the `inputRequests` key a 2026-07-28 server would
 * give it. A proposal for the bridge (it is the only way to produce the keys the scenarios
 * check); the bridge may drop it from the params it passes on.
 */
export { INPUT_KEY_META };

/** 2025-11-25 server/resources "Error Handling": Resource not found. */
export const RESOURCE_NOT_FOUND = -32002;

export const DYNAMIC_TOOL = 'test_dynamic_tool';
export const DYNAMIC_PROMPT = 'test_dynamic_prompt';

type Extra = Parameters<Parameters<McpServer['server']['setRequestHandler']>[1]>[1];

const noArguments = { type: 'object' as const, properties: {} };
const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keyed = (key: string) => ({ [INPUT_KEY_META]: key });

/** An elicitation form of one property, e.g. `{ name: { type: 'string' } }`, that property required. */
function form(key: string, message: string, property: string, type: 'string' | 'boolean'): ElicitRequestFormParams {
  const schema = type === 'string' ? { type: 'string' as const } : { type: 'boolean' as const };
  return {
    message,
    requestedSchema: { type: 'object', properties: { [property]: schema }, required: [property] },
    _meta: keyed(key),
  };
}

/** The server-to-client requests of a 2025 server, on the stream of the request being handled. */
function asker(server: McpServer, extra: Extra) {
  const options = { relatedRequestId: extra.requestId, signal: extra.signal };
  return {
    elicit: async (params: ElicitRequestFormParams) => {
      const result = await server.server.elicitInput(params, options);
      return result.action === 'accept' ? (result.content ?? {}) : undefined;
    },
    sample: async (key: string, prompt: string, maxTokens: number) => {
      const result = await server.server.createMessage(
        { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens, _meta: keyed(key) },
        options,
      );
      return result.content.type === 'text' ? result.content.text : JSON.stringify(result.content);
    },
    roots: async (key: string) => {
      const { roots } = await server.server.listRoots({ _meta: keyed(key) }, options);
      return roots.map((root) => `${root.uri}${root.name ? ` (${root.name})` : ''}`).join(', ');
    },
  };
}

const TOOLS: Tool[] = [
  // SEP-2322, the input-required-result-* scenarios
  {
    name: 'test_input_required_result_elicitation',
    description: 'Asks for a name (user_name).',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_sampling',
    description: 'Asks the client to sample (capital_question).',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_list_roots',
    description: "Asks for the client's roots (client_roots).",
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_request_state',
    description: 'Asks for a confirmation (confirm); answers "state-ok".',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_multiple_inputs',
    description: 'Asks for a name, a sample and the roots at once (user_name, greeting, client_roots).',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_multi_round',
    description: 'Asks for a name (step1), then for a colour (step2).',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_tampered_state',
    description: 'Asks for a confirmation (confirm).',
    inputSchema: noArguments,
  },
  {
    name: 'test_input_required_result_capabilities',
    description: 'Asks only for what the client declared: a sample (sampling_request), a form (elicitation_request).',
    inputSchema: noArguments,
  },
  // SEP-2575, server-stateless
  {
    name: 'test_missing_capability',
    description: 'Needs sampling and asks for it without checking the client declared it.',
    inputSchema: noArguments,
  },
  {
    name: 'test_streaming_elicitation',
    description: 'Asks for a confirmation on its stream (streaming_confirm).',
    inputSchema: noArguments,
  },
  { name: 'test_logging_tool', description: 'Logs three messages while running.', inputSchema: noArguments },
  {
    name: 'test_trigger_tool_change',
    description: `Adds or removes ${DYNAMIC_TOOL}; every session gets tools/list_changed.`,
    inputSchema: noArguments,
  },
  {
    name: 'test_trigger_prompt_change',
    description: `Adds or removes ${DYNAMIC_PROMPT}; every session gets prompts/list_changed.`,
    inputSchema: noArguments,
  },
];

const DYNAMIC_TOOL_DEFINITION: Tool = {
  name: DYNAMIC_TOOL,
  description: 'Present after an odd number of test_trigger_tool_change calls.',
  inputSchema: noArguments,
};

const PROMPTS: Prompt[] = [
  {
    name: 'test_input_required_result_prompt',
    description: 'Asks what context to use (user_context) before it answers.',
  },
];

const DYNAMIC_PROMPT_DEFINITION: Prompt = {
  name: DYNAMIC_PROMPT,
  description: 'Present after an odd number of test_trigger_prompt_change calls.',
};

const STATIC_TEXT = 'test://static-text';
const TEMPLATE = /^test:\/\/template\/([^/]+)\/data$/;

/** What every session of one upstream shares: its lists are global, as a real server's are. */
interface Shared {
  dynamicTool: boolean;
  dynamicPrompt: boolean;
  /** Every live session's server, for list changes. */
  servers: () => Iterable<McpServer>;
}

type ToolHandler = (server: McpServer, extra: Extra) => Promise<CallToolResult>;

function toolHandlers(shared: Shared): Record<string, ToolHandler> {
  return {
    test_input_required_result_elicitation: async (server, extra) => {
      const answer = await asker(server, extra).elicit(form('user_name', 'What is your name?', 'name', 'string'));
      return text(answer ? `Hello, ${String(answer.name)}!` : 'Hello, whoever you are!');
    },
    test_input_required_result_sampling: async (server, extra) =>
      text(`Sampled: ${await asker(server, extra).sample('capital_question', 'What is the capital of France?', 100)}`),
    test_input_required_result_list_roots: async (server, extra) =>
      text(`Client roots: ${(await asker(server, extra).roots('client_roots')) || 'none'}`),
    test_input_required_result_request_state: async (server, extra) => {
      const answer = await asker(server, extra).elicit(form('confirm', 'Please confirm', 'ok', 'boolean'));
      return text(`state-ok: confirmed=${answer?.ok === true}`);
    },
    test_input_required_result_multiple_inputs: async (server, extra) => {
      const ask = asker(server, extra);
      const [name, greeting, roots] = await Promise.all([
        ask.elicit(form('user_name', 'What is your name?', 'name', 'string')),
        ask.sample('greeting', 'Generate a greeting', 50),
        ask.roots('client_roots'),
      ]);
      return text(`name=${String(name?.name)}, greeting=${greeting}, roots=${roots || 'none'}`);
    },
    test_input_required_result_multi_round: async (server, extra) => {
      const ask = asker(server, extra);
      const step1 = await ask.elicit(form('step1', 'Step 1: What is your name?', 'name', 'string'));
      const step2 = await ask.elicit(form('step2', 'Step 2: What is your favorite color?', 'color', 'string'));
      return text(`${String(step1?.name)} likes ${String(step2?.color)}`);
    },
    test_input_required_result_tampered_state: async (server, extra) => {
      const answer = await asker(server, extra).elicit(form('confirm', 'Please confirm', 'ok', 'boolean'));
      return text(`confirmed=${answer?.ok === true}`);
    },
    test_input_required_result_capabilities: async (server, extra) => {
      const declared = server.server.getClientCapabilities() ?? {};
      const ask = asker(server, extra);
      const asked = await Promise.all([
        declared.sampling ? ask.sample('sampling_request', 'Say hello', 20).then((s) => `sampling: ${s}`) : undefined,
        declared.elicitation
          ? ask
              .elicit(form('elicitation_request', 'What is your name?', 'name', 'string'))
              .then((a) => `elicitation: ${String(a?.name)}`)
          : undefined,
      ]);
      const answers = asked.filter((a) => a !== undefined);
      return text(answers.length > 0 ? answers.join('; ') : 'the client declared neither sampling nor elicitation');
    },
    test_missing_capability: async (server, extra) =>
      // createMessage does not check the session's capabilities (only sampling tools), so the
      // request goes out whatever the client declared, as from many a 2025 tool.
      text(`Sampled: ${await asker(server, extra).sample('required_sampling', 'Needs sampling', 20)}`),
    test_streaming_elicitation: async (server, extra) => {
      const answer = await asker(server, extra).elicit(
        form('streaming_confirm', 'Continue the stream?', 'confirm', 'boolean'),
      );
      return text(`confirmed=${answer?.confirm === true}`);
    },
    test_logging_tool: async (_server, extra) => {
      for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
        await sleep(20);
      }
      return text('Tool with logging executed successfully');
    },
    test_trigger_tool_change: async () => {
      shared.dynamicTool = !shared.dynamicTool;
      for (const server of shared.servers()) await server.server.sendToolListChanged();
      return text(`${DYNAMIC_TOOL} ${shared.dynamicTool ? 'added' : 'removed'}`);
    },
    test_trigger_prompt_change: async () => {
      shared.dynamicPrompt = !shared.dynamicPrompt;
      for (const server of shared.servers()) await server.server.sendPromptListChanged();
      return text(`${DYNAMIC_PROMPT} ${shared.dynamicPrompt ? 'added' : 'removed'}`);
    },
    [DYNAMIC_TOOL]: async () => text('The dynamic tool ran.'),
  };
}

function register(server: McpServer, shared: Shared): void {
  const handlers = toolHandlers(shared);
  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: shared.dynamicTool ? [...TOOLS, DYNAMIC_TOOL_DEFINITION] : TOOLS,
  }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const handler = handlers[request.params.name];
    if (!handler || (request.params.name === DYNAMIC_TOOL && !shared.dynamicTool)) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    }
    // A failed request for input (refused, timed out, cancelled) is a JSON-RPC error, not a result.
    return handler(server, extra);
  });

  server.server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: shared.dynamicPrompt ? [...PROMPTS, DYNAMIC_PROMPT_DEFINITION] : PROMPTS,
  }));
  server.server.setRequestHandler(GetPromptRequestSchema, async (request, extra): Promise<GetPromptResult> => {
    const { name } = request.params;
    if (name === 'test_input_required_result_prompt') {
      const answer = await asker(server, extra).elicit(
        form('user_context', 'What context should the prompt use?', 'context', 'string'),
      );
      const context = answer ? String(answer.context) : 'none';
      return {
        description: 'A prompt that asked for its context',
        messages: [{ role: 'user', content: { type: 'text', text: `Answer with this context in mind: ${context}` } }],
      };
    }
    if (name === DYNAMIC_PROMPT && shared.dynamicPrompt) {
      return { messages: [{ role: 'user', content: { type: 'text', text: 'The dynamic prompt.' } }] };
    }
    throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  });

  server.server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: [{ uri: STATIC_TEXT, name: 'static-text', description: 'A static text', mimeType: 'text/plain' }],
  }));
  server.server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      {
        uriTemplate: 'test://template/{id}/data',
        name: 'template',
        description: 'Data for an id',
        mimeType: 'application/json',
      },
    ],
  }));
  server.server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    if (uri === STATIC_TEXT) {
      return { contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
    }
    const id = TEMPLATE.exec(uri)?.[1];
    if (id !== undefined) {
      return {
        contents: [{ uri, mimeType: 'application/json', text: JSON.stringify({ id, data: `Data for ${id}` }) }],
      };
    }
    throw new McpError(RESOURCE_NOT_FOUND, 'Resource not found', { uri });
  });
  // 2025 subscriptions (resources.subscribe); 2026-07-28 has resourceSubscriptions on a listen instead.
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
}

export async function startBridgeUpstream(): Promise<DemoServer> {
  let upstream: DemoServer | undefined;
  const shared: Shared = {
    dynamicTool: false,
    dynamicPrompt: false,
    servers: () => [...(upstream?.sessions.values() ?? [])].map((session) => session.server),
  };
  upstream = await DemoServer.start(0, '127.0.0.1', {
    name: 'mcp-shepherd-conformance-2025-for-2026',
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true },
      logging: {},
    },
    register: (server) => register(server, shared),
  });
  return upstream;
}
