/**
 * The reference server `@modelcontextprotocol/server-everything` (streamableHttp mode) as the
 * upstream, started by the test, used through mcp-shepherd by the SDK 1.x client.
 */
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { type PeerProcess, startPeer } from '../support/peer-process.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

let peer: PeerProcess;
let shepherd: Shepherd;
let client: Client;

beforeAll(async () => {
  peer = await startPeer(everything, ['streamableHttp'], /listening on port/);
  shepherd = createShepherd({ upstream: { url: `http://127.0.0.1:${peer.port}/mcp` }, logger: createLogger('silent') });
  const { url } = await shepherd.listen({ port: 0 });
  client = new Client({ name: 'everything-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
}, 30_000);
afterAll(async () => {
  await client?.close();
  await shepherd?.close();
  await peer?.stop();
});

describe('server-everything behind mcp-shepherd', () => {
  it('lists and calls tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    expect((await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).content).toEqual([
      { type: 'text', text: 'Echo: hi' },
    ]);
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    expect((sum.content as Array<{ text: string }>)[0]?.text).toBe('The sum of 2 and 3 is 5.');
  });

  it('streams progress of a long-running operation', async () => {
    const progress: number[] = [];
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 4 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(progress).toEqual([1, 2, 3, 4]);
    expect((result.content as Array<{ text: string }>)[0]?.text).toMatch(/Long running operation completed/);
  });

  it('reads resources and prompts', async () => {
    const { resources } = await client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const first = resources[0] as { uri: string };
    const read = await client.readResource({ uri: first.uri });
    expect(read.contents[0]?.uri).toBe(first.uri);
    const prompt = await client.getPrompt({ name: 'simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
  });
});
