/** The little of JSON-RPC 2.0 the machines need to look at. */
import type { RequestId } from './connection.types.js';

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
