import { describe, expect, it } from 'vitest';
import { redact } from '../../src/admin/redact.js';

describe('redact', () => {
  it('takes out message bodies and header values, keeps structure, ids and states', () => {
    const context = {
      sessionId: 's1',
      initialize: { key: 'k', requestId: 0, body: '{"secret":1}' },
      upstream: { url: 'http://u/mcp', headers: { authorization: 'Bearer t0ken' } },
      streams: { 1: { kind: 'post', pending: [3], body: 'xy' } },
      random: () => 0.5,
      event: { type: 'connection.event', event: { id: 'e1', data: 'payload' } },
    };
    expect(redact(context)).toEqual({
      sessionId: 's1',
      initialize: { key: 'k', requestId: 0, body: '[redacted 12 bytes]' },
      upstream: { url: 'http://u/mcp', headers: { authorization: '[redacted]' } },
      streams: { 1: { kind: 'post', pending: [3], body: '[redacted 2 bytes]' } },
      event: { type: 'connection.event', event: { id: 'e1', data: '[redacted 7 bytes]' } },
    });
  });

  it('is idempotent: redacting twice changes nothing', () => {
    const once = redact({ body: 'hello', params: { x: 1 } });
    expect(redact(once)).toEqual(once);
    expect(once).toEqual({ body: '[redacted 5 bytes]', params: '[redacted]' });
  });
});
