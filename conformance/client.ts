/**
 * The client command for the suite's client scenarios: `tsx conformance/client.ts [--direct] <server-url>`.
 *
 * It starts mcp-shepherd (the real command line, in this process) in front of the suite's
 * test server and drives the official SDK 1.x client through the proxy, so the suite judges
 * what the proxy does upstream: its initialize, its tool calls, and whether it waits the
 * `retry:` the server asked for and resumes with Last-Event-ID (SEP-1699). `--direct` runs the
 * same client without the proxy, as the baseline. The scenario name comes in
 * MCP_CONFORMANCE_SCENARIO.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { main } from '../src/cli.js';

const args = process.argv.slice(2);
const direct = args.includes('--direct');
const serverUrl = args.find((arg) => !arg.startsWith('--'));
const scenario = process.env.MCP_CONFORMANCE_SCENARIO;
if (!serverUrl || !scenario) {
  process.stderr.write('usage: MCP_CONFORMANCE_SCENARIO=<name> tsx conformance/client.ts [--direct] <server-url>\n');
  process.exit(2);
}

const proxy = direct ? undefined : await main(['--upstream', serverUrl, '--port', '0', '--log-level', 'warn']);
if (!direct && !proxy) process.exit(2);
const client = new Client({ name: 'mcp-shepherd-conformance-client', version: '1.0.0' }, { capabilities: {} });
const transport = new StreamableHTTPClientTransport(new URL(proxy?.url ?? serverUrl));

try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  if (scenario === 'tools_call') {
    for (const tool of tools) {
      if (tool.name === 'add_numbers') await client.callTool({ name: tool.name, arguments: { a: 5, b: 3 } });
    }
  } else if (scenario === 'sse-retry') {
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  await transport.close();
  await proxy?.stop('done');
  process.exit(0);
} catch (error) {
  process.stderr.write(`conformance client (${scenario}): ${error instanceof Error ? error.stack : String(error)}\n`);
  await proxy?.stop('error');
  process.exit(1);
}
