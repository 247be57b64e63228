/**
 * Our own Node processes (bench upstream, the proxy wrapper): TypeScript run through tsx,
 * an IPC channel to say `ready` with a URL and to answer requests (gc, memory).
 */
import { join } from 'node:path';
import { benchDir, type Started, startProcess, untilReady } from './processes.js';
import type { ReadyMessage } from './ready.js';

export interface NodeChild extends Started {
  url: string;
  /** Sends `{ type, ...body }` and resolves with the first answer of the same type. */
  ask<T>(type: string, body?: Record<string, unknown>): Promise<T>;
}

export interface NodeChildOptions {
  name: string;
  /** Path under bench/. */
  script: string;
  args: string[];
  logDir: string;
  /** Extra node flags, e.g. --expose-gc, --cpu-prof. */
  nodeFlags?: string[];
}

export async function startNodeChild(options: NodeChildOptions): Promise<NodeChild> {
  const started = startProcess({
    name: options.name,
    command: process.execPath,
    args: [...(options.nodeFlags ?? []), '--import', 'tsx', join(benchDir, options.script), ...options.args],
    logDir: options.logDir,
    ipc: true,
  });
  const { child } = started;
  const ready = new Promise<ReadyMessage>((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as ReadyMessage).type !== 'ready') return;
      child.off('message', onMessage);
      resolve(message as ReadyMessage);
    };
    child.on('message', onMessage);
  });
  const { url } = await untilReady(started, ready);
  return {
    ...started,
    url,
    ask: <T>(type: string, body: Record<string, unknown> = {}) =>
      untilReady(
        started,
        new Promise<T>((resolve) => {
          const onMessage = (message: unknown) => {
            if ((message as { type?: string }).type !== type) return;
            child.off('message', onMessage);
            resolve(message as T);
          };
          child.on('message', onMessage);
          child.send({ type, ...body });
        }),
      ),
  };
}
