/**
 * `mcp-handler`: Vercel's `createMcpHandler(initialize, options)`, a Next.js-style handler
 * `(req: Request) => Promise<Response>`, served from node:http by the small fetch adapter.
 * It is built on the SDK 2.x entry of the same name: 2025-era clients get stateless serving
 * (no session id; GET and DELETE 405), so it keeps no sessions.
 */
import { createMcpHandler } from 'mcp-handler';
import { LoopbackHttp, nodeListener } from './loopback-http.js';
import { registerSdk2Tools } from './sdk2-tools.js';
import { type FrameworkServer, packageVersion, standardTools } from './types.js';

const createHandler = () =>
  createMcpHandler(registerSdk2Tools, { serverInfo: { name: 'matrix-mcp-handler', version: '1.0.0' } });

export async function startMcpHandler(): Promise<FrameworkServer> {
  let handler = createHandler();
  const listener = nodeListener(() => handler);
  let http = await LoopbackHttp.listen(listener);
  const { port } = http;
  return {
    name: 'mcp-handler',
    version: packageVersion('mcp-handler'),
    url: http.url,
    port,
    keepsSessions: false,
    resumable: false,
    supports: { progress: true, elicitation: false, standaloneStream: false },
    tools: standardTools,
    notes: [
      'Built on the SDK 2.x `createMcpHandler`; 2025-era clients get its stateless fallback: no session id, a fresh `McpServer` per request, GET and DELETE answered 405 `Method not allowed.`.',
      "No elicitation for 2025-era clients (n/a in the matrix): the per-request server never saw the client's initialize, so `elicitInput` throws `Client does not support form elicitation.` and the tool answers that as an error.",
      'No SSE event ids, so nothing resumes: a cut mid-call loses the rest of the call. A restart loses nothing, there being nothing to lose.',
    ],
    restart: async () => {
      await http.close();
      handler = createHandler();
      http = await LoopbackHttp.listen(listener, port);
    },
    close: () => http.close(),
  };
}
