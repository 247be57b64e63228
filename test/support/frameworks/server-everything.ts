/**
 * `server-everything`: the reference server `@modelcontextprotocol/server-everything`, its
 * streamableHttp entry point as a child process (as test/integration/proxy.everything.test.ts
 * starts it). Its tools are its own: `echo {message}` answers `Echo: <message>`,
 * `trigger-long-running-operation {duration, steps}` sends a progress notification per step,
 * `trigger-elicitation-request` (registered only for a client that declares elicitation) asks
 * for a form whose one required field is `name`. A restart kills the process and starts it
 * again on the same port.
 */
import { createRequire } from 'node:module';
import { freePort } from '../peer-process.js';
import { spawnServer, stopChild } from './child-server.js';
import { type FrameworkServer, packageVersion, type ToolSet } from './types.js';

const entry = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

const tools: ToolSet = {
  echo: (text) => ({ name: 'echo', arguments: { message: text }, expect: (answer) => answer === `Echo: ${text}` }),
  count: (n, delayMs) => ({
    name: 'trigger-long-running-operation',
    arguments: { duration: (n * delayMs) / 1000, steps: n },
    expect: (answer) => answer.startsWith('Long running operation completed.') && answer.includes(`Steps: ${n}.`),
  }),
  confirm: () => ({
    name: 'trigger-elicitation-request',
    arguments: {},
    expect: (answer) => answer.startsWith('✅ User provided the requested information!'),
  }),
};

const spawnEverything = (port: number) =>
  spawnServer({ args: [entry, 'streamableHttp'], port, ready: /listening on port/, name: 'server-everything' });

export async function startServerEverything(): Promise<FrameworkServer> {
  const port = await freePort();
  let child = await spawnEverything(port);
  return {
    name: 'server-everything',
    version: packageVersion('@modelcontextprotocol/server-everything'),
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    keepsSessions: true,
    resumable: true,
    supports: { progress: true, elicitation: true, standaloneStream: true },
    tools,
    notes: [
      'Its own tools: `echo {message}` answers `Echo: <message>`; progress is `trigger-long-running-operation {duration, steps}` (a step sleeps, then notifies); elicitation is `trigger-elicitation-request`, registered in `oninitialized` only when the client declares elicitation, asking for a form whose one required field is `name`.',
      'An unknown session id gets **400** `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}` (no `id` member) on POST, GET and DELETE.',
      "Resumable through its own in-memory event store, whose `replayEventsAfter` replays the events of every stream after the given id (not only that stream's) and returns the last event id where the SDK expects the stream id. So after a resume the rest of the call goes to no stream: a direct client waits for it forever. The proxy drops the other streams' events (ids already seen) and, when the resumed stream stays silent, resumes it again until the answer comes (`--resume-silence-ms`, docs/connection.md).",
      'Logs every request on stdout.',
    ],
    restart: async () => {
      await stopChild(child);
      child = await spawnEverything(port);
    },
    close: () => stopChild(child),
  };
}
