/**
 * Three replicas sharing sessions through a real redis-server (docs/replicas.md), in front of
 * the SDK demo server, and SDK 1.x clients whose requests land on every replica in turn.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { ReplicaSet, sessionsOn } from '../support/replica-set.js';
import { servingSdk1Client } from '../support/sdk1-client.js';

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');

describe('replicas sharing sessions through Redis', () => {
  let redis: RedisServer;
  let upstream: DemoServer;
  let set: ReplicaSet;

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: true });
    upstream = await DemoServer.start();
    set = new ReplicaSet(redis.url, upstream.urlVia());
    await Promise.all([0, 1, 2].map((i) => set.start(i)));
  }, 180_000);
  afterAll(async () => {
    await set?.stop();
    await upstream?.close();
    await redis?.stop();
  });

  const connect = async (name: string) => {
    const { client } = servingSdk1Client(name);
    const transport = new StreamableHTTPClientTransport(new URL(set.url), { fetch: set.fetch });
    await client.connect(transport);
    return { client, transport };
  };

  it('serves one session whose requests land on every replica in turn', async () => {
    const from = set.landed.length;
    const { client, transport } = await connect('round-robin');
    // initialize, notifications/initialized and the GET stream went to three replicas.
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('count');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
    const progress: number[] = [];
    const counted = await client.callTool({ name: 'count', arguments: { n: 10, delayMs: 10 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(counted)).toBe('counted to 10');
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The elicitation's answer is a POST that lands on a replica that does not own the session.
    expect(textOf(await client.callTool({ name: 'confirm', arguments: { question: 'ok?' } }))).toBe('accept:true');
    expect(new Set(set.landed.slice(from))).toEqual(new Set([0, 1, 2]));
    // One replica holds the session; the others forwarded to it.
    const holders = await Promise.all(set.replicas.map(async (r): Promise<string[]> => (r ? sessionsOn(r) : [])));
    expect(holders.filter((ids) => ids.includes(transport.sessionId as string))).toHaveLength(1);
    await client.close();
  }, 60_000);
});
