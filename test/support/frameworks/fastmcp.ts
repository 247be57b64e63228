/**
 * `fastmcp`: a FastMCP server on its httpStream transport, which is mcp-proxy's
 * `startHTTPServer` (sessions in memory, an in-memory event store by default), run as a child
 * process (fastmcp-server.ts). FastMCP takes a fixed port (it does not report the one it got),
 * so the fixture picks a free one; a restart kills the process and starts it again there.
 */
import { fileURLToPath } from 'node:url';
import { freePort } from '../peer-process.js';
import { spawnServer, stopChild } from './child-server.js';
import { type FrameworkServer, packageVersion, standardTools } from './types.js';

const script = fileURLToPath(new URL('./fastmcp-server.ts', import.meta.url));
const spawnFastmcp = (port: number) =>
  spawnServer({ args: ['--import', 'tsx', script], port, ready: /listening on port/, name: 'fastmcp' });

export async function startFastmcp(): Promise<FrameworkServer> {
  const port = await freePort();
  let child = await spawnFastmcp(port);
  return {
    name: 'fastmcp',
    version: packageVersion('fastmcp'),
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    keepsSessions: true,
    resumable: true,
    supports: { progress: true, elicitation: true, standaloneStream: true },
    tools: standardTools,
    notes: [
      "FastMCP's httpStream transport is mcp-proxy's `startHTTPServer` (sessions in memory, idle sessions reaped after 30 min, an in-memory event store by default), which also serves the 2026-07-28 era on the same endpoint (not exercised here).",
      "Every initialize takes about 1 s: mcp-proxy connects the session's server to its transport before handing it the initialize request, and `FastMCPSession.connect()` first polls for the client's capabilities 10 × 100 ms; they are not known yet, so it gives up (and never starts its pings).",
      "`context.elicit()` is `server.elicitInput()` without a related request id: the elicitation request goes on the session's **GET stream**, not on the tools/call's response stream. A client, or a proxy, that has no GET stream open at that moment never gets it, and the call waits. The proxy opens the upstream GET right after initialize, before it forwards the session's next request, and keeps what arrives until the client's GET.",
      'An unknown session id gets 404 `Session not found` (code -32001) on POST, GET and DELETE. mcp-proxy logs every session on console.log, so the fixture runs it as a child process.',
    ],
    restart: async () => {
      await stopChild(child);
      child = await spawnFastmcp(port);
    },
    close: () => stopChild(child),
  };
}
