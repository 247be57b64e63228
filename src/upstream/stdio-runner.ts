/**
 * The `runner` actor of the process machine: one OS process speaking newline-delimited
 * JSON-RPC on stdin/stdout. stderr goes to the logs with the session id; stdout lines that
 * are not JSON-RPC are logged and skipped; an over-long line is dropped, never buffered
 * without bound. A process still alive when its actor stops is killed, and every process
 * left when mcp-shepherd itself exits is killed too: none is orphaned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fromCallback } from 'xstate';
import type { RunnerCommand, RunnerEvent, RunnerInput } from '../../machines/process.types.js';
import type { Logger } from '../log.js';

export interface StdioRunnerOptions {
  logger?: Logger | undefined;
  /** Longest stdout line accepted (one JSON-RPC message). Default 16 MiB. */
  maxLineBytes?: number | undefined;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Processes started by this module that have not exited yet. */
export const liveProcessCount = () => live.size;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Splits a byte stream into lines, dropping (and reporting) any longer than `max`. */
function lineReader(max: number, onLine: (line: string) => void, onOversized: (bytes: number) => void) {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  return (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (!skipping && size + piece.length <= max) onLine(Buffer.concat([...parts, piece]).toString('utf8'));
      else onOversized(size + piece.length);
      parts = [];
      size = 0;
      skipping = false;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (skipping || size + rest.length > max) {
      skipping = true;
      parts = [];
      size += rest.length;
    } else if (rest.length > 0) {
      parts.push(Buffer.from(rest));
      size += rest.length;
    }
  };
}

export function createStdioRunner(options: StdioRunnerOptions = {}) {
  const maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
  return fromCallback<RunnerCommand, RunnerInput>(({ input, sendBack, receive }) => {
    installExitHook();
    const { sessionId, command } = input;
    const log = options.logger?.child({ sessionId, command: command.command });
    const send = (event: RunnerEvent) => sendBack(event);
    const child = spawn(command.command, [...(command.args ?? [])], {
      env: { ...process.env, ...command.env },
      ...(command.cwd ? { cwd: command.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    child.on('spawn', () => {
      log?.info({ pid: child.pid }, 'stdio server started');
      send({ type: 'process.spawned', pid: child.pid });
    });
    child.on('error', (error) => {
      live.delete(child);
      log?.error({ err: error.message }, 'stdio server could not run');
      send({ type: 'process.error', message: error.message });
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      log?.info({ pid: child.pid, code, signal }, 'stdio server exited');
      send({ type: 'process.exit', code, signal });
    });
    // A write to a process that just died is reported by its exit, not by this error.
    child.stdin.on('error', () => {});

    child.stdout.on(
      'data',
      lineReader(
        maxLineBytes,
        (raw) => {
          const line = raw.trim();
          if (line === '') return;
          let message: unknown;
          try {
            message = JSON.parse(line);
          } catch {
            message = undefined;
          }
          const valid =
            message !== null &&
            typeof message === 'object' &&
            !Array.isArray(message) &&
            (message as { jsonrpc?: unknown }).jsonrpc === '2.0';
          if (valid) send({ type: 'process.message', message: message as Record<string, unknown>, line });
          else log?.warn({ line: line.slice(0, 200) }, 'stdio server wrote something that is not JSON-RPC; skipped');
        },
        (bytes) => log?.warn({ bytes }, `stdio server wrote a line over ${maxLineBytes} bytes; skipped`),
      ),
    );
    child.stderr.on(
      'data',
      lineReader(
        64 * 1024,
        (line) => log?.info({ stderr: line }, 'stdio server stderr'),
        () => {},
      ),
    );

    receive((command) => {
      if (command.type === 'runner.write') child.stdin.write(`${command.line}\n`);
      else if (command.type === 'runner.closeStdin') child.stdin.end();
      else child.kill(command.signal);
    });
    return () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
  });
}
