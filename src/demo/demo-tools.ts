/** What the demo MCP server offers: a tool of each kind the proxy must carry, a resource, a prompt. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerDemoFeatures(server: McpServer): void {
  server.registerTool(
    'echo',
    { description: 'Returns its text.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'count',
    {
      description: 'Counts to n, sending a progress notification at each step.',
      inputSchema: { n: z.number().int().min(1).max(1000), delayMs: z.number().int().min(0).max(5000).optional() },
    },
    async ({ n, delayMs = 0 }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: n, message: `step ${i}` },
          });
        }
        if (delayMs > 0) await sleep(delayMs);
      }
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );

  server.registerTool(
    'summarize',
    {
      description: 'Asks the client to sample a summary (a server-to-client request).',
      inputSchema: { text: z.string() },
    },
    async ({ text }, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: {
            messages: [{ role: 'user', content: { type: 'text', text: `Summarize: ${text}` } }],
            maxTokens: 100,
          },
        },
        CreateMessageResultSchema,
      );
      const { content } = result;
      return { content: [{ type: 'text', text: `summary: ${content.type === 'text' ? content.text : ''}` }] };
    },
  );

  server.registerTool(
    'confirm',
    { description: 'Asks the user to confirm (elicitation).', inputSchema: { question: z.string() } },
    async ({ question }, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: question,
            requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
          },
        },
        ElicitResultSchema,
      );
      return { content: [{ type: 'text', text: `${result.action}:${result.content?.ok ?? ''}` }] };
    },
  );

  server.registerResource('readme', 'demo://readme', { title: 'Read me', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'mcp-shepherd demo resource' }],
  }));

  server.registerPrompt('greet', { description: 'Greets someone.', argsSchema: { name: z.string() } }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}.` } }],
  }));
}
