/**
 * Three replicas sharing sessions through a real redis-server (docs/replicas.md), in front of
 * the SDK demo server, and SDK 1.x clients whose requests land on every replica in turn.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { openSession } from '../support/raw-client.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { type Replica, ReplicaSet, sessionsOn } from '../support/replica-set.js';
import { RoundRobinBalancer } from '../support/round-robin-lb.js';
import { servingSdk1Client } from '../support/sdk1-client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads an SSE response's events until `enough` says so (then aborts), or its end. */
async function readEvents(
  response: Response,
  enough: (events: EventSourceMessage[]) => boolean,
  abort?: AbortController,
): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  try {
    while (!enough(events)) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    if (!abort?.signal.aborted) throw error;
  }
  abort?.abort();
  return events;
}

const progressOf = (events: EventSourceMessage[]) =>
  events.flatMap((e) => {
    const message = e.data ? (JSON.parse(e.data) as { method?: string; params?: { progress?: number } }) : {};
    return message.method === 'notifications/progress' ? [message.params?.progress as number] : [];
  });

/**
 * What a checker finds in what a client received of 1..n: none lost, none twice, in order
 * (Jepsen's lost, duplicated and non-monotonic anomalies).
 */
function anomalies(received: readonly number[], n: number) {
  const seen = new Set(received);
  const lost = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !seen.has(i));
  const duplicated = received.length - seen.size;
  const outOfOrder = received.filter((value, i) => i > 0 && value < (received[i - 1] as number)).length;
  return { lost, duplicated, outOfOrder };
}

/** What a raw POST of a session carries, as the SDK client sends it. */
const sessionHeaders = (transport: StreamableHTTPClientTransport) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-session-id': transport.sessionId as string,
  'mcp-protocol-version': transport.protocolVersion as string,
});

/**
 * A resume sent right after its stream's client went away: until the owner (perhaps one hop
 * further) has seen that client leave, the stream is still held and the resume gets 409,
 * which a client retries. A few retries, then whatever came.
 */
