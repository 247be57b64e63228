/**
 * A stdio server that crashes on command, prints garbage on stdout and ignores SIGTERM:
 * restarts, errors and cleanup are asserted, and the processes left are counted (zero).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createShepherd, type Shepherd, type ShepherdOptions } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { liveProcessCount } from '../../src/upstream/stdio-runner.js';
import { isAlive, waitFor } from '../support/wait.js';

const server = new URL('../support/misbehaving-stdio-server.mjs', import.meta.url).pathname;
let shepherd: Shepherd | undefined;

afterEach(async () => {
  await shepherd?.close();
  shepherd = undefined;
  expect(liveProcessCount()).toBe(0);
});

async function start(
  env: Record<string, string> = {},
  processOptions: ShepherdOptions['upstream']['processOptions'] = {},
) {
  shepherd = createShepherd({
    upstream: {
      url: 'stdio:misbehaving',
      process: { command: process.execPath, args: [server], env },
      processOptions: {
        restart: { baseMs: 20, jitter: 0, maxAttempts: 3 },
        graceMs: 100,
        killAfterMs: 300,
        ...processOptions,
      },
    },
    logger: createLogger('silent'),
  });
  const { url } = await shepherd.listen({ port: 0 });
  const client = new Client({ name: 'stdio-fault-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

const text = (result: Record<string, unknown>) => (result.content as Array<{ text: string }>)[0]?.text ?? '';

describe('a misbehaving stdio server behind mcp-shepherd', () => {
  it('skips output that is not JSON-RPC and still answers', async () => {
    const { client } = await start();
    expect(text(await client.callTool({ name: 'garbage', arguments: { text: 'x' } }))).toMatch(/^garbage:x:\d+$/);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toMatch(/^echo:after:/);
  });

  it('a crash fails the request in flight with a clear error, then the restarted process answers', async () => {
    const { client, transport } = await start();
    const first = Number(text(await client.callTool({ name: 'echo', arguments: {} })).split(':')[2]);
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/restarted/);
    await waitFor(() => !isAlive(first), 'the crashed process to be gone');
    const after = text(await client.callTool({ name: 'echo', arguments: { text: 'again' } }));
    expect(after).toMatch(/^echo:again:\d+$/);
    expect(Number(after.split(':')[2])).not.toBe(first);
    expect(liveProcessCount()).toBe(1);
    const [session] = shepherd?.listSessions() ?? [];
    expect(session?.id).toBe(transport.sessionId);
  });

  it('crashing more often than the limit ends the session: the client gets 404', async () => {
    const { client, transport } = await start({}, { restart: { baseMs: 20, jitter: 0, maxAttempts: 1 } });
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/restarted/);
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow();
    await waitFor(() => (shepherd?.listSessions().length ?? 0) === 0, 'the session to end');
    await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow(/404|Session not found/);
    expect(transport.sessionId).toBeDefined();
    expect(liveProcessCount()).toBe(0);
  });

  it('the first process gets the client’s initialize once; a restarted one gets the replay once', async () => {
    const { client } = await start();
    expect(text(await client.callTool({ name: 'initializes', arguments: {} }))).toBe('initializes:1');
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/restarted/);
    const after = await client.callTool({ name: 'initializes', arguments: {} });
    expect(text(after)).toBe('initializes:1');
  });

  it('a server that answers initialize with an error: the client gets it, the session and process are gone', async () => {
    const starting = start({ FAIL_INITIALIZE: '1' });
    await expect(starting).rejects.toThrow(/this server refuses to initialize/);
    await waitFor(() => (shepherd?.listSessions().length ?? 1) === 0, 'the session to end', 3000);
    await waitFor(() => liveProcessCount() === 0, 'the process to exit', 3000);
    expect(shepherd?.runtime.sessionCount).toBe(0);
  });

  it('a server that ignores SIGTERM is killed when its session ends: no process left', async () => {
    const { client, transport } = await start({ IGNORE_SIGTERM: '1' });
    const pid = Number(text(await client.callTool({ name: 'echo', arguments: {} })).split(':')[2]);
    expect(isAlive(pid)).toBe(true);
    await transport.terminateSession();
    expect(isAlive(pid)).toBe(false);
    expect(liveProcessCount()).toBe(0);
  });
});
