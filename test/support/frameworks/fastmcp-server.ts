/**
 * The `fastmcp` kind's process: a FastMCP server with the matrix's tools on its httpStream
 * transport (mcp-proxy's `startHTTPServer`) at 127.0.0.1:$PORT/mcp. Run as a child process
 * (`node --import tsx`) because mcp-proxy logs every session on console.log, and so that a
 * restart is a real process restart. Prints `listening on port <port>` once it listens.
 */
import { FastMCP, type Logger } from 'fastmcp';
import { z } from 'zod';
import { confirmSchema, confirmText, sleep } from './types.js';

const port = Number(process.env.PORT);
const quiet: Logger = { debug() {}, error() {}, info() {}, log() {}, warn() {} };

const server = new FastMCP({ name: 'matrix-fastmcp', version: '1.0.0', logger: quiet });
server.addTool({
  name: 'echo',
  parameters: z.object({ text: z.string() }),
  execute: async ({ text }) => text,
});
server.addTool({
  name: 'count',
  parameters: z.object({ n: z.number().int().min(1), delayMs: z.number().int().min(0).default(0) }),
  execute: async ({ n, delayMs }, { reportProgress }) => {
    for (let i = 1; i <= n; i++) {
      if (i > 1) await sleep(delayMs);
      await reportProgress({ progress: i, total: n });
    }
    return `counted to ${n}`;
  },
});
server.addTool({
  name: 'confirm',
  parameters: z.object({}),
  execute: async (_args, { elicit }) =>
    confirmText(await elicit({ mode: 'form', message: 'Proceed?', requestedSchema: confirmSchema })),
});

await server.start({ transportType: 'httpStream', httpStream: { port, host: '127.0.0.1', endpoint: '/mcp' } });
process.stderr.write(`listening on port ${port}\n`);
