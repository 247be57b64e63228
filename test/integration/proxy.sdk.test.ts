/** The official SDK 1.x client through mcp-shepherd to the official SDK 1.x server. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { SdkUpstream } from '../support/sdk-upstream.js';

let upstream: SdkUpstream;
let shepherd: Shepherd;
let url: string;

beforeEach(async () => {
  upstream = await SdkUpstream.start();
  shepherd = createShepherd({ upstream: { url: upstream.urlVia() }, logger: createLogger('silent') });
  ({ url } = await shepherd.listen({ port: 0 }));
});
afterEach(async () => {
  await shepherd.close();
  await upstream.close();
});

describe('SDK 1.x client → mcp-shepherd → SDK 1.x server', () => {
  it('initializes and calls a tool', async () => {
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    expect(transport.sessionId).toBeDefined();
    expect(upstream.sessions.has(transport.sessionId as string)).toBe(false);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello' }]);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    await transport.terminateSession();
    await client.close();
    expect(upstream.sessions.size).toBe(0);
  });
});
