/**
 * Resumability provided by the proxy itself: a client that drops a POST's SSE stream before
 * the response resumes it with GET + Last-Event-ID from the session's own log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { ACCEPT_BOTH, openSession } from '../support/raw-client.js';

let fixture: ProxyFixture;
let url: string;

beforeAll(async () => {
  fixture = await startProxy();
  ({ url } = fixture);
});
afterAll(() => fixture.close());

interface Frame {
  id?: string;
  data: string;
}

/** Reads SSE frames from a fetch body until `stop` says so (or the body ends). */
async function readFrames(body: ReadableStream<Uint8Array>, stop: (frames: Frame[]) => boolean): Promise<Frame[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  while (!stop(frames)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: Frame = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) frame.id = line.slice(4);
        if (line.startsWith('data: ')) frame.data += line.slice(6);
        if (line === 'data:' || line === 'data: ') frame.data += '';
      }
      if (!block.startsWith(':')) frames.push(frame);
      end = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return frames;
}

describe('resuming through the proxy', () => {
  it('a POST stream dropped before its response is resumed with Last-Event-ID, nothing lost or repeated', async () => {
    const { headers } = await openSession(url, '2025-11-25');
    const call = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'count', arguments: { n: 6, delayMs: 60 }, _meta: { progressToken: 'p' } },
    };
    const controller = new AbortController();
    const post = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: ACCEPT_BOTH },
      body: JSON.stringify(call),
      signal: controller.signal,
    });
    expect(post.headers.get('content-type')).toBe('text/event-stream');
    expect(post.headers.get('x-accel-buffering')).toBe('no');
    // The priming event (2025-11-25) and two progress notifications, then the client drops.
    const first = await readFrames(post.body as ReadableStream<Uint8Array>, (f) => f.length >= 3);
    controller.abort();
    expect(first[0]).toEqual({ id: expect.stringMatching(/\.\d+\.\d+$/), data: '' });
    const lastSeen = first.at(-1)?.id as string;

    const resume = await fetch(url, {
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastSeen },
    });
    expect(resume.status).toBe(200);
    const rest = await readFrames(resume.body as ReadableStream<Uint8Array>, (f) =>
      f.some((x) => x.data.includes('"result"')),
    );
    const messages = [...first, ...rest].filter((f) => f.data !== '').map((f) => JSON.parse(f.data));
    const progress = messages.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(messages.at(-1)).toMatchObject({ id: 7, result: { content: [{ type: 'text', text: 'counted to 6' }] } });
    const ids = [...first, ...rest].map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('an evicted Last-Event-ID is refused with what to do', async () => {
    const small = await startProxy({ eventLog: { maxEvents: 2 } });
    const smallUrl = small.url;
    try {
      const { headers, init } = await openSession(smallUrl, '2025-11-25');
      const firstId = init.text.match(/^id: (\S+)$/m)?.[1] as string;
      for (let i = 0; i < 3; i++) {
        await fetch(smallUrl, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', accept: ACCEPT_BOTH },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 10 + i,
            method: 'tools/call',
            params: { name: 'echo', arguments: { text: 'x' } },
          }),
        }).then((r) => r.text());
      }
      const resume = await fetch(smallUrl, {
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': firstId },
      });
      expect(resume.status).toBe(400);
      expect(((await resume.json()) as { error: { message: string } }).error.message).toMatch(
        /oldest event.*new stream/,
      );
    } finally {
      await small.close();
    }
  });
});
