/**
 * Resumability provided by the proxy itself: a client that drops a POST's SSE stream before
 * the response resumes it with GET + Last-Event-ID from the session's own log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventId } from '../../machines/event-id.js';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { ACCEPT_BOTH, openSession } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

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

/** Reads SSE frames from a fetch body (into `frames`, if given) until `stop` says so or the body ends. */
async function readFrames(
  body: ReadableStream<Uint8Array>,
  stop: (frames: Frame[]) => boolean,
  frames: Frame[] = [],
): Promise<Frame[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
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
      // Comments and retry-only blocks dispatch no event.
      if (/^(id|data):/m.test(block)) frames.push(frame);
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
    // A resume is refused (409) while the old response still holds the stream: wait until the
    // proxy has seen it close, as a client waits the retry hint.
    const stream = parseEventId(lastSeen)?.stream;
    const sessionId = headers['mcp-session-id'] as string;
    await waitFor(
      () => !fixture.shepherd.runtime.inspect(sessionId)?.streams.some((s) => s.stream === stream && s.attached),
      'the dropped response to let go of its stream',
    );

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
    expect(new Set(ids).size, JSON.stringify([...first, ...rest])).toBe(ids.length);
  });

  it('a resume of a stream another client holds gets 409; that client still gets every event once', async () => {
    const { headers, sessionId } = await openSession(url, '2025-11-25');
    const controller = new AbortController();
    const listening = await fetch(url, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(listening.status).toBe(200);
    const reader = listening.body as ReadableStream<Uint8Array>;
    const upstreamSessionId = fixture.shepherd.runtime.session(sessionId)?.getSnapshot().context
      .upstreamSessionId as string;
    await waitFor(() => fixture.upstream.openGetStreams > 0, 'the upstream GET stream');
    await fixture.upstream.notify(upstreamSessionId, 'n1');
    // Both reads come from one reader: frames split across reads are not lost.
    const frames: Frame[] = [];
    const read = readFrames(reader, () => false, frames);
    await waitFor(() => frames.some((f) => f.data.includes('n1')), 'n1 on the listening client');
    const priming = frames[0]?.id as string;

    const second = await fetch(url, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': priming } });
    expect(second.status).toBe(409);
    const refusal = (await second.json()) as { error: { message: string; data: { code: string } } };
    expect(refusal.error.data.code).toBe('SHEPHERD_STREAM_ATTACHED');
    expect(refusal.error.message).toMatch(/another client connection is attached to this stream/);

    await fixture.upstream.notify(upstreamSessionId, 'n2');
    await fixture.upstream.notify(upstreamSessionId, 'n3');
    await waitFor(() => frames.some((f) => f.data.includes('n3')), 'n3 on the listening client');
    controller.abort();
    await read.catch(() => {});
    const notes = frames.filter((f) => f.data !== '').map((f) => JSON.parse(f.data).params.data);
    expect(notes).toEqual(['n1', 'n2', 'n3']);
  });

  it('an evicted Last-Event-ID is refused with what to do', async () => {
    const small = await startProxy({ eventLog: { maxEvents: 2 } });
    const smallUrl = small.url;
    try {
      const { headers } = await openSession(smallUrl, '2025-11-25');
      const sessionId = headers['mcp-session-id'] as string;
      // Three calls whose clients leave after the priming event: their streams go on upstream,
      // and their answers (one event each, 300 ms later: long after the client left, however
      // loaded the machine) fill the two-event log, the first call's first.
      const primingIds: string[] = [];
      for (let i = 0; i < 3; i++) {
        const controller = new AbortController();
        const post = await fetch(smallUrl, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', accept: ACCEPT_BOTH },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 10 + i,
            method: 'tools/call',
            params: { name: 'count', arguments: { n: 1, delayMs: 300 } },
          }),
          signal: controller.signal,
        });
        const [priming] = await readFrames(post.body as ReadableStream<Uint8Array>, (f) => f.length >= 1);
        controller.abort();
        primingIds.push(priming?.id as string);
        await waitFor(
          () => !small.shepherd.runtime.inspect(sessionId)?.streams.some((s) => s.kind === 'post'),
          'the call to finish upstream',
        );
      }
      const resume = await fetch(smallUrl, {
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': primingIds[0] as string },
      });
      expect(resume.status).toBe(400);
      const body = (await resume.json()) as { error: { message: string; data: { code: string } } };
      expect(body.error.message).toMatch(/oldest event.*new stream/);
      expect(body.error.data.code).toBe('SHEPHERD_BAD_LAST_EVENT_ID');
      // The last call's events are still there: its resume replays them and ends.
      const last = await fetch(smallUrl, {
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': primingIds[2] as string },
      });
      expect(last.status).toBe(200);
      const replayed = await readFrames(last.body as ReadableStream<Uint8Array>, () => false);
      expect(replayed.at(-1)?.data).toContain('"id":12');
    } finally {
      await small.close();
    }
  });
});
