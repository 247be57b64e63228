/**
 * The client command for the 2026-07-28 client scenarios (conformance/era-bridge.ts):
 *
 *   tsx conformance/client-2026.ts --sdk2 <server-url>            the SDK 2.x client on its own (the baseline)
 *   tsx conformance/client-2026.ts --sdk1 <server-url>            the SDK 1.x client through mcp-shepherd
 *   tsx conformance/client-2026.ts --sdk1 --direct <server-url>   the SDK 1.x client on its own (it fails them)
 *   --tap                                                         every HTTP exchange of the client to stderr
 *
 * For `--sdk1` it starts mcp-shepherd (the real command line, in this process, default options
 * as conformance/client.ts does, so `--upstream-protocol auto`) in front of the suite's test
 * server, which speaks only 2026-07-28: the proxy finds that out with `server/discover` and
 * bridges the SDK's 2025 session, so the suite judges the bridge's requests. The suite sets
 * MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_PROTOCOL_VERSION and, for http-custom-headers,
 * MCP_CONFORMANCE_CONTEXT (`{"toolCalls": [...]}`).
 */
import {
  Client as Client2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransport2,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { main } from '../src/cli.js';

/** What a scenario needs of a client, the same for both SDKs. */
interface Api {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  listResources(): Promise<{ resources: { uri: string }[] }>;
  readResource(params: { uri: string }): Promise<unknown>;
  listPrompts(): Promise<{ prompts: { name: string }[] }>;
  getPrompt(params: { name: string; arguments: Record<string, string> }): Promise<unknown>;
}

const args = process.argv.slice(2);
const serverUrl = args.find((arg) => !arg.startsWith('--'));
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const sdk = args.includes('--sdk1') ? 'sdk1' : 'sdk2';
const viaProxy = sdk === 'sdk1' && !args.includes('--direct');
const log = (...parts: unknown[]) =>
  process.stderr.write(`[client-2026 ${sdk}${viaProxy ? ' via proxy' : ''} ${scenario}] ${parts.join(' ')}\n`);
if (!serverUrl || !scenario) {
  log('usage: MCP_CONFORMANCE_SCENARIO=<name> tsx conformance/client-2026.ts --sdk2|--sdk1 [--direct] [--tap] <url>');
  process.exit(2);
}

const clientInfo = { name: 'mcp-shepherd-conformance-client', version: '1.0.0' };
/** Every optional client capability, so that request-metadata's capability checks run (else skipped). */
const capabilities = { roots: { listChanged: true }, sampling: {}, elicitation: {} };
const elicitAnswer = { action: 'accept' as const, content: { confirmed: true } };
const samplingAnswer = { role: 'assistant' as const, content: { type: 'text' as const, text: 'ok' }, model: 'test' };

const tap = args.includes('--tap');
const tapFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!tap) return response;
  const headers = JSON.stringify(Object.fromEntries(new Headers(init?.headers).entries()));
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.clone().text() : `(${type || 'no body'})`;
  log(
    `TAP ${init?.method ?? 'GET'} ${String(input)} ${headers} ${init?.body ?? ''}\n    <- ${response.status} ${body}`,
  );
  return response;
};

/** A request whose outcome the scenario judges on the server side: logged, never thrown. */
const settle = async (what: string, pending: Promise<unknown>) => {
  try {
    log(what, '->', JSON.stringify(await pending).slice(0, 300));
  } catch (error) {
    log(what, 'rejected:', error instanceof Error ? error.message : String(error));
  }
};

function toolCallsFromContext(): { name: string; arguments: Record<string, unknown> }[] {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT;
  return raw ? ((JSON.parse(raw) as { toolCalls?: never[] }).toolCalls ?? []) : [];
}

async function drive(api: Api): Promise<void> {
  switch (scenario) {
    case 'request-metadata':
      // Connecting sent the first requests (server/discover, refused once with -32022, or initialize).
      await settle('tools/list', api.listTools());
      return;
    case 'tools_call': {
      const { tools } = await api.listTools();
      if (tools.some((tool) => tool.name === 'add_numbers')) {
        await settle('add_numbers', api.callTool({ name: 'add_numbers', arguments: { a: 5, b: 3 } }));
      }
      return;
    }
    case 'http-standard-headers': {
      const { tools } = await api.listTools();
      for (const tool of tools) await settle(tool.name, api.callTool({ name: tool.name, arguments: {} }));
      const { resources } = await api.listResources();
      for (const resource of resources) await settle(resource.uri, api.readResource({ uri: resource.uri }));
      const { prompts } = await api.listPrompts();
      for (const prompt of prompts) await settle(prompt.name, api.getPrompt({ name: prompt.name, arguments: {} }));
      return;
    }
    case 'http-custom-headers':
      await api.listTools(); // the x-mcp-header declarations are in the listed inputSchemas
      for (const call of toolCallsFromContext()) await settle(call.name, api.callTool(call));
      return;
    case 'http-invalid-tool-headers': {
      const { tools } = await api.listTools();
      log('tools listed:', tools.map((tool) => tool.name).join(', '));
      for (const tool of tools) {
        await settle(tool.name, api.callTool({ name: tool.name, arguments: { region: 'us-west1' } }));
      }
      return;
    }
    case 'sep-2322-client-request-state':
      await api.listTools();
      // The echo-state round trip with an unrelated call in flight (isolation), then the rest.
      await Promise.all([
        settle('test_mrtr_echo_state', api.callTool({ name: 'test_mrtr_echo_state', arguments: {} })),
        settle('test_mrtr_unrelated', api.callTool({ name: 'test_mrtr_unrelated', arguments: {} })),
      ]);
      await settle('test_mrtr_no_state', api.callTool({ name: 'test_mrtr_no_state', arguments: {} }));
      await settle('test_mrtr_no_result_type', api.callTool({ name: 'test_mrtr_no_result_type', arguments: {} }));
      return;
    default:
      throw new Error(`no driver for the scenario ${scenario}`);
  }
}

async function runSdk2(url: string): Promise<void> {
  const client = new Client2(clientInfo, { capabilities, versionNegotiation: { mode: 'auto' } });
  client.setRequestHandler('elicitation/create', async () => elicitAnswer);
  client.setRequestHandler('roots/list', async () => ({ roots: [] }));
  client.setRequestHandler('sampling/createMessage', async () => samplingAnswer);
  await client.connect(new StreamableHTTPClientTransport2(new URL(url), { fetch: tapFetch }));
  log('negotiated', client.getNegotiatedProtocolVersion());
  try {
    await drive(client as unknown as Api);
  } finally {
    await client.close();
  }
}

async function runSdk1(url: string): Promise<void> {
  const client = new Client(clientInfo, { capabilities });
  client.setRequestHandler(ElicitRequestSchema, async () => elicitAnswer);
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [] }));
  client.setRequestHandler(CreateMessageRequestSchema, async () => samplingAnswer);
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: tapFetch });
  await client.connect(transport);
  log('negotiated', transport.protocolVersion);
  try {
    await drive(client as unknown as Api);
  } finally {
    await transport.close();
  }
}

const proxy = viaProxy ? await main(['--upstream', serverUrl, '--port', '0', '--log-level', 'warn']) : undefined;
if (viaProxy && !proxy) process.exit(2);
try {
  if (sdk === 'sdk2') await runSdk2(serverUrl);
  else await runSdk1(proxy?.url ?? serverUrl);
  await proxy?.stop('done');
  process.exit(0);
} catch (error) {
  log('failed:', error instanceof Error ? error.stack : String(error));
  await proxy?.stop('error');
  process.exit(1);
}
