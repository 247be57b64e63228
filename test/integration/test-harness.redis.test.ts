/**
 * The multi-replica test harness itself: a real Redis (Debian's redis-server) that tests can
 * restart, with or without an append-only file, and a round-robin TCP balancer in front of
 * replicas. The later tests trust these, so here they must show they work, and can fail.
 */
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPackageAsync } from '../support/debian-package.js';
import { freePort } from '../support/peer-process.js';
import { REDIS_SERVER_PATH, type RedisServer, startRedis } from '../support/redis-server.js';
import { RoundRobinBalancer } from '../support/round-robin-lb.js';

const started: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  // A fresh machine installs redis-server first (minutes), so the tests' own timeouts stay small.
  await ensureDebianPackageAsync('redis-server', REDIS_SERVER_PATH);
}, 15 * 60_000);

afterAll(async () => {
  for (const server of started.reverse()) await server.close();
});

async function redis(options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
  const server = await startRedis(options);
  started.push({ close: () => server.stop() });
  return server;
}

const newClient = (url: string) => createClient({ url });

/** Runs `use` with a connected node-redis client, closed afterwards (so a restart has no client to reconnect). */
async function withClient<T>(url: string, use: (client: ReturnType<typeof newClient>) => Promise<T>): Promise<T> {
  const client = newClient(url);
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

describe('startRedis', () => {
  it('answers PING and keeps a key', async () => {
    const server = await redis();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    await withClient(server.url, async (client) => {
      expect(await client.ping()).toBe('PONG');
      await client.set('harness', 'kept');
      expect(await client.get('harness')).toBe('kept');
    });
  });

  it('restarts with a new process on the same port; without an append-only file the data is gone', async () => {
    const server = await redis();
    await withClient(server.url, (client) => client.set('harness', 'lost'));
    const before = server.child.pid;
    await server.restart();
    expect(server.child.pid).not.toBe(before);
    expect(await withClient(server.url, (client) => client.get('harness'))).toBeNull();
  });

  it('with an append-only file, a key survives a restart, and a SIGKILL', async () => {
    const server = await redis({ appendOnly: true });
    await withClient(server.url, (client) => client.set('harness', 'durable'));
    await server.restart();
    expect(await withClient(server.url, (client) => client.get('harness'))).toBe('durable');
    await withClient(server.url, (client) => client.set('harness', 'fsynced'));
    await server.kill();
    expect(server.child.signalCode).toBe('SIGKILL');
    await server.restart();
    expect(await withClient(server.url, (client) => client.get('harness'))).toBe('fsynced');
  });
});

/** A loopback server that answers every connection with its own index, then hangs up. */
async function echoServer(index: number): Promise<number> {
  const server: Server = createServer((socket) => socket.end(String(index)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  started.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return (server.address() as AddressInfo).port;
}

/** What one new connection through the balancer reads until it is closed ('' when it is dropped). */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
  });
}

describe('RoundRobinBalancer', () => {
  let targets: number[];
  let balancer: RoundRobinBalancer;

  beforeAll(async () => {
    targets = [await echoServer(0), await echoServer(1), await echoServer(2)];
    balancer = await RoundRobinBalancer.start(targets);
    started.push(balancer);
  });

  it('sends each new connection to the next target', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await ask(balancer.port));
    expect(answers).toEqual(['0', '1', '2']);
    expect(balancer.connections).toEqual([1, 1, 1]);
    expect(await ask(balancer.port)).toBe('0');
  });

  it('skips a target that refuses connections, and drops the client when every target does', async () => {
    const dead = await freePort();
    balancer.setTargets(targets.map((port, index) => (index === 1 ? dead : port)));
    expect([await ask(balancer.port), await ask(balancer.port), await ask(balancer.port)]).toEqual(['0', '2', '0']);
    expect(balancer.connections).toEqual([2, 0, 1]);

    balancer.setTargets([dead]);
    expect(await ask(balancer.port)).toBe('');
    expect(balancer.connections).toEqual([0]);
  });
});
