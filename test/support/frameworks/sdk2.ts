/**
 * `sdk2`: the official SDK 2.x server (`@modelcontextprotocol/server`) through its serving
 * entry `createMcpHandler(factory)`, default options, served from node:http by the small
 * fetch adapter. Its docs: 2025-era traffic is served by the "stateless legacy fallback" (a
 * fresh server instance per request, no session id, GET and DELETE answered 405); sessionful
 * 2025 serving is not an option of the entry. So it keeps no sessions.
 */
import { createMcpHandler, type McpHttpHandler, McpServer } from '@modelcontextprotocol/server';
import { LoopbackHttp, nodeListener } from './loopback-http.js';
import { registerSdk2Tools } from './sdk2-tools.js';
import { type FrameworkServer, packageVersion, standardTools } from './types.js';

function createHandler(): McpHttpHandler {
  return createMcpHandler(() => {
    const server = new McpServer({ name: 'matrix-sdk2', version: '1.0.0' });
    registerSdk2Tools(server);
    return server;
  });
}

export async function startSdk2(): Promise<FrameworkServer> {
  let handler = createHandler();
  const listener = nodeListener(() => handler.fetch);
  let http = await LoopbackHttp.listen(listener);
  const { port } = http;
  return {
    name: 'sdk2',
    version: packageVersion('@modelcontextprotocol/server'),
    url: http.url,
    port,
    keepsSessions: false,
    resumable: false,
    supports: { progress: true, elicitation: false, standaloneStream: false },
    tools: standardTools,
    notes: [
      "`createMcpHandler` serves the 2026-07-28 era natively and 2025-era clients only through its stateless legacy fallback (`legacy: 'stateless'`, the default; the other choice, `'reject'`, refuses them). Sessionful 2025 serving is not an option of the entry: its docs say to route with `isLegacyRequest` to a transport of your own. So: no session id, GET and DELETE 405.",
      'No elicitation for 2025-era clients (n/a): as with mcp-handler, `elicitInput` throws `Client does not support form elicitation.`.',
      'No SSE event ids: not resumable.',
    ],
    restart: async () => {
      await http.close();
      await handler.close();
      handler = createHandler();
      http = await LoopbackHttp.listen(listener, port);
    },
    close: async () => {
      await http.close();
      await handler.close();
    },
  };
}
