/**
 * A real Redis for the multi-replica tests: Debian's `redis-server` (installed with apt-get
 * when missing, see debian-package.ts) on a free loopback port, with no RDB snapshots so it
 * writes nothing unless asked for an append-only file. Tests stop, kill and restart it to
 * play a Redis outage.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackageAsync } from './debian-package.js';
import { freePort } from './peer-process.js';

export const REDIS_SERVER_PATH = '/usr/bin/redis-server';

const READY_TIMEOUT_MS = 10_000;
const READY_RETRY_MS = 50;
const STOP_GRACE_MS = 3000;
/** How much of the server's log a startup failure quotes. */
const OUTPUT_TAIL = 4000;

export interface RedisOptions {
  /** Keeps every write in an append-only file, fsynced at once, so data survives a restart (even a SIGKILL). */
  appendOnly?: boolean;
  /** Where the append-only file goes; a fresh temporary directory (removed when the process exits) by default. */
  dir?: string;
  /** A free loopback port by default. */
  port?: number;
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, for `createClient({ url })`. */
  readonly url: string;
  /** The current server process; {@link restart} replaces it. */
  child: ChildProcess;
  /** SIGTERM (Redis shuts down cleanly), SIGKILL after 3 s; resolves once the process exited. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. Resolves once the process exited. */
  kill(): Promise<void>;
  /** Stops the server (if it still runs) and starts it again on the same port with the same dir and options. */
  restart(): Promise<void>;
}

// Temporary directories this module made, removed when the test process exits: a test may
// restart a stopped server, so stop() must not take its data away.
const madeDirs = new Set<string>();
let cleanupHooked = false;

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-shepherd-redis-'));
  madeDirs.add(dir);
  if (!cleanupHooked) {
    cleanupHooked = true;
    process.once('exit', () => {
      for (const made of madeDirs) rmSync(made, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Starts Redis and resolves once it answers PING. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = await ensureDebianPackageAsync('redis-server', REDIS_SERVER_PATH);
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? makeDir();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--protected-mode', 'no'];
  if (options.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir);
  else args.push('--appendonly', 'no');

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    child: await launch(binary, args, port),
    stop: () => end(server.child, 'SIGTERM'),
    kill: () => end(server.child, 'SIGKILL'),
    restart: async () => {
      await end(server.child, 'SIGTERM');
      server.child = await launch(binary, args, port);
    },
  };
  return server;
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  // Redis runs in the foreground and logs to stdout; the pipes are read so it never blocks on them.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error) => {
    exited = true;
    output += `\n${error.message}`;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (exited) throw new Error(`redis-server exited while starting on port ${port}: ${output}`);
    if (Date.now() > deadline) {
      await end(child, 'SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, READY_RETRY_MS));
  }
  return child;
}

/**
 * One raw PING. Only `+PONG` counts: while Redis replays its append-only file it accepts
 * connections but answers `-LOADING`.
 */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

function end(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  return new Promise<void>((resolve) => {
    // A child that never spawned (pid undefined) has nothing to end and will never exit.
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS) : undefined;
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
