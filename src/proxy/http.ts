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

export type BodyResult = { ok: true; text: string } | { ok: false; tooLarge: true };

/** Reads the request body, stopping at `limit` bytes (the rest is drained, not kept). */
export async function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return { ok: false, tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return { ok: false, tooLarge: true };
    }
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
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
