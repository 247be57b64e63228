/**
 * `@modelcontextprotocol/server-everything` in stdio mode behind mcp-shepherd, one process
 * per session, used by the official SDK 1.x client over Streamable HTTP.
 */
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { liveProcessCount } from '../../src/upstream/stdio-runner.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

let shepherd: Shepherd;
let url: string;

beforeAll(async () => {
  shepherd = createShepherd({
    upstream: { url: 'stdio:server-everything', process: { command: process.execPath, args: [everything, 'stdio'] } },
    logger: createLogger('silent'),
  });
  ({ url } = await shepherd.listen({ port: 0 }));
});
afterAll(async () => {
  await shepherd.close();
});

async function connect() {
  const client = new Client({ name: 'stdio-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

describe('server-everything (stdio) behind mcp-shepherd', () => {
  it('serves tools, progress, resources and prompts from its own process', async () => {
    const before = liveProcessCount();
    const { client, transport } = await connect();
    expect(liveProcessCount()).toBe(before + 1);
    expect((await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } })).content).toEqual([
      { type: 'text', text: 'Echo: over stdio' },
    ]);
    const progress: number[] = [];
    await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 3 } },
      undefined,
      {
        onprogress: (p) => progress.push(p.progress),
      },
    );
    expect(progress).toEqual([1, 2, 3]);
    const { resources } = await client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const prompt = await client.getPrompt({ name: 'simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    await transport.terminateSession();
    await client.close();
    expect(liveProcessCount()).toBe(before);
  });

  it('gives each session its own process', async () => {
    const before = liveProcessCount();
    const a = await connect();
    const b = await connect();
    expect(liveProcessCount()).toBe(before + 2);
    await a.client.setLoggingLevel('debug');
    expect((await b.client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })).content).toEqual([
      { type: 'text', text: 'The sum of 1 and 2 is 3.' },
    ]);
    await a.transport.terminateSession();
    await b.transport.terminateSession();
    expect(liveProcessCount()).toBe(before);
  });
});
