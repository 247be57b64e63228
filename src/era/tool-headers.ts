/**
 * `x-mcp-header`: a tool may mark a primitive input property to be mirrored into an
 * `Mcp-Param-{Name}` request header. "Clients MUST mirror" it and "MUST exclude" a tool
 * whose declarations break the rules from `tools/list` (2026-07-28 streamable-http, Request
 * Metadata; SEP-2243). The proxy is that client for a 2025 client of a modern upstream.
 */

import { isRecord } from '../../machines/jsonrpc.js';

export interface HeaderDeclaration {
  /** Where the value sits in `arguments`: a chain of `properties` keys. */
  path: readonly string[];
  header: string;
}

export type HeaderScan = { valid: true; declarations: HeaderDeclaration[] } | { valid: false; reason: string };

const KEY = 'x-mcp-header';
/** RFC 9110 `token`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVES = new Set(['string', 'integer', 'boolean']);
/** Subschemas a declaration may not sit under: "only ... statically reachable via `properties`". */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
];
const MAPS = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);

export function scanToolHeaders(inputSchema: unknown): HeaderScan {
  const declarations: HeaderDeclaration[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[], reachable: boolean): string | undefined => {
    if (!isRecord(node)) return undefined;
    if (KEY in node) {
      const name = node[KEY];
      const where = path.join('.') || '<root>';
      if (!reachable || path.length === 0)
        return `${where}: x-mcp-header only on a property reached through properties`;
      if (typeof name !== 'string' || !TOKEN.test(name)) return `${where}: x-mcp-header must be an HTTP token`;
      if (typeof node.type !== 'string' || !PRIMITIVES.has(node.type)) {
        return `${where}: x-mcp-header only on a string, integer or boolean property`;
      }
      if (seen.has(name.toLowerCase())) return `x-mcp-header ${name} declared twice`;
      seen.add(name.toLowerCase());
      declarations.push({ path, header: name });
    }
    if (isRecord(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) {
        const fault = visit(child, [...path, key], reachable);
        if (fault) return fault;
      }
    }
    for (const keyword of UNREACHABLE) {
      const sub = node[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub) ? sub : MAPS.has(keyword) && isRecord(sub) ? Object.values(sub) : [sub];
      for (const branch of branches) {
        const fault = visit(branch, [...path, `<${keyword}>`], false);
        if (fault) return fault;
      }
    }
    return undefined;
  };
  const fault = visit(inputSchema, [], true);
  return fault === undefined ? { valid: true, declarations } : { valid: false, reason: fault };
}

const SENTINEL = { prefix: '=?base64?', suffix: '?=' };

/**
 * A header value as the spec wants it: plain when it is safe visible ASCII without leading or
 * trailing space, else `=?base64?{base64 of its UTF-8}?=` (also when it already looks like one).
 */
export function encodeHeaderValue(value: string): string {
  const plain =
    value.length > 0 &&
    value === value.trim() &&
    !(value.startsWith(SENTINEL.prefix) && value.endsWith(SENTINEL.suffix)) &&
    /^[\t\x20-\x7e]*$/.test(value);
  return plain ? value : `${SENTINEL.prefix}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL.suffix}`;
}

/** The value a header carries, its base64 form decoded (a server checking `Mcp-Name` against the body). */
export function decodeHeaderValue(value: string): string {
  if (!(value.startsWith(SENTINEL.prefix) && value.endsWith(SENTINEL.suffix))) return value;
  return Buffer.from(value.slice(SENTINEL.prefix.length, -SENTINEL.suffix.length), 'base64').toString('utf8');
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) return String(value);
  return undefined;
}

/** The `Mcp-Param-*` headers of one call; an absent or null value gets none ("MUST omit"). */
export function paramHeaders(declarations: readonly HeaderDeclaration[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { path, header } of declarations) {
    let value: unknown = args;
    for (const key of path) value = isRecord(value) ? value[key] : undefined;
    const text = value === null || value === undefined ? undefined : primitiveText(value);
    if (text !== undefined) headers[`mcp-param-${header.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return headers;
}
