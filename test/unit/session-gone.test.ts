import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_OPTIONS } from '../../machines/connection.machine.js';
import type { ConnectionEvent } from '../../machines/connection.types.js';
import { type ConnectionContext, saysSessionGone } from '../../machines/connection-rules.js';

const context = (headers: Record<string, string>, patterns = DEFAULT_CONNECTION_OPTIONS.sessionGonePatterns) =>
  ({
    target: { headers },
    options: { ...DEFAULT_CONNECTION_OPTIONS, sessionGonePatterns: patterns },
  }) as unknown as ConnectionContext;
const response = (status: number, bodySnippet?: string): ConnectionEvent => ({
  type: 'stream.response',
  status,
  contentType: 'application/json',
  bodySnippet,
});
const withSession = context({ 'Mcp-Session-Id': 'u1' });

describe('every way an upstream says its session is gone', () => {
  it('404 always (the spec)', () => {
    expect(saysSessionGone(withSession, response(404))).toBe(true);
    expect(saysSessionGone(context({}), response(404))).toBe(true);
  });

  it('400 with the SDK README\'s message, "Session not found" or code -32001, on a request that carried a session id', () => {
    const sdk =
      '{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}';
    expect(saysSessionGone(withSession, response(400, sdk))).toBe(true);
    expect(saysSessionGone(withSession, response(400, '{"error":{"code":-32600,"message":"Session not found"}}'))).toBe(
      true,
    );
    expect(saysSessionGone(withSession, response(400, '{"error":{"code": -32001,"message":"gone"}}'))).toBe(true);
    // Without a session id the request was an initialize: its 400 is an ordinary error.
    expect(saysSessionGone(context({}), response(400, sdk))).toBe(false);
    expect(saysSessionGone(withSession, response(400, '{"error":{"code":-32602,"message":"Invalid params"}}'))).toBe(
      false,
    );
    expect(saysSessionGone(withSession, response(500, sdk))).toBe(false);
  });

  it("takes the operator's patterns instead, case-insensitively", () => {
    const custom = context({ 'mcp-session-id': 'u1' }, ['unknown conversation']);
    expect(saysSessionGone(custom, response(400, '{"error":"Unknown Conversation"}'))).toBe(true);
    expect(saysSessionGone(custom, response(400, 'No valid session ID provided'))).toBe(false);
  });
});
