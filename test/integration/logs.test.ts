/**
 * Debug logs: every session and upstream stream transition is a JSON line with the session
 * id (and the stream number); at info they are not written at all.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger, type LogLevel } from '../../src/log.js';
import { waitFor } from '../support/wait.js';

interface Line {
  msg: string;
  sessionId?: string;
  stream?: number;
  state?: string;
}

let upstream: DemoServer | undefined;
let shepherd: Shepherd | undefined;
afterEach(async () => {
  await shepherd?.close();
  await upstream?.close();
  upstream = shepherd = undefined;
});

async function session(level: LogLevel): Promise<{ lines: Line[]; sessionId: string }> {
  const lines: Line[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Line) };
  upstream = await DemoServer.start();
  shepherd = createShepherd({ upstream: { url: upstream.urlVia() }, logger: createLogger(level, destination) });
  const { url } = await shepherd.listen({ port: 0 });
  const client = new Client({ name: 'logged', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  const sessionId = transport.sessionId as string;
  await client.callTool({ name: 'echo', arguments: { text: 'x' } });
  await transport.terminateSession();
  await waitFor(() => lines.some((l) => l.msg === 'session terminated'), 'the end of the session logged');
  return { lines, sessionId };
}

describe('structured logs', () => {
  it('at debug: session states and upstream stream states, with session id and stream', async () => {
    const { lines, sessionId } = await session('debug');
    const states = lines.filter((l) => l.msg === 'session state');
    expect(states.every((l) => l.sessionId === sessionId)).toBe(true);
    expect(states.map((l) => l.state)).toEqual(expect.arrayContaining(['live.active.idle', 'terminated']));
    const streams = lines.filter((l) => l.msg === 'upstream stream state');
    expect(streams.length).toBeGreaterThan(0);
    expect(streams.every((l) => l.sessionId === sessionId && typeof l.stream === 'number')).toBe(true);
    expect(streams.map((l) => l.state)).toEqual(expect.arrayContaining(['open', 'closed']));
  });

  it('at info: lifecycle lines only', async () => {
    const { lines, sessionId } = await session('info');
    expect(lines.some((l) => l.msg === 'session created' && l.sessionId === sessionId)).toBe(true);
    expect(lines.filter((l) => l.msg === 'session state' || l.msg === 'upstream stream state')).toEqual([]);
  });
});
