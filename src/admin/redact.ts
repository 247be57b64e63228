/**
 * Takes message bodies and credentials out of what is shown to operators (admin API) and
 * sent to the Stately inspector: JSON-RPC payloads can hold user data, headers can hold
 * tokens. Structure, ids, states and counts stay, so a lifecycle can still be followed.
 */

/** Keys whose values are message content. */
const PAYLOAD_KEYS = new Set([
  'body',
  'initializedBody',
  'data',
  'message',
  'params',
  'result',
  'error',
  'snippet',
  // a client's info and capabilities, as the era probe carries them
  'envelope',
]);
/** Keys whose values map names to secrets: the names stay, the values go. */
const HEADER_KEYS = new Set(['headers', 'env', 'forwarded']);
/** Functions and actors are not data. */
const SKIP_KEYS = new Set(['random']);

const describe = (value: unknown) =>
  typeof value !== 'string'
    ? '[redacted]'
    : value.startsWith('[redacted') // redacting twice changes nothing
      ? value
      : `[redacted ${Buffer.byteLength(value)} bytes]`;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 12 || value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (SKIP_KEYS.has(key) || typeof item === 'function') continue;
    if (item === undefined) continue;
    if (PAYLOAD_KEYS.has(key)) out[key] = describe(item);
    else if (HEADER_KEYS.has(key) && item !== null && typeof item === 'object') {
      out[key] = Object.fromEntries(Object.keys(item).map((name) => [name, '[redacted]']));
    } else out[key] = redact(item, depth + 1);
  }
  return out;
}
