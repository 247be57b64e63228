/**
 * `--inspect`: a WebSocket server standing in for the Stately inspector receives the actors,
 * events and snapshots of a session going through its whole lifecycle, with payloads
 * redacted unless asked for.
 */
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createInspectHook, type InspectHook } from '../../src/inspect.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../support/wait.js';

interface Received {
  type: string;
  sessionId?: string;
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
  event?: { type: string };
  name?: string;
}

let upstream: DemoServer | undefined;
let shepherd: Shepherd | undefined;
let hook: InspectHook | undefined;
let wss: WebSocketServer | undefined;

afterEach(async () => {
  await shepherd?.close();
  hook?.stop();
  await upstream?.close();
  for (const socket of wss?.clients ?? []) socket.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  upstream = shepherd = hook = wss = undefined;
});

async function run(payloads: boolean): Promise<{ messages: Received[]; raw: string[]; sessionId: string }> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss?.once('listening', () => resolve()));
  const raw: string[] = [];
  wss.on('connection', (socket) => socket.on('message', (data: Buffer) => raw.push(data.toString())));
  hook = createInspectHook({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, payloads });

  upstream = await DemoServer.start();
  const inspect = hook.inspect;
  shepherd = createShepherd({
    upstream: { url: upstream.urlVia() },
    logger: createLogger('silent'),
    inspect: (event) => inspect.next?.(event),
  });
  const { url } = await shepherd.listen({ port: 0 });
  const client = new Client({ name: 'inspected-client', version: '1.0.0' });
  // A credential forwarded upstream with every request: it is in the sessions' contexts and events.
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: 'Bearer top-secret-token' } },
  });
  await client.connect(transport);
  const sessionId = transport.sessionId as string;
  await client.callTool({ name: 'echo', arguments: { text: 'top-secret-text' } });
  await transport.terminateSession();
  const messages = () => raw.map((m) => JSON.parse(m) as Received);
  const sessionValues = () =>
    messages()
      .filter((m) => m.type === '@xstate.snapshot' && m.snapshot?.context?.sessionId === sessionId)
      .map((m) => JSON.stringify(m.snapshot?.value));
  await waitFor(() => sessionValues().includes('"terminated"'), 'the terminated snapshot at the inspector');
  return { messages: messages(), raw, sessionId };
}

describe('--inspect (Stately inspector over a WebSocket)', () => {
  it("receives the session's actors, events and snapshots through its lifecycle, payloads redacted", async () => {
    const { messages, raw, sessionId } = await run(false);
    const types = new Set(messages.map((m) => m.type));
    expect(types).toEqual(new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));

    const values = messages
      .filter((m) => m.type === '@xstate.snapshot' && m.snapshot?.context?.sessionId === sessionId)
      .map((m) => JSON.stringify(m.snapshot?.value));
    const order = ['{"live":"initializing"}', '{"live":{"active":', '"terminated"'];
    const positions = order.map((prefix) => values.findIndex((v) => v.startsWith(prefix)));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // Each stream actor of the session is registered with the inspector too.
    expect(messages.some((m) => m.type === '@xstate.actor' && /stream-\d+/.test(JSON.stringify(m)))).toBe(true);

    const all = raw.join('\n');
    expect(all).not.toContain('top-secret-text');
    expect(all).not.toContain('inspected-client');
    expect(all).not.toContain('top-secret-token');
    expect(all).toMatch(/\[redacted \d+ bytes\]/);
  });

  it('sends the payloads with --inspect-payloads', async () => {
    const { raw } = await run(true);
    expect(raw.join('\n')).toContain('top-secret-text');
    expect(raw.join('\n')).toContain('top-secret-token');
  });
});
