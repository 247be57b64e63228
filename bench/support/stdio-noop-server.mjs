// The stdio MCP server of the stdio scenario: the SDK 1.x McpServer on StdioServerTransport
// with one trivial tool. Plain JavaScript so that every bridge starts it the same way, with
// plain `node` and no loader.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'mcp-shepherd-bench-stdio', version: '1.0.0' });
server.registerTool('noop', { description: 'Answers ok.' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
await server.connect(new StdioServerTransport());
