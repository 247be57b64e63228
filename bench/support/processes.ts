/**
 * Every process the benchmark starts: spawned in its own process group so that stopping it
 * also stops what it spawned (stdio servers, nginx workers), and killed when the benchmark
 * exits for any reason, so nothing is left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping every process it started\n`);
    process.exit(130);
  });
}

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Where its stdout and stderr go. */
  logFile: string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** An IPC channel (for our own Node children). */
  ipc?: boolean;
}

/** Starts a process in its own group, output to `<logDir>/<name>.log`. */
export function startProcess(options: SpawnOptions): Started {
  const logFile = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(options.command, options.args, {
    detached: true,
    env: options.env ?? process.env,
    stdio: ['ignore', fd, fd, ...(options.ipc ? (['ipc'] as const) : [])],
  });
  closeSync(fd);
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  const pid = child.pid;
  return {
    name: options.name,
    child,
    pid,
    logFile,
    stop: () => stopGroup(child),
  };
}

/** SIGTERM to the group (a graceful drain), SIGKILL after 5 s. */
export function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      killGroup(child, 'SIGKILL'); // grandchildren may outlive their parent
      resolve();
      return;
    }
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      killGroup(child, 'SIGKILL');
      resolve();
    });
    killGroup(child, 'SIGTERM');
  });
}

/** Rejects with the tail of the process's log if it exits before `ready` resolves. */
export async function untilReady<T>(started: Started, ready: Promise<T>, timeoutMs = 30_000): Promise<T> {
  let onExit: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_, reject) => {
    const fail = (why: string) => reject(new Error(`${started.name} ${why}:\n${tail(started.logFile)}`));
    onExit = () => fail(`exited (${started.child.exitCode ?? started.child.signalCode})`);
    started.child.once('exit', onExit);
    timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([ready, failure]);
  } finally {
    if (onExit) started.child.off('exit', onExit);
    clearTimeout(timer);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resolves once 127.0.0.1:port accepts a TCP connection (for peers that print nothing useful). */
export async function waitForPort(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ; Linux exposes 100 on every common architecture

/** utime + stime of one process, in ms (resolution 10 ms). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may contain spaces, closed by the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** The pid and all its descendants. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** CPU time of a process and its descendants, in ms. */
export function treeCpuTimeMs(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += cpuTimeMs(p);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Soft and hard limits on open files of this process. */
export function openFileLimits(): { soft: number; hard: number } {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const parse = (v: string | undefined) => (v === 'unlimited' || v === undefined ? Number.MAX_SAFE_INTEGER : Number(v));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

export const benchDir = fileURLToPath(new URL('..', import.meta.url));
export const repoDir = fileURLToPath(new URL('../..', import.meta.url));
