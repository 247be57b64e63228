/**
 * Every guard of the endpoint: the bad input, the status and JSON-RPC error body, and that
 * a healthy session next to it keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyFixture, startProxy } from '../support/proxy-fixture.js';
import { ACCEPT_BOTH, initializeRequest, openSession, send, toolCall } from '../support/raw-client.js';

let fixture: ProxyFixture;
let url: string;
let healthy: Awaited<ReturnType<typeof openSession>>;
let nextId = 100;

beforeAll(async () => {
  fixture = await startProxy({ maxBodyBytes: 64 * 1024, allowedOrigins: ['https://app.example'] });
  ({ url } = fixture);
  healthy = await openSession(url);
});
afterAll(() => fixture.close());

async function expectHealthySessionWorks() {
  const id = nextId++;
  const answer = await send(url, 'POST', toolCall(id, 'still here'), healthy.headers);
  expect(answer.status).toBe(200);
  expect(answer.messages).toContainEqual(
    expect.objectContaining({ id, result: { content: [{ type: 'text', text: 'still here' }] } }),
  );
}

function expectError(response: { status: number; messages: unknown[] }, status: number, code: number, text: RegExp) {
  expect(response.status).toBe(status);
  expect(response.messages[0]).toMatchObject({ jsonrpc: '2.0', error: { code } });
  expect((response.messages[0] as { error: { message: string } }).error.message).toMatch(text);
}

describe('endpoint guards', () => {
  it('403 for an Origin not allowed; localhost and listed origins pass', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const response = await send(url, method, method === 'POST' ? toolCall(1) : undefined, {
        ...healthy.headers,
        origin: 'https://evil.example',
        accept: method === 'GET' ? 'text/event-stream' : ACCEPT_BOTH,
      });
      expectError(response, 403, -32000, /Origin https:\/\/evil\.example is not allowed/);
    }
    const listed = await send(url, 'POST', toolCall(nextId++), { ...healthy.headers, origin: 'https://app.example' });
    expect(listed.status).toBe(200);
    await expectHealthySessionWorks();
  });

  it('localhost origins are allowed by default, others are not', async () => {
    const plain = await startProxy();
    const plainUrl = plain.url;
    try {
      const local = await send(plainUrl, 'POST', initializeRequest(), { origin: 'http://localhost:3000' });
      expect(local.status).toBe(200);
      const remote = await send(plainUrl, 'POST', initializeRequest(), { origin: 'https://app.example' });
      expect(remote.status).toBe(403);
    } finally {
      await plain.close();
    }
  });

  it('413 for a body over the limit', async () => {
    const big = toolCall(1, 'x'.repeat(70 * 1024));
    expectError(await send(url, 'POST', big, healthy.headers), 413, -32000, /exceeds 65536 bytes/);
    await expectHealthySessionWorks();
  });

  it('415 for a Content-Type other than application/json', async () => {
    const response = await send(url, 'POST', toolCall(1), { ...healthy.headers, 'content-type': 'text/plain' });
    expectError(response, 415, -32000, /Content-Type must be application\/json/);
    await expectHealthySessionWorks();
  });

  it('406 when Accept lacks a required type (POST needs both, GET needs text/event-stream)', async () => {
    const post = await send(url, 'POST', toolCall(1), { ...healthy.headers, accept: 'application/json' });
    expectError(post, 406, -32000, /Accept must list both/);
    const get = await send(url, 'GET', undefined, { ...healthy.headers, accept: 'application/json' });
    expectError(get, 406, -32000, /must accept text\/event-stream/);
    await expectHealthySessionWorks();
  });

  it('400 with -32700 for malformed JSON, -32600 for an invalid message', async () => {
    expectError(await send(url, 'POST', '{"jsonrpc":', healthy.headers), 400, -32700, /Parse error/);
    expectError(await send(url, 'POST', { jsonrpc: '1.0', id: 1 }, healthy.headers), 400, -32600, /Invalid Request/);
    expectError(await send(url, 'POST', [], healthy.headers), 400, -32600, /empty batch/);
    await expectHealthySessionWorks();
  });

  it('400 for an unsupported MCP-Protocol-Version', async () => {
    const response = await send(url, 'POST', toolCall(1), { ...healthy.headers, 'mcp-protocol-version': '1999-01-01' });
    expectError(response, 400, -32000, /unsupported MCP-Protocol-Version 1999-01-01/);
    await expectHealthySessionWorks();
  });

  it('400 without Mcp-Session-Id, 404 for an unknown one', async () => {
    expectError(await send(url, 'POST', toolCall(1)), 400, -32000, /Mcp-Session-Id header is required/);
    const unknown = await send(url, 'POST', toolCall(1), { 'mcp-session-id': 'no-such-session-xxxxxxxxxx' });
    expectError(unknown, 404, -32000, /Session not found.*initialize/);
    await expectHealthySessionWorks();
  });

  it('batches: refused from 2025-06-18 on, answered under 2025-03-26', async () => {
    const batch = [toolCall(nextId++), toolCall(nextId++)];
    expectError(
      await send(url, 'POST', batch, healthy.headers),
      400,
      -32600,
      /batches are not allowed in protocol version 2025-06-18/,
    );
    const old = await openSession(url, '2025-03-26');
    const ids = [nextId++, nextId++];
    const answered = await send(
      url,
      'POST',
      ids.map((id) => toolCall(id)),
      old.headers,
    );
    expect(answered.status).toBe(200);
    const answeredIds = answered.messages
      .flatMap((m) => (Array.isArray(m) ? m : [m]))
      .map((m) => (m as { id: number }).id);
    expect(answeredIds.sort()).toEqual(ids);
    expectError(
      await send(url, 'POST', [initializeRequest(9), toolCall(10)]),
      400,
      -32600,
      /initialize must not be part of a batch/,
    );
    await expectHealthySessionWorks();
  });

  it('405 for other methods; 409 for a second standalone GET; 400 for a foreign Last-Event-ID', async () => {
    const put = await send(url, 'PUT', undefined, healthy.headers);
    expectError(put, 405, -32000, /use POST, GET or DELETE/);
    expect(put.headers.get('allow')).toBe('POST, GET, DELETE');

    const controller = new AbortController();
    const first = await fetch(url, {
      headers: { ...healthy.headers, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(first.status).toBe(200);
    const second = await send(url, 'GET', undefined, { ...healthy.headers, accept: 'text/event-stream' });
    expectError(second, 409, -32000, /another client connection is attached to this stream/);
    expect(second.messages[0]).toMatchObject({ error: { data: { code: 'SHEPHERD_STREAM_ATTACHED' } } });
    controller.abort();

    const other = await openSession(url);
    const foreignId = `${'zzzzzzzz'}.0.1`;
    const resume = await send(url, 'GET', undefined, {
      ...other.headers,
      accept: 'text/event-stream',
      'last-event-id': foreignId,
    });
    expectError(resume, 400, -32000, /another session/);
    await expectHealthySessionWorks();
  });

  it('serves the endpoint path (with a trailing slash or a query) and 404s every other path', async () => {
    const base = new URL(url);
    for (const path of [base.pathname, `${base.pathname}/`, `${base.pathname}?x=1`]) {
      const res = await send(new URL(path, base).href, 'POST', initializeRequest(1));
      expect(res.status, path).toBe(200);
      await send(new URL(path, base).href, 'DELETE', undefined, {
        'mcp-session-id': res.headers.get('mcp-session-id') as string,
      });
    }
    const other = await send(new URL('/elsewhere', base).href, 'POST', initializeRequest(2));
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.messages)).toContain(`the MCP endpoint is ${base.pathname}`);
  });

  it('400 for initialize carrying a session id', async () => {
    const response = await send(url, 'POST', initializeRequest(3), healthy.headers);
    expectError(response, 400, -32000, /must not carry Mcp-Session-Id/);
    await expectHealthySessionWorks();
  });
});
