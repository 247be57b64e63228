/**
 * `tmcp`: a tmcp `McpServer` (zod through `@tmcp/adapter-zod`) behind `@tmcp/transport-http`'s
 * `HttpTransport`, whose `respond(Request)` is served from node:http by the small fetch
 * adapter. Its session state (client capabilities, the GET stream) lives in the transport's
 * in-memory session managers, so a restart makes a new server and transport.
 */
import { ZodJsonSchemaAdapter } from '@tmcp/adapter-zod';
import { HttpTransport } from '@tmcp/transport-http';
import { McpServer } from 'tmcp';
import { z } from 'zod';
import { LoopbackHttp, nodeListener } from './loopback-http.js';
import { confirmText, type FrameworkServer, packageVersion, sleep, standardTools } from './types.js';

function createTransport(): HttpTransport {
  const server = new McpServer(
    { name: 'matrix-tmcp', version: '1.0.0', description: 'the compatibility matrix server' },
    { adapter: new ZodJsonSchemaAdapter(), capabilities: { tools: {} } },
  );
  server.tool({ name: 'echo', description: 'echo', schema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.tool(
    {
      name: 'count',
      description: 'count',
      schema: z.object({ n: z.number().int().min(1), delayMs: z.number().int().min(0).default(0) }),
    },
    async ({ n, delayMs = 0 }) => {
      for (let i = 1; i <= n; i++) {
        if (i > 1) await sleep(delayMs);
        server.progress(i, n);
      }
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );
  // Safe to run again from the top: tmcp serves 2026-07-28 too, and there an elicitation is a
  // multi-round-trip result whose retry starts the handler again (tmcp refuses it otherwise).
  server.tool({ name: 'confirm', description: 'confirm', schema: z.object({}), replayable: true }, async () => {
    const result = await server.elicitation('Proceed?', z.object({ ok: z.boolean() }));
    return { content: [{ type: 'text', text: confirmText(result) }] };
  });
  return new HttpTransport(server, { path: '/mcp' });
}

export async function startTmcp(): Promise<FrameworkServer> {
  let transport = createTransport();
  const listener = nodeListener(() => (request) => transport.respond(request));
  let http = await LoopbackHttp.listen(listener);
  const { port } = http;
  return {
    name: 'tmcp',
    version: `${packageVersion('tmcp')}, ${packageVersion('@tmcp/transport-http')}, ${packageVersion('@tmcp/adapter-zod')}`,
    url: http.url,
    port,
    keepsSessions: true,
    resumable: false,
    supports: { progress: true, elicitation: true, standaloneStream: true },
    tools: standardTools,
    notes: [
      "Accepts any `Mcp-Session-Id`, one it never minted too: POST, GET and DELETE with an unknown id are served (a session is an id keyed into its session managers). So a restart goes unnoticed, and the session silently lost what it knew (the client's capabilities and info from initialize).",
      'Answers an initialize for 2025-11-25 with 2025-06-18, the newest session-era revision it speaks.',
      "Progress and elicitation go on the tools/call's response stream. One GET stream per session (a second one gets 409).",
      'No SSE event ids, so not resumable: a cut mid-call loses the rest of the call, directly and through the proxy.',
      "Dual-era: it answers `server/discover` for 2026-07-28, so mcp-shepherd (`--upstream-protocol auto`) bridges its 2025 clients to that era: elicitation becomes a multi-round-trip result, which tmcp allows only for tools marked `replayable: true` (the matrix's `confirm` is). With `--upstream-protocol 2025` the session era goes through as it is.",
    ],
    restart: async () => {
      await http.close();
      await transport.close();
      transport = createTransport();
      http = await LoopbackHttp.listen(listener, port);
    },
    close: async () => {
      await http.close();
      await transport.close();
    },
  };
}
