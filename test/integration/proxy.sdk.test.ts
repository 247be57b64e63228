/**
 * The official SDK clients (1.x and the 2.x `@modelcontextprotocol/client`) through
 * mcp-shepherd to the demo server (the official SDK 1.x server with an event store): tools,
 * resources, prompts, progress, and server-to-client sampling and elicitation.
 */
import { Client as Client2, StreamableHTTPClientTransport as Transport2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../src/demo/demo-server.js';
import type { Shepherd } from '../../src/index.js';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { openSession } from '../support/raw-client.js';
import { servingSdk1Client } from '../support/sdk1-client.js';
import { waitFor } from '../support/wait.js';

let fixture: ProxyFixture;
let upstream: DemoServer;
let shepherd: Shepherd;
let url: string;

beforeEach(async () => {
  fixture = await startProxy();
  ({ upstream, shepherd, url } = fixture);
});
afterEach(() => fixture.close());

describe('SDK 1.x client → mcp-shepherd → SDK server', () => {
  async function connect() {
    const { client } = servingSdk1Client();
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    return { client, transport };
  }

  it('initializes with a proxy-minted session id and calls a tool', async () => {
    const { client, transport } = await connect();
    expect(transport.sessionId).toMatch(/^[\x21-\x7e]{43}$/);
    expect(upstream.sessions.has(transport.sessionId as string)).toBe(false);
    expect(upstream.sessions.size).toBe(1);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello' }]);
    await client.close();
  });

  it('carries resources, prompts and progress notifications', async () => {
    const { client } = await connect();
    const resource = await client.readResource({ uri: 'demo://readme' });
    expect(resource.contents).toEqual([{ uri: 'demo://readme', text: 'mcp-shepherd demo resource' }]);
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Say hello to Ada.' });
    const progress: number[] = [];
    const counted = await client.callTool({ name: 'count', arguments: { n: 5 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(counted.content).toEqual([{ type: 'text', text: 'counted to 5' }]);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    await client.close();
  });

  it('carries server-to-client sampling and elicitation both ways', async () => {
    const { client } = await connect();
    const summary = await client.callTool({ name: 'summarize', arguments: { text: 'long text' } });
    expect(summary.content).toEqual([{ type: 'text', text: 'summary: sampled(Summarize: long text)' }]);
    const confirmed = await client.callTool({ name: 'confirm', arguments: { question: 'Proceed?' } });
    expect(confirmed.content).toEqual([{ type: 'text', text: 'accept:true' }]);
    await client.close();
  });

  it('ends the session upstream and locally on DELETE', async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    expect(shepherd.listSessions().map((s) => s.id)).toEqual([sessionId]);
    await transport.terminateSession();
    expect(upstream.sessions.size).toBe(0);
    expect(upstream.deleted).toHaveLength(1);
    expect(shepherd.listSessions()).toEqual([]);
    await client.close();
  });
});

describe('SDK 2.x client (@modelcontextprotocol/client) → mcp-shepherd → SDK server', () => {
  it('initializes, calls tools with progress, reads resources and answers sampling', async () => {
    const client = new Client2({ name: 'sdk2-client', version: '2.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant' as const,
      model: 'm',
      content: { type: 'text' as const, text: 'from v2' },
    }));
    const transport = new Transport2(new URL(url));
    await client.connect(transport);
    expect(shepherd.listSessions()).toHaveLength(1);
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'v2' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'v2' }]);
    const progress: number[] = [];
    await client.callTool(
      { name: 'count', arguments: { n: 3 } },
      { onprogress: (p: { progress: number }) => progress.push(p.progress) },
    );
    expect(progress).toEqual([1, 2, 3]);
    const resource = await client.readResource({ uri: 'demo://readme' });
    expect(resource.contents[0]).toMatchObject({ text: 'mcp-shepherd demo resource' });
    const summary = await client.callTool({ name: 'summarize', arguments: { text: 'x' } });
    expect(summary.content).toEqual([{ type: 'text', text: 'summary: from v2' }]);
    await client.close();
  });
});

describe('typed session hooks for embedders', () => {
  it('onSessionCreated once the client has its id; onSessionClosed with why; a throwing hook changes nothing', async () => {
    const created: Array<{ sessionId: string; protocolVersion: string | undefined }> = [];
    const closed: Array<{ sessionId: string; state: string; reason: string }> = [];
    const hooked = await startProxy({
      onSessionCreated: (info) => {
        created.push(info);
        throw new Error('a careless hook');
      },
      onSessionClosed: (info) => closed.push(info),
      limits: { idleTimeoutMs: 200 },
    });
    try {
      const first = new StreamableHTTPClientTransport(new URL(hooked.url));
      const client = new Client({ name: 'hooks-client', version: '1.0.0' });
      await client.connect(first);
      expect(created).toEqual([{ sessionId: first.sessionId, protocolVersion: '2025-11-25' }]);
      expect(await client.listTools()).toMatchObject({ tools: expect.any(Array) });
      const firstId = first.sessionId;
      await first.terminateSession();
      expect(closed).toEqual([{ sessionId: firstId, state: 'terminated', reason: 'deleted' }]);
      await client.close();

      // A session left alone (no stream open) expires; its close says so.
      const second = await openSession(hooked.url, '2025-06-18');
      await waitFor(() => closed.length === 2, 'the idle session to expire');
      expect(closed[1]).toEqual({ sessionId: second.sessionId, state: 'expired', reason: 'idle' });
      expect(created).toEqual([
        { sessionId: firstId, protocolVersion: '2025-11-25' },
        { sessionId: second.sessionId, protocolVersion: '2025-06-18' },
      ]);
    } finally {
      await hooked.close();
    }
  });
});
