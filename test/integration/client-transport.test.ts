/**
 * mcp-shepherd's client transport under the official SDK clients (1.x, and 2.x in its
 * legacy mode) against the demo server (the SDK 1.x server): everything a client does, the
 * server's own messages on the standalone stream, how the session ends, and a supervisor
 * holding a hundred sessions to two upstreams that leaves nothing behind when closed.
 */
import { Client as Client2 } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createClientTransport, createSupervisor, type ShepherdClientTransport } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { connectingSockets, heapAfterGc } from '../support/leaks.js';
import { servingSdk1Client } from '../support/sdk1-client.js';
import { TestClock } from '../support/test-clock.js';
import { waitFor } from '../support/wait.js';

let upstream: DemoServer;
beforeEach(async () => {
  upstream = await DemoServer.start();
});
afterEach(() => upstream.close());

const silent = createLogger('silent');

/** Counts the transport's closes and errors, keeping the SDK's own handlers. */
function watch(transport: ShepherdClientTransport) {
  const seen = { closes: 0, errors: [] as string[] };
  const { onclose, onerror } = transport;
  transport.onclose = () => {
    seen.closes += 1;
    onclose?.();
  };
  transport.onerror = (error) => {
    seen.errors.push(error.message);
    onerror?.(error);
  };
  return seen;
}

describe('SDK 1.x Client with createClientTransport', () => {
  it('calls tools, reads resources and prompts, gets progress, answers sampling and elicitation', async () => {
    const { client } = servingSdk1Client('embedded-client');
    const transport = createClientTransport(upstream.urlVia(), { logger: silent });
    await client.connect(transport);
    expect(transport.sessionId).toMatch(/^[\w-]{43}$/);
    expect(upstream.sessions.has(transport.sessionId as string)).toBe(false);
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp-shepherd-demo' });

    expect((await client.callTool({ name: 'echo', arguments: { text: 'hi' } })).content).toEqual([
      { type: 'text', text: 'hi' },
    ]);
    const resource = await client.readResource({ uri: 'demo://readme' });
    expect(resource.contents).toEqual([{ uri: 'demo://readme', text: 'mcp-shepherd demo resource' }]);
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Say hello to Ada.' });
    const progress: number[] = [];
    await client.callTool({ name: 'count', arguments: { n: 5 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const summary = await client.callTool({ name: 'summarize', arguments: { text: 'long text' } });
    expect(summary.content).toEqual([{ type: 'text', text: 'summary: sampled(Summarize: long text)' }]);
    const confirmed = await client.callTool({ name: 'confirm', arguments: { question: 'Proceed?' } });
    expect(confirmed.content).toEqual([{ type: 'text', text: 'accept:true' }]);
    await client.close();
  });

  it("delivers the server's own messages from the standalone stream, once each, in order", async () => {
    const { client, notes } = servingSdk1Client('embedded-client');
    const transport = createClientTransport(upstream.urlVia(), { logger: silent });
    await client.connect(transport);
    const [upstreamId] = [...upstream.sessions.keys()];
    await waitFor(() => upstream.openGetStreams === 1, 'the upstream GET stream');
    for (const note of ['n1', 'n2', 'n3']) await upstream.notify(upstreamId as string, note);
    await waitFor(() => notes.length === 3, 'three notifications');
    expect(notes).toEqual(['n1', 'n2', 'n3']);
    await client.close();
  });

  it('closing ends the session upstream with DELETE, closes once, and leaves no session', async () => {
    const { client } = servingSdk1Client('embedded-client');
    const transport = createClientTransport(upstream.urlVia(), { logger: silent });
    await client.connect(transport);
    const seen = watch(transport);
    const [upstreamId] = [...upstream.sessions.keys()];
    await client.close();
    expect(seen.closes).toBe(1);
    expect(transport.closeReason).toEqual({ state: 'terminated', reason: 'deleted' });
    expect(upstream.deleted).toEqual([upstreamId]);
    expect(upstream.sessions.size).toBe(0);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toThrow(/Not connected/);
  });

  it('an upstream that forgets the session is re-initialized under the client, which keeps working', async () => {
    const { client } = servingSdk1Client('embedded-client');
    const transport = createClientTransport(upstream.urlVia(), { logger: silent });
    await client.connect(transport);
    const [first] = [...upstream.sessions.keys()];
    await upstream.forget(first as string);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'after restart' } });
    expect(result.content).toEqual([{ type: 'text', text: 'after restart' }]);
    expect([...upstream.sessions.keys()]).not.toContain(first);
    expect(upstream.sessions.size).toBe(1);
    await client.close();
  });

  it('a session that expires answers the call in flight with an error, then errors and closes once with why', async () => {
    const { client } = servingSdk1Client('embedded-client');
    const transport = createClientTransport(upstream.urlVia(), { logger: silent, limits: { maxLifetimeMs: 600 } });
    await client.connect(transport);
    const seen = watch(transport);
    const call = client.callTool({ name: 'count', arguments: { n: 50, delayMs: 100 } });
    await expect(call).rejects.toThrow(/Session not found|closed/);
    await waitFor(() => seen.closes === 1, 'the close');
    expect(transport.closeReason).toEqual({ state: 'expired', reason: 'lifetime' });
    expect(seen.errors).toContain('The session expired (lifetime).');
    expect(seen.closes).toBe(1);
  });
});

