/** The era bridge's wire rules: probe verdicts, x-mcp-header declarations and values, what a 2025 client gets. */
import { describe, expect, it } from 'vitest';
import { judgeProbe } from '../../machines/era-rules.js';
import {
  forSessionClient,
  initializeResult,
  negotiatedVersion,
  withoutSubscriptionId,
} from '../../src/era/modern-wire.js';
import { decodeHeaderValue, encodeHeaderValue, paramHeaders, scanToolHeaders } from '../../src/era/tool-headers.js';

describe('judgeProbe (server/discover answers)', () => {
  const discover = { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, ttlMs: 5000 };
  it('a DiscoverResult listing 2026-07-28 is modern, with its ttl', () => {
    expect(judgeProbe({ kind: 'http', status: 200, body: { jsonrpc: '2.0', id: 1, result: discover } })).toEqual({
      kind: 'modern',
      discover,
      ttlMs: 5000,
    });
  });
  it('a 400 with a modern error code stays modern (a refusal); any other 400, 404, 405 or a timeout is legacy', () => {
    const refusal = {
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32022, message: 'no', data: { supported: ['2027-01-01'] } },
    };
    expect(judgeProbe({ kind: 'http', status: 400, body: refusal }).kind).toBe('modern-refusal');
    const legacy400 = {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: 'Bad Request: No valid session ID' },
    };
    expect(judgeProbe({ kind: 'http', status: 400, body: legacy400 }).kind).toBe('legacy');
    expect(judgeProbe({ kind: 'http', status: 404, body: undefined }).kind).toBe('legacy');
    expect(judgeProbe({ kind: 'http', status: 405, body: undefined }).kind).toBe('legacy');
    expect(judgeProbe({ kind: 'timeout' }).kind).toBe('legacy');
    expect(judgeProbe({ kind: 'network', detail: 'ECONNREFUSED' })).toMatchObject({ kind: 'legacy' });
  });
  it('401 and 403 are never era evidence', () => {
    expect(judgeProbe({ kind: 'http', status: 401, body: undefined }).kind).toBe('unauthorized');
    expect(judgeProbe({ kind: 'http', status: 403, body: undefined }).kind).toBe('unauthorized');
  });
  it('a discover result without this revision is not modern for the proxy', () => {
    const other = { ...discover, supportedVersions: ['2027-01-01'] };
    expect(judgeProbe({ kind: 'http', status: 200, body: { jsonrpc: '2.0', id: 1, result: other } }).kind).toBe(
      'legacy',
    );
  });
});

describe('x-mcp-header', () => {
  const schema = (region: Record<string, unknown>) => ({ type: 'object', properties: { region } });
  it('finds declarations through properties at any depth', () => {
    const scan = scanToolHeaders({
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        opts: { type: 'object', properties: { dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' } } },
      },
    });
    expect(scan).toEqual({
      valid: true,
      declarations: [
        { path: ['region'], header: 'Region' },
        { path: ['opts', 'dry'], header: 'Dry-Run' },
      ],
    });
  });
  it.each([
    ['not a token', schema({ type: 'string', 'x-mcp-header': 'Bad Name' })],
    ['empty', schema({ type: 'string', 'x-mcp-header': '' })],
    ['a number property', schema({ type: 'number', 'x-mcp-header': 'N' })],
    ['an object property', schema({ type: 'object', 'x-mcp-header': 'O' })],
    [
      'twice, case-insensitively',
      {
        type: 'object',
        properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } },
      },
    ],
    [
      'under items',
      { type: 'object', properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'I' } } } },
    ],
    ['under anyOf', { type: 'object', anyOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] }],
    ['on the root', { type: 'object', 'x-mcp-header': 'Root' }],
  ])('a declaration %s makes the tool invalid', (_why, inputSchema) => {
    expect(scanToolHeaders(inputSchema).valid).toBe(false);
  });
  it('values: plain when safe ASCII, base64 otherwise; integers and booleans as text; null omitted', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue('two words')).toBe('two words');
    expect(encodeHeaderValue(' padded')).toBe(`=?base64?${Buffer.from(' padded').toString('base64')}?=`);
    expect(encodeHeaderValue('zürich')).toBe(`=?base64?${Buffer.from('zürich').toString('base64')}?=`);
    expect(encodeHeaderValue('a\r\nb')).toBe(`=?base64?${Buffer.from('a\r\nb').toString('base64')}?=`);
    expect(encodeHeaderValue('=?base64?abc?=')).toMatch(/^=\?base64\?.+\?=$/);
    expect(encodeHeaderValue('=?base64?abc?=')).not.toBe('=?base64?abc?=');
    for (const value of ['us-west1', ' padded', 'zürich', '=?base64?abc?=']) {
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
    const declarations = [
      { path: ['n'], header: 'Count' },
      { path: ['flag'], header: 'Flag' },
      { path: ['none'], header: 'None' },
    ];
    expect(paramHeaders(declarations, { n: 42, flag: false, none: null })).toEqual({
      'mcp-param-count': '42',
      'mcp-param-flag': 'false',
    });
  });
});

describe('what a 2025 client gets', () => {
  it('results without resultType and the caching hints', () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      result: { resultType: 'complete', ttlMs: 0, cacheScope: 'private', tools: [] },
    };
    expect(forSessionClient(message)).toEqual({ jsonrpc: '2.0', id: 1, result: { tools: [] } });
    const error = { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } };
    expect(forSessionClient(error)).toBe(error);
  });
  it('listen notifications without their subscription id', () => {
    const note = {
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'a://b', _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen:0' } },
    };
    expect(withoutSubscriptionId(note)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'a://b' },
    });
  });
  it('initialize answered from discover: the client’s version when the proxy serves it, serverInfo from _meta or the body', () => {
    expect(negotiatedVersion('2025-06-18')).toBe('2025-06-18');
    expect(negotiatedVersion('2026-07-28')).toBe('2025-11-25');
    const discover = {
      capabilities: { tools: { listChanged: true } },
      instructions: 'be kind',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'up', version: '2' } },
    };
    const request = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26' } };
    expect(initializeResult(request, discover)).toEqual({
      jsonrpc: '2.0',
      id: 0,
      result: {
        protocolVersion: '2025-03-26',
        capabilities: { tools: { listChanged: true } },
        serverInfo: { name: 'up', version: '2' },
        instructions: 'be kind',
      },
    });
    const bodyInfo = initializeResult(request, { capabilities: {}, serverInfo: { name: 'old', version: '1' } });
    expect((bodyInfo.result as { serverInfo: unknown }).serverInfo).toEqual({ name: 'old', version: '1' });
  });
});
