/** The `mcp-shepherd` command as a user runs it: a child process, a real client, SIGTERM. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { isAlive } from '../support/wait.js';

const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
let upstream: DemoServer | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await upstream?.close();
  upstream = undefined;
  child = undefined;
});

function run(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited, out: () => stdout, err: () => stderr };
}

async function listeningUrl(out: () => string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = out()
      .split('\n')
      .find((l) => l.includes('"mcp-shepherd listening"'));
    if (line) return (JSON.parse(line) as { url: string }).url;
    if (Date.now() > deadline) throw new Error(`no listening line in: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const misbehaving = new URL('../support/misbehaving-stdio-server.mjs', import.meta.url).pathname;

describe('mcp-shepherd command line', () => {
  it('--stdio runs the server per session and leaves no process when stopped with SIGINT', async () => {
    // The server ignores SIGTERM: the drain must close stdin, signal, then kill it.
    const started = run(['--stdio', '--port', '0', '--', process.execPath, misbehaving], { IGNORE_SIGTERM: '1' });
    child = started.proc;
    const url = await listeningUrl(started.out);
    const client = new Client({ name: 'cli-stdio-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const result = await client.callTool({ name: 'echo', arguments: { text: 'stdio' } });
    const pid = Number((result.content as Array<{ text: string }>)[0]?.text.split(':')[2]);
    expect(isAlive(pid)).toBe(true);
    started.proc.kill('SIGINT');
    expect(await started.exited).toBe(0);
    expect(isAlive(pid)).toBe(false);
    await client.close();
  }, 30_000);

  it('exits 2 with a message for a missing upstream or a bad option', async () => {
    const missing = run([]);
    expect(await missing.exited).toBe(2);
    expect(missing.err()).toMatch(/--upstream URL is required/);
    const bad = run(['--upstream', 'http://127.0.0.1:1/mcp', '--on-upstream-gone', 'maybe']);
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toMatch(/must be one of reinitialize, propagate/);
    const pattern = run(['--upstream', 'http://127.0.0.1:1/mcp', '--session-gone-pattern', 'gone(']);
    expect(await pattern.exited).toBe(2);
    expect(pattern.err()).toMatch(/--session-gone-pattern 'gone\(':/);
    const publicUrl = run(['--upstream', 'http://127.0.0.1:1/mcp', '--public-url', 'proxy.example']);
    expect(await publicUrl.exited).toBe(2);
    expect(publicUrl.err()).toMatch(/--public-url must be an http\(s\) URL/);
  }, 30_000);

  it('serves --resource-metadata at the well-known URL, its resource the --public-url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shepherd-'));
    const metadata = join(dir, 'prm.json');
    const issuer = 'http://127.0.0.1:1/issuer';
    writeFileSync(
      metadata,
      JSON.stringify({ resource: 'http://upstream.invalid/mcp', authorization_servers: [issuer] }),
    );
    const publicUrl = 'https://proxy.example/mcp';
    const started = run(['--upstream', 'http://127.0.0.1:1/mcp', '--port', '0'], {
      MCP_SHEPHERD_RESOURCE_METADATA: metadata,
      MCP_SHEPHERD_PUBLIC_URL: publicUrl,
    });
    child = started.proc;
    const url = new URL(await listeningUrl(started.out));
    const response = await fetch(`${url.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ resource: publicUrl, authorization_servers: [issuer] });
    started.proc.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  }, 30_000);

  it('serves a client from a config file and env, logs JSON lines, drains on SIGTERM', async () => {
    upstream = await DemoServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'shepherd-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ upstream: upstream.urlVia(), port: 1 }));
    const started = run(['--config', config, '--port', '0'], { MCP_SHEPHERD_PATH: '/custom' });
    child = started.proc;
    const url = await listeningUrl(started.out);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/custom$/);

    const client = new Client({ name: 'cli-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const result = await client.callTool({ name: 'echo', arguments: { text: 'via cli' } });
    expect(result.content).toEqual([{ type: 'text', text: 'via cli' }]);
    expect(upstream.sessions.size).toBe(1);

    started.proc.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    expect(upstream.sessions.size).toBe(0);
    expect(upstream.deleted).toHaveLength(1);
    const lines = started
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; sessionId?: string });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'mcp-shepherd listening',
        'session created',
        'session initialized',
        'session terminated',
        'stopped',
      ]),
    );
    expect(lines.find((l) => l.msg === 'session created')?.sessionId).toBeDefined();
    await client.close();
  }, 30_000);
});