describe('SDK 2.x Client (@modelcontextprotocol/client, legacy mode) with createClientTransport', () => {
  it('calls tools, gets progress, answers elicitation', async () => {
    const client = new Client2({ name: 'sdk2-embedded', version: '2.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept' as const, content: { ok: true } }));
    const transport = createClientTransport(upstream.urlVia(), { logger: silent });
    await client.connect(transport);
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'v2' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'v2' }]);
    const progress: number[] = [];
    await client.callTool(
      { name: 'count', arguments: { n: 3 } },
      { onprogress: (p: { progress: number }) => progress.push(p.progress) },
    );
    expect(progress).toEqual([1, 2, 3]);
    const confirmed = await client.callTool({ name: 'confirm', arguments: { question: 'Proceed?' } });
    expect(confirmed.content).toEqual([{ type: 'text', text: 'accept:true' }]);
    await client.close();
    expect(upstream.sessions.size).toBe(0);
  });
});

describe('createSupervisor: many sessions in one service', () => {
  it('holds 100 client sessions to two upstreams; closed, it leaves no actor, timer, socket or memory', async () => {
    const other = await DemoServer.start();
    const clock = new TestClock();
    const supervisor = createSupervisor({ logger: silent, clock, limits: { maxSessions: 200 } });
    const urls = [upstream.urlVia(), other.urlVia()];
    const round = async (count: number) => {
      const clients = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const { client } = servingSdk1Client(`many-${i}`);
          await client.connect(supervisor.clientTransport(urls[i % 2] as string));
          const answer = await client.callTool({ name: 'echo', arguments: { text: `c${i}` } });
          expect(answer.content).toEqual([{ type: 'text', text: `c${i}` }]);
          return client;
        }),
      );
      return clients;
    };
    // Warm code paths and pools up, at the same size, before the baseline.
    for (const client of await round(100)) await client.close();
    await waitFor(() => connectingSockets() === 0, 'warm-up connects to finish', 10_000);
    const baseline = heapAfterGc();

    const clients = await round(100);
    expect(supervisor.listSessions()).toHaveLength(100);
    expect(upstream.deleted.length + other.deleted.length).toBe(100);
    expect(upstream.sessions.size).toBe(50);
    expect(other.sessions.size).toBe(50);
    expect(supervisor.sessions.list().every((view) => view.streams.some((s) => s.kind === 'get'))).toBe(true);

    await supervisor.close();
    expect(supervisor.runtime.sessionActors()).toEqual([]);
    expect(supervisor.runtime.actor.getSnapshot().status).not.toBe('active');
    expect(clock.pending()).toEqual([]);
    expect(upstream.sessions.size + other.sessions.size).toBe(0);
    expect(upstream.deleted.length + other.deleted.length).toBe(200);
    await waitFor(() => upstream.openGetStreams + other.openGetStreams === 0, 'upstream GET streams to close');
    // Not a socket left to either upstream: the GET streams' own clients and the pooled ones.
    await waitFor(() => upstream.connections + other.connections === 0, 'every upstream socket to close', 2_000);
    await waitFor(() => connectingSockets() === 0, 'in-flight connects to finish', 10_000);
    for (const client of clients) await client.close();
    // What the test itself still holds (its clients, their transports) is not the supervisor's.
    clients.length = 0;
    const grown = heapAfterGc() - baseline;
    // A leak of 20 KB per session would show as 2 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    await other.close();
  }, 60_000);
});