async function resumeUntilFree(url: string, headers: Record<string, string>, signal?: AbortSignal) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { headers, ...(signal ? { signal } : {}) });
    if (response.status !== 409 || attempt === 20) return response;
    await response.body?.cancel();
    await sleep(50);
  }
}

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

  /** A session counting to `n` with progress (50 ms apart), once `first` of them arrived; and its owner. */
  const countingOnOwner = async (name: string, n: number, first: number) => {
    const { client, transport } = await connect(name);
    const sessionId = transport.sessionId as string;
    const owner = await ownerOf(set, sessionId);
    const received: Array<{ progress: number; at: number }> = [];
    const call = client.callTool({ name: 'count', arguments: { n, delayMs: 50 } }, undefined, {
      onprogress: (p) => received.push({ progress: p.progress, at: Date.now() }),
      timeout: 60_000,
    });
    while (received.length < first) await sleep(10);
    return { client, sessionId, owner, received, call };
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
    const owner = await ownerOf(set, transport.sessionId as string);
    // Any replica's admin API lists the cluster's sessions with their owner.
    const other = set.replicas.find((r) => r && r !== owner) as Replica;
    const listed = (await (await fetch(new URL('/sessions?scope=cluster', other.adminUrl))).json()) as {
      replica: string;
      sessions: Array<{ sessionId: string; owner: string; here: boolean }>;
    };
    expect(listed.replica).toBe(other.id);
    expect(listed.sessions).toContainEqual({ sessionId: transport.sessionId, owner: owner.id, here: false });
    // The forwards and the store's round trips are counted.
    const metrics = await (await fetch(new URL('/metrics', other.adminUrl))).text();
    expect(Number(/^mcp_shepherd_cluster_forwards_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^mcp_shepherd_cluster_store_up 1$/m);
    expect(metrics).toMatch(/mcp_shepherd_cluster_store_seconds_count\{operation="owner",ok="true"\} [1-9]/);
    await client.close();
  }, 60_000);

  it('a replica that forwards a session asks the store for its owner once, not on every request', async () => {
    const { client, transport } = await connect('route-cache');
    const owner = await ownerOf(set, transport.sessionId as string);
    const other = set.replicas.find((r) => r && r !== owner) as Replica;
    const counts = async () => {
      const metrics = await (await fetch(new URL('/metrics', other.adminUrl))).text();
      const count = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? 0);
      return {
        forwards: count(/^mcp_shepherd_cluster_forwards_total (\d+)/m),
        lookups: count(/^mcp_shepherd_cluster_store_seconds_count\{operation="owner",ok="true"\} (\d+)/m),
      };
    };
    const before = await counts();
    const headers = sessionHeaders(transport);
    const started = performance.now();
    for (let i = 0; i < 10; i++) {
      const call = {
        jsonrpc: '2.0',
        id: `rc-${i}`,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: `r${i}` } },
      };
      const answer = await fetch(other.url, { method: 'POST', headers, body: JSON.stringify(call) });
      expect(await answer.text()).toContain(`r${i}`);
    }
    const elapsedMs = performance.now() - started;
    const after = await counts();
    expect(after.forwards - before.forwards).toBe(10);
    // A lookup's route is kept for a third of the TTL (333 ms here): at most one lookup per
    // such period of the run, however fast or slow the machine (without the cache: 10).
    expect(after.lookups - before.lookups).toBeLessThanOrEqual(Math.min(10, Math.floor(elapsedMs / 333) + 1));
    await client.close();
  }, 60_000);

  it('serves a session behind a round-robin TCP load balancer', async () => {
    const balancer = await RoundRobinBalancer.start(
      set.replicas.map((r) => new URL((r as Replica).url).port).map(Number),
    );
    // No keep-alive: every request is a new connection, so the balancer sends it to the next replica.
    const agent = new Agent({ pipelining: 0 });
    try {
      const { client } = servingSdk1Client('balanced');
      const url = new URL(`http://127.0.0.1:${balancer.port}/mcp`);
      const fetchVia = (input: string | URL | Request, init?: RequestInit) =>
        fetch(input, { ...init, dispatcher: agent } as unknown as RequestInit);
      await client.connect(new StreamableHTTPClientTransport(url, { fetch: fetchVia }));
      for (let i = 0; i < 6; i++) {
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `n${i}` } }))).toBe(`n${i}`);
      }
      const progress: number[] = [];
      await client.callTool({ name: 'count', arguments: { n: 5 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(progress).toEqual([1, 2, 3, 4, 5]);
      expect(balancer.connections.every((count) => count >= 3)).toBe(true);
      await client.close();
    } finally {
      await agent.close();
      await balancer.close();
    }
  }, 60_000);

  it('resumes a stream on another replica with Last-Event-ID', async () => {
    const { client, transport } = await connect('resume');
    const [first, second] = set.replicas as [Replica, Replica];
    const headers = sessionHeaders(transport);
    const call = {
      jsonrpc: '2.0',
      id: 'resume-1',
      method: 'tools/call',
      params: { name: 'count', arguments: { n: 20, delayMs: 30 }, _meta: { progressToken: 'p' } },
    };
    const abort = new AbortController();
    const posted = await fetch(first.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(call),
      signal: abort.signal,
    });
    const before = await readEvents(posted, (events) => progressOf(events).length >= 5, abort);
    const lastEventId = before.filter((e) => e.id).at(-1)?.id as string;
    const resumed = await resumeUntilFree(second.url, {
      ...headers,
      accept: 'text/event-stream',
      'last-event-id': lastEventId,
    });
    expect(resumed.status).toBe(200);
    const after = await readEvents(resumed, (events) => events.some((e) => e.data.includes('counted to 20')));
    const progress = [...progressOf(before), ...progressOf(after)];
    expect(anomalies(progress, 20)).toEqual({ lost: [], duplicated: 0, outOfOrder: 0 });
    await client.close();
  }, 60_000);

  it('resumes the GET stream on another replica with Last-Event-ID', async () => {
    const [first, second] = set.replicas as [Replica, Replica];
    const known = new Set(upstream.sessions.keys());
    const { headers } = await openSession(first.url, '2025-11-25');
    const upstreamId = [...upstream.sessions.keys()].find((id) => !known.has(id)) as string;
    const messagesOf = (events: EventSourceMessage[]) =>
      events.flatMap((e) => (e.data ? [(JSON.parse(e.data) as { params?: { data?: string } }).params?.data] : []));
    const abort = new AbortController();
    const listening = await fetch(first.url, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    await upstream.notify(upstreamId, 'one');
    const before = await readEvents(listening, (events) => messagesOf(events).includes('one'), abort);
    const lastEventId = before.filter((e) => e.id && e.data).at(-1)?.id as string;
    // Sent while no client holds the stream: they wait in the log.
    await upstream.notify(upstreamId, 'two');
    await upstream.notify(upstreamId, 'three');
    const again = new AbortController();
    const resumed = await resumeUntilFree(
      second.url,
      { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId },
      again.signal,
    );
    expect(resumed.status).toBe(200);
    const after = await readEvents(resumed, (events) => messagesOf(events).includes('three'), again);
    expect(messagesOf(after)).toEqual(['two', 'three']);
  }, 60_000);

  it('kill -9 of the owner mid-stream: the call completes through another replica, every event once, in order', async () => {
    const n = 40;
    const { client, sessionId, owner, received, call } = await countingOnOwner('kill', n, 10);
    const killedAt = Date.now();
    await set.kill(owner.index);
    const result = await call;
    expect(textOf(result)).toBe(`counted to ${n}`);
    const checked = anomalies(
      received.map((r) => r.progress),
      n,
    );
    expect(checked).toEqual({ lost: [], duplicated: 0, outOfOrder: 0 });
    const failoverMs = (received.find((r) => r.at > killedAt)?.at ?? Number.NaN) - killedAt;
    console.log(`kill -9 failover: first event after the kill in ${failoverMs} ms; ${JSON.stringify(checked)}`);
    // Another replica holds the session now.
    const now = await ownerOf(set, sessionId);
    expect(now.index).not.toBe(owner.index);
    await client.close();
    await set.start(owner.index);
  }, 90_000);

  it('a replica paused past its lease stops serving the session it lost; nothing is delivered twice', async () => {
    const n = 30;
    const { client, sessionId, owner, received, call } = await countingOnOwner('pause', n, 5);
    owner.child.kill('SIGSTOP');
    // Past its lease (1 s): another replica's sweep takes the session over meanwhile.
    await sleep(2500);
    owner.child.kill('SIGCONT');
    const result = await call;
    expect(textOf(result)).toBe(`counted to ${n}`);
    expect(
      anomalies(
        received.map((r) => r.progress),
        n,
      ),
    ).toEqual({ lost: [], duplicated: 0, outOfOrder: 0 });
    // Fenced: the paused replica no longer holds it; another one does.
    expect(await sessionsOn(owner)).not.toContain(sessionId);
    expect((await ownerOf(set, sessionId)).index).not.toBe(owner.index);
    expect(owner.output()).toMatch(/took this session over|owns this session now/);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    await client.close();
  }, 90_000);

  it('Redis restarted mid-run: requests meanwhile get 503 with Retry-After, and no session is reported gone', async () => {
    const { client, transport } = await connect('redis-restart');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
    const headers = sessionHeaders(transport);
    const echo = (id: number) =>
      JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } });
    await redis.stop();
    // The replicas notice at their next heartbeat (a third of the TTL).
    await sleep(800);
    const during = await Promise.all(
      set.replicas.map((r, i) =>
        fetch((r as Replica).url, { method: 'POST', headers, body: echo(100 + i) }).then(async (response) => ({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: await response.text(),
        })),
      ),
    );
    expect(during.map((d) => d.status)).toEqual([503, 503, 503]);
    for (const answer of during) expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    await redis.restart();
    // Back: the same session answers again on every replica, never a 404.
    const statuses: number[] = [];
    for (const replica of set.replicas as Replica[]) {
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(replica.url, { method: 'POST', headers, body: echo(200 + attempt) });
        statuses.push(response.status);
        await response.text();
        if (response.status === 200 || attempt > 50) break;
        await sleep(100);
      }
    }
    expect(statuses).not.toContain(404);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    await client.close();
  }, 90_000);

  it('SIGTERM hands the sessions over: the client goes on through the others, the upstream session kept', async () => {
    const { client, transport } = await connect('drain');
    const sessionId = transport.sessionId as string;
    const owner = await ownerOf(set, sessionId);
    const deletedBefore = upstream.deleted.length;
    await set.terminate(owner.index);
    expect(owner.output()).toMatch(/handing sessions over/);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'moved' } }))).toBe('moved');
    expect((await ownerOf(set, sessionId)).index).not.toBe(owner.index);
    // Handed over, not ended: nothing was deleted upstream.
    expect(upstream.deleted.length).toBe(deletedBefore);
    await client.close();
    await set.start(owner.index);
  }, 90_000);
});

/** The replica that holds a session now, from their admin APIs. */
async function ownerOf(set: ReplicaSet, sessionId: string): Promise<Replica> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const replica of set.replicas) {
      if (replica && (await sessionsOn(replica)).includes(sessionId)) return replica;
    }
    await sleep(100);
  }
  throw new Error(`no replica holds ${sessionId}`);
}
