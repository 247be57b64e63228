/** Small HTTP helpers for the proxy: bodies, errors, header checks. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestId, UpstreamAnswer } from '../../machines/connection.types.js';
import type { ShepherdError } from '../errors.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** An error as its HTTP status with a JSON-RPC error body (the stable code in `data`). */
export function sendError(res: ServerResponse, error: ShepherdError, id: RequestId | null = null): void {
  sendJson(res, error.status, error.toJsonRpc(id), { ...error.headers });
}

/** An upstream's 401 or 403 as it came, its challenge pointed where `challenge` says. */
export function sendAnswer(
  res: ServerResponse,
  answer: UpstreamAnswer,
  challenge: (header: string) => string = (header) => header,
  headers: Record<string, string> = {},
): void {
  const { status, contentType, body, wwwAuthenticate } = answer;
  res.writeHead(status, {
    ...headers,
    ...(contentType ? { 'content-type': contentType } : {}),
    ...(wwwAuthenticate ? { 'www-authenticate': challenge(wwwAuthenticate) } : {}),
  });
  res.end(body);
}

export type BodyResult = { ok: true; text: string } | { ok: false; problem: 'too-large' | 'aborted' };

/**
 * Reads the request body, up to `limit` bytes. Past the limit (declared or, for a chunked
 * body, counted) it answers at once; the 413 then goes out with `Connection: close`, and
 * the rest of the body is read and dropped meanwhile so that the client can read the
 * answer, up to another `limit` bytes, after which the connection is cut.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    discardRest(req, limit);
    return Promise.resolve({ ok: false, problem: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: BodyResult) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      settle({ ok: false, problem: 'too-large' });
      discardRest(req, limit);
    };
    const onEnd = () => settle({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    // The client went away before its body ended: there is nobody to answer.
    const onClose = () => settle({ ok: false, problem: 'aborted' });
    req.on('data', onData).once('end', onEnd).once('close', onClose);
  });
}

function discardRest(req: IncomingMessage, limit: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limit) req.socket.destroy();
  });
  req.resume();
}

/** True when the Accept header lists `type` (or a wildcard covering it). */
export function accepts(header: string | undefined, type: string): boolean {
  if (!header) return false;
  const [major] = type.split('/');
  return header
    .split(',')
    .map((range) => range.split(';')[0]?.trim().toLowerCase())
    .some((range) => range === type || range === '*/*' || range === `${major}/*`);
}

export function mediaTypeOf(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * "Servers MUST validate the Origin header on all incoming connections to prevent DNS
 * rebinding attacks. If the Origin header is present and invalid, servers MUST respond with
 * HTTP 403 Forbidden." With no allow-list, only local origins are allowed.
 */
export function originAllowed(origin: string | undefined, allowList: readonly string[] | undefined): boolean {
  if (origin === undefined) return true;
  if (allowList?.includes('*')) return true;
  if (allowList?.includes(origin)) return true;
  if (allowList && allowList.length > 0) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
