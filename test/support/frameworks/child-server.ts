/**
 * A server kind that runs as a child process on a fixed loopback port: started, killed (a
 * restart is a kill and a start on the same port, as a process restart is) and waited for.
 * Its output is drained, never printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loopbackOnly = fileURLToPath(new URL('../loopback-only.mjs', import.meta.url));

export interface ChildServerOptions {
  /** Arguments of `node` after the loopback preload: a script and its arguments, or `--import tsx` and a script. */
  args: string[];
  port: number;
  /** Seen in its output once it listens. */
  ready: RegExp;
  name: string;
}

export async function spawnServer({ args, port, ready, name }: ChildServerOptions): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', loopbackOnly, ...args], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (!ready.test(output)) return;
      settle();
      resolve();
    }, 10);
    const timer = setTimeout(() => {
      settle();
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 15 s: ${output}`));
    }, 15_000);
    const onExit = (code: number | null, signal: string | null) => {
      settle();
      reject(new Error(`${name} exited (${code ?? signal}) before it listened: ${output}`));
    };
    const settle = () => {
      clearInterval(poll);
      clearTimeout(timer);
      child.off('exit', onExit);
    };
    child.once('exit', onExit);
  });
  return child;
}

/** SIGTERM, SIGKILL after 3 s; resolves once the process is gone. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
