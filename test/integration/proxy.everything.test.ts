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
import { TcpRelay } from '../support/tcp-relay.js';

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

describe("server-everything's event store, which loses a resumed stream's later events", () => {
  it('a long call cut mid-way: the proxy resumes again until the answer comes, every progress once', async () => {
    const relay = await TcpRelay.start(peer.port);
    const cutting = createShepherd({
      upstream: { url: `http://127.0.0.1:${relay.port}/mcp` },
      logger: createLogger('silent'),
      // Resume quickly after the cut, and again soon when the resumed stream stays silent.
      connection: { backoff: { baseMs: 100, jitter: 0 }, resumeSilenceMs: 1500, maxSilentResumes: 4 },
    });
    const { url } = await cutting.listen({ port: 0 });
    const caller = new Client({ name: 'everything-cut-client', version: '1.0.0' });
    await caller.connect(new StreamableHTTPClientTransport(new URL(url)));
    const silentResumes: string[] = [];
    const sessionId = cutting.listSessions()[0]?.id as string;
    cutting.runtime.session(sessionId)?.on('session.stream.status', (e) => {
      if (e.state === 'waiting' && e.status.reason === 'resume-silent') silentResumes.push(String(e.stream));
      if (process.env.DEBUG_EVERYTHING)
        console.log(
          'status',
          e.stream,
          e.state,
          e.status.reason,
          e.status.status,
          e.status.lastEventId,
          e.status.opens,
        );
    });
    if (process.env.DEBUG_EVERYTHING)
      cutting.runtime
        .session(sessionId)
        ?.on('session.event', (e) => console.log('event', e.stream, e.data.slice(0, 120)));
    try {
      const progress: number[] = [];
      let cut = false;
      const result = await caller.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 10 } },
        undefined,
        {
          timeout: 20_000,
          onprogress: (p) => {
            progress.push(p.progress);
            if (p.progress === 2 && !cut) {
              cut = true;
              relay.cutAll();
            }
          },
        },
      );
      expect((result.content as Array<{ text: string }>)[0]?.text).toMatch(/Long running operation completed/);
      expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // The first resume came too early to replay the rest; a later one got it.
      expect(silentResumes.length).toBeGreaterThan(0);
    } finally {
      await caller.close();
      await cutting.close();
      await relay.close();
    }
  }, 30_000);
});
