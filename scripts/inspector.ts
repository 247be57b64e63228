/**
 * `npm run inspector`: the Stately inspector bridge from @statelyai/inspect on port 8181 (or
 * the first argument), for `mcp-shepherd --inspect`. It opens a browser page that embeds the
 * Stately inspector (stately.ai/inspect) and relays what mcp-shepherd sends to its WebSocket.
 */
import { createInspectorServer } from '@statelyai/inspect/server';

const port = Number(process.argv[2] ?? 8181);
createInspectorServer({ port, autoOpen: process.env.CI === undefined });
process.stderr.write(
  `Stately inspector bridge on http://localhost:${port}/ (WebSocket ws://localhost:${port}).\n` +
    `Start mcp-shepherd with --inspect ws://127.0.0.1:${port}. Stop with Ctrl-C.\n`,
);
