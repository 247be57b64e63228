/** The matrix's tools on an SDK 2.x `McpServer` (`@modelcontextprotocol/server`): what `sdk2` and `mcp-handler` serve. */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { confirmSchema, confirmText, sleep } from './types.js';

/**
 * `count {n, delayMs}`: n progress notifications (when asked for), then `counted to n`. A
 * request cancelled meanwhile ("MUST treat a disconnect as cancel") stops, and `onCancelled`
 * hears how far it got.
 */
export function registerCount(server: McpServer, onCancelled?: (at: number) => void): void {
  server.registerTool(
    'count',
    { inputSchema: z.object({ n: z.number().int().min(1), delayMs: z.number().int().min(0).default(0) }) },
    async ({ n, delayMs }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (i > 1) await sleep(delayMs);
        if (ctx.mcpReq.signal.aborted) {
          onCancelled?.(i - 1);
          return { content: [{ type: 'text', text: `cancelled at ${i - 1}` }] };
        }
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: n },
          });
        }
      }
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );
}

export function registerSdk2Tools(server: McpServer): void {
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  registerCount(server);
  server.registerTool('confirm', { inputSchema: z.object({}) }, async (_args, ctx) => {
    const result = await ctx.mcpReq.elicitInput({ mode: 'form', message: 'Proceed?', requestedSchema: confirmSchema });
    return { content: [{ type: 'text', text: confirmText(result) }] };
  });
}
