import { describe, expect, it } from 'vitest';
import {
  configKey,
  envName,
  fillBareValues,
  helpText,
  OPTIONS,
  resolveOptions,
  UsageError,
} from '../../src/cli-options.js';

describe('command-line options', () => {
  it('--help names every option with its default and environment variable', () => {
    const help = helpText();
    for (const spec of OPTIONS) {
      expect(help).toContain(`--${spec.flag}`);
      expect(help).toContain(`[${envName(spec.flag)}]`);
      if (spec.default !== undefined) expect(help).toContain(`(default: ${spec.default})`);
    }
    expect(help).toContain('(default: 8080)');
    expect(help).toContain('(default: 127.0.0.1)');
  });

  it('takes a flag over the environment over the config file over the default', () => {
    const config = { port: 1000, idleTimeoutMs: 5, host: '127.0.0.2' };
    const env = { MCP_SHEPHERD_PORT: '2000', MCP_SHEPHERD_IDLE_TIMEOUT_MS: '6' };
    const values = resolveOptions({ port: '3000' }, env, config);
    expect(values.port).toBe(3000);
    expect(values['idle-timeout-ms']).toBe(6);
    expect(values.host).toBe('127.0.0.2');
    expect(values['max-sessions']).toBe(1000);
    expect(values['on-upstream-gone']).toBe('reinitialize');
  });

  it('reads repeatable options from flags, comma lists in env, arrays in config', () => {
    expect(resolveOptions({ 'allow-origin': ['https://a', 'https://b'] }, {}, {})['allow-origin']).toEqual([
      'https://a',
      'https://b',
    ]);
    expect(resolveOptions({}, { MCP_SHEPHERD_ALLOW_ORIGIN: 'https://a, https://b' }, {})['allow-origin']).toEqual([
      'https://a',
      'https://b',
    ]);
    expect(resolveOptions({}, {}, { allowOrigin: ['https://c'] })['allow-origin']).toEqual(['https://c']);
  });

  it('refuses bad numbers, bad choices and unknown config keys, saying which', () => {
    expect(() => resolveOptions({ port: 'eighty' }, {}, {})).toThrow(UsageError);
    expect(() => resolveOptions({}, { MCP_SHEPHERD_MAX_SESSIONS: '-1' }, {})).toThrow(/MCP_SHEPHERD_MAX_SESSIONS/);
    expect(() => resolveOptions({ 'on-upstream-gone': 'retry' }, {}, {})).toThrow(/reinitialize, propagate/);
    expect(() => resolveOptions({}, {}, { prot: 1 })).toThrow(/unknown key 'prot'/);
  });

  it('maps flags to config keys in camelCase', () => {
    expect(configKey('max-streams-per-session')).toBe('maxStreamsPerSession');
    expect(envName('max-streams-per-session')).toBe('MCP_SHEPHERD_MAX_STREAMS_PER_SESSION');
  });

  it('an option with a bare value takes it when given alone, and keeps a value when given one', () => {
    expect(fillBareValues(['--admin'])).toEqual(['--admin', '127.0.0.1:9090']);
    expect(fillBareValues(['--admin', '--port', '0'])).toEqual(['--admin', '127.0.0.1:9090', '--port', '0']);
    expect(fillBareValues(['--admin', '0.0.0.0:9100'])).toEqual(['--admin', '0.0.0.0:9100']);
    expect(fillBareValues(['--inspect'])).toEqual(['--inspect', 'ws://127.0.0.1:8181']);
    // After `--` everything is the stdio command's, untouched.
    expect(fillBareValues(['--stdio', '--', 'srv', '--admin'])).toEqual(['--stdio', '--', 'srv', '--admin']);
    expect(helpText()).toContain('--admin [VALUE]');
  });

  it('a boolean option reads true/false from flags, env and config, and refuses anything else', () => {
    expect(resolveOptions({ 'inspect-payloads': true }, {}, {})['inspect-payloads']).toBe('true');
    expect(resolveOptions({}, { MCP_SHEPHERD_INSPECT_PAYLOADS: '1' }, {})['inspect-payloads']).toBe('true');
    expect(resolveOptions({}, {}, { inspectPayloads: false })['inspect-payloads']).toBe('false');
    expect(resolveOptions({}, {}, {})['inspect-payloads']).toBeUndefined();
    expect(() => resolveOptions({}, { MCP_SHEPHERD_INSPECT_PAYLOADS: 'yes' }, {})).toThrow(UsageError);
  });

  it('a list default is a list; given values replace it', () => {
    expect(resolveOptions({}, {}, {})['forward-header']).toEqual([
      'authorization',
      'traceparent',
      'tracestate',
      'baggage',
    ]);
    expect(resolveOptions({ 'forward-header': ['x-api-key'] }, {}, {})['forward-header']).toEqual(['x-api-key']);
    expect(resolveOptions({}, {}, { sessionGonePattern: ['gone'] })['session-gone-pattern']).toEqual(['gone']);
  });
});
