/**
 * SEP-1699 on the proxy's own client side: the priming event carries a `retry:` hint, and with
 * `ssePollMs` the proxy closes its clients' SSE streams itself (the upstream keeps its stream
 * open); the official SDK client resumes from the proxy's log and loses nothing.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { openSession, send, toolCall } from '../support/raw-client.js';

let fixture: ProxyFixture | undefined;
afterEach(() => fixture?.close());

describe('SSE polling (SEP-1699) provided by the proxy', () => {
  it('primes a 2025-11-25 stream with an id and the configured retry hint; not a 2025-06-18 one', async () => {
    fixture = await startProxy({ sseRetryMs: 250 });
    const current = await openSession(fixture.url, '2025-11-25');
    const answer = await send(fixture.url, 'POST', toolCall(1), current.headers);
    expect(answer.text).toMatch(/^retry: 250\nid: [^\n]+\ndata: \n\n/);
    expect(answer.messages).toHaveLength(1);

    const older = await openSession(fixture.url, '2025-06-18');
    const plain = await send(fixture.url, 'POST', toolCall(2), older.headers);
    expect(plain.text).not.toContain('retry:');
    expect(plain.messages).toHaveLength(1);
  });

  it('closes client streams after ssePollMs; the SDK client resumes and gets every event once', async () => {
    fixture = await startProxy({ ssePollMs: 60, sseRetryMs: 10 });
    const resumes: string[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(fixture.url), {
      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        if (init?.method === 'GET' && headers.has('last-event-id'))
          resumes.push(headers.get('last-event-id') as string);
        return fetch(input, init);
      },
    });
    const client = new Client({ name: 'polling-client', version: '1.0.0' });
    await client.connect(transport);

    const progress: number[] = [];
    const result = await client.callTool({ name: 'count', arguments: { n: 8, delayMs: 40 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });

    expect(result.content).toEqual([{ type: 'text', text: 'counted to 8' }]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // 8 steps of 40 ms on a stream closed every 60 ms: the client had to come back.
    expect(resumes.length).toBeGreaterThanOrEqual(2);
    // The upstream was never asked to resume: its one stream stayed open throughout.
    expect(fixture.upstream.sessions.size).toBe(1);
    await transport.close();
  });
});
