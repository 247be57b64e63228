/** Bare HTTP to the proxy, for tests that send what a well-behaved SDK never would. */
export const ACCEPT_BOTH = 'application/json, text/event-stream';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or the JSON messages of its SSE `data:` lines. */
  messages: unknown[];
}

export async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json', accept: ACCEPT_BOTH } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const messages = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line.length > 6)
        .map((line) => JSON.parse(line.slice(6)))
    : text
      ? [JSON.parse(text)]
      : [];
  return { status: response.status, headers: response.headers, text, messages };
}

export function initializeRequest(id: number | string = 0, protocolVersion = '2025-06-18') {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
}

/** Initializes a session and sends notifications/initialized; returns its id and version. */
export async function openSession(url: string, protocolVersion = '2025-06-18') {
  const init = await send(url, 'POST', initializeRequest(0, protocolVersion));
  if (init.status !== 200) throw new Error(`initialize failed: ${init.status} ${init.text}`);
  const sessionId = init.headers.get('mcp-session-id') as string;
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion };
  const initialized = await send(url, 'POST', { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  if (initialized.status !== 202) throw new Error(`initialized got ${initialized.status}`);
  return { sessionId, headers, init };
}

export const toolCall = (id: number, text = 'hi') => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text } },
});
