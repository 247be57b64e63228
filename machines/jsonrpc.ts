/** The little of JSON-RPC 2.0 the machines need to look at. */
import type { RequestId } from './connection.types.js';

/** A JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** A JSON-RPC error response (`id` null when the request's is unknown). */
export const errorResponse = (id: unknown, code: number, message: string, data?: unknown): Record<string, unknown> => ({
  jsonrpc: '2.0',
  id: id ?? null,
  error: { code, message, ...(data !== undefined ? { data } : {}) },
});

/** A response: a result or an error, and no method. */
export const isResponse = (message: Record<string, unknown>) =>
  !('method' in message) && ('result' in message || 'error' in message);

function items(message: unknown): object[] {
  const list = Array.isArray(message) ? message : [message];
  return list.filter((item): item is object => item !== null && typeof item === 'object');
}

/** Ids of the responses a message carries (a batch may carry several). */
export function responseIds(message: unknown): RequestId[] {
  const ids: RequestId[] = [];
  for (const item of items(message)) {
    const { id } = item as { id?: unknown };
    const isResponse = 'result' in item || 'error' in item;
    if (isResponse && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/** The successful response to request `id`, if the message carries it. */
export function resultFor(message: unknown, id: RequestId): Record<string, unknown> | undefined {
  for (const item of items(message)) {
    const response = item as { id?: unknown; result?: unknown };
    if (response.id === id && response.result !== null && typeof response.result === 'object') {
      return response.result as Record<string, unknown>;
    }
  }
  return undefined;
}

/**
 * Why one item is not a JSON-RPC 2.0 message (a request, a notification or a response), or
 * undefined when it is one. The client's bodies and the upstream's output are judged alike.
 */
export function messageProblem(item: unknown): string | undefined {
  if (
    item === null ||
    typeof item !== 'object' ||
    Array.isArray(item) ||
    (item as { jsonrpc?: unknown }).jsonrpc !== '2.0'
  ) {
    return 'not a JSON-RPC 2.0 message';
  }
  const message = item as Record<string, unknown>;
  const hasMethod = typeof message.method === 'string';
  if (!hasMethod && !('result' in message) && !('error' in message)) {
    return 'neither a request, a notification nor a response';
  }
  if (hasMethod && 'id' in message && typeof message.id !== 'string' && typeof message.id !== 'number') {
    return 'id must be a string or a number';
  }
  return undefined;
}

/**
 * Why an upstream SSE `data:` or JSON body (`data`, parsed as `message`) is not a JSON-RPC
 * message or batch, or undefined when it is. "The server MUST either return
 * Content-Type: text/event-stream ... or Content-Type: application/json, to return one JSON
 * object"; each SSE event carries a JSON-RPC message (2025-06-18+ transports).
 */
export function upstreamOutputProblem(data: string, message: unknown): string | undefined {
  if (message === undefined) return `not JSON (${Buffer.byteLength(data)} bytes)`;
  const list = Array.isArray(message) ? message : [message];
  if (list.length === 0) return 'an empty batch';
  for (const item of list) {
    const problem = messageProblem(item);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
