import type { AnyActorRef } from 'xstate';
import type { ReaderInbound, RequestId } from './connection.types.js';
import type { BackoffOptions } from './delay-policy.js';

/** The local MCP server program a stdio session runs, one process per session. */
export interface StdioCommand {
  command: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  cwd?: string;
}

export interface ProcessOptions {
  /** Restart backoff; `maxAttempts` is how many crashes in a row end the session. Default 1 s ×2, 5 attempts. */
  restart: BackoffOptions;
  /** Time for a (re)started process to answer the replayed initialize. Default 30 s. */
  readyTimeoutMs: number;
  /** After stdin is closed, how long before SIGTERM. Default 2 s. */
  graceMs: number;
  /** After SIGTERM, how long before SIGKILL. Default 3 s. */
  killAfterMs: number;
  /** Running this long resets the crash counter. Default 30 s. */
  healthyAfterMs: number;
}

/** What the runner gets: the command, and the session it serves (for its logs). */
export interface RunnerInput {
  sessionId: string;
  command: StdioCommand;
}

export interface ProcessInput {
  sessionId: string;
  process: StdioCommand;
  options?: Partial<Omit<ProcessOptions, 'restart'>> & { restart?: Partial<BackoffOptions> };
  random?: () => number;
}

/** Events the runner (src/upstream/stdio-runner.ts) sends back about the OS process. */
export type RunnerEvent =
  | { type: 'process.spawned'; pid: number | undefined }
  | { type: 'process.message'; message: Record<string, unknown>; line: string }
  | { type: 'process.exit'; code: number | null; signal: string | null }
  | { type: 'process.error'; message: string };

/** Commands the process machine sends to the runner. */
export type RunnerCommand =
  | { type: 'runner.write'; line: string }
  | { type: 'runner.closeStdin' }
  | { type: 'runner.signal'; signal: 'SIGTERM' | 'SIGKILL' };

/** A stream's reader registering with the process (the stdio side of a session stream). */
export interface StreamRegistration {
  /** The stream child's id, `stream-<n>`. */
  streamId: string;
  kind: 'get' | 'post';
  /** Responses this stream waits for. */
  awaiting: readonly RequestId[];
  /** Progress tokens of its requests, so their progress notifications come back to it. */
  progressTokens: readonly (string | number)[];
}

/** Events stream readers send to the process. */
export type HostEvent =
  | ({ type: 'host.open'; body?: string | undefined; ref: AnyActorRef } & StreamRegistration)
  | { type: 'host.close'; streamId: string }
  | { type: 'host.shutdown' };

/** Events the process sends to a stream's reader. */
export type HostToStream = ReaderInbound;

export type ProcessStateName = 'spawning' | 'replaying' | 'ready' | 'restarting' | 'stopping' | 'stopped' | 'failed';
