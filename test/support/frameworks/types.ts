/**
 * What every framework fixture of the compatibility matrix offers: a real MCP server of one
 * framework on a loopback port, which the matrix test reaches directly and through mcp-shepherd.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A `tools/call` the matrix sends, and how to read its answer. */
export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** True when the result's text is the answer this call expects. */
  expect(text: string): boolean;
}

/**
 * The three tools the matrix calls, as this server offers them. Servers written for the matrix
 * offer `echo {text}`, `count {n, delayMs}` and `confirm`; a server with its own tools (the
 * reference server) maps them onto the nearest of its own.
 */
export interface ToolSet {
  /** Answers with text content `text`. */
  echo(text: string): ToolCall;
  /** Sends n `notifications/progress` (progress 1..n, total n) delayMs apart, then answers. */
  count(n: number, delayMs: number): ToolCall;
  /** Sends an elicitation request to the client and answers with what the client said. */
  confirm(): ToolCall;
}

export interface FrameworkServer {
  /** The server kind, as the matrix names it (`sdk-400`, `fastmcp`, ...). */
  name: string;
  /** The package and version under test, for the report. */
  version: string;
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  port: number;
  /** Mints an `Mcp-Session-Id` and keeps per-session state between requests (false: stateless serving). */
  keepsSessions: boolean;
  /** Gives SSE events ids and replays a stream after `Last-Event-ID` (resumability). */
  resumable: boolean;
  supports: {
    /** Its `count` sends progress notifications. */
    progress: boolean;
    /** Its `confirm` can send an elicitation request to the client. */
    elicitation: boolean;
    /** It offers the GET (standalone server-to-client) stream. */
    standaloneStream: boolean;
  };
  tools: ToolSet;
  /** What reading its code and docs taught about it, for the quirks section of the report. */
  notes: string[];
  /** Loses every session as a process restart would, and listens again on the same port. */
  restart(): Promise<void>;
  /** Stops the server completely: no listener, no socket, no timer, no child process left. */
  close(): Promise<void>;
}

/** Starts one kind of server on an ephemeral loopback port. */
export type FrameworkStarter = () => Promise<FrameworkServer>;

/** The tool set of every server written for the matrix. */
export const standardTools: ToolSet = {
  echo: (text) => ({ name: 'echo', arguments: { text }, expect: (answer) => answer === text }),
  count: (n, delayMs) => ({
    name: 'count',
    arguments: { n, delayMs },
    expect: (answer) => answer === `counted to ${n}`,
  }),
  confirm: () => ({ name: 'confirm', arguments: {}, expect: (answer) => answer === 'accept:true' }),
};

/** What `confirm` asks for: one required boolean. The matrix's clients answer `{ ok: true }`. */
export const confirmSchema = {
  type: 'object' as const,
  properties: { ok: { type: 'boolean' as const, description: 'Proceed?' } },
  required: ['ok'],
};

/** `confirm`'s answer text from the client's elicitation result. */
export function confirmText(result: { action: string; content?: Record<string, unknown> | undefined }): string {
  return `${result.action}:${String(result.content?.ok ?? '')}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `name@version` of a package installed at the top of node_modules (not every package exports its package.json). */
export function packageVersion(name: string): string {
  const file = fileURLToPath(new URL(`../../../node_modules/${name}/package.json`, import.meta.url));
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  return `${name}@${version}`;
}
