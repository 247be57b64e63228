#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { StdioCommand } from '../machines/process.types.js';
import { type AdminServer, createAdminServer } from './admin/admin-server.js';
import {
  asLogLevel,
  fillBareValues,
  helpText,
  OPTIONS,
  type OptionValues,
  resolveOptions,
  UsageError,
} from './cli-options.js';
/** The `mcp-shepherd` command: the proxy in front of one upstream MCP server. */
import type { UpstreamProtocol } from './era/upstream-eras.js';
import { createShepherd, type ReplicaOptions, type Shepherd } from './index.js';
import { createInspectHook } from './inspect.js';
import { createLogger } from './log.js';

function parseHeaders(list: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of list) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw new UsageError(`--upstream-header needs 'Name: value', got '${item}'`);
    headers[item.slice(0, colon).trim().toLowerCase()] = item.slice(colon + 1).trim();
  }
  return headers;
}

function readConfig(path: string | undefined): Record<string, unknown> {
  return path ? readJsonObject('config', path) : {};
}

function httpUrl(flag: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.href;
  } catch {
    throw new UsageError(`--${flag} must be an http(s) URL, got '${value}'`);
  }
}

function upstreamUrl(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new UsageError('--upstream URL is required (or MCP_SHEPHERD_UPSTREAM, or "upstream" in --config)');
  }
  return httpUrl('upstream', value);
}

const optionalUrl = (values: OptionValues, flag: string) =>
  typeof values[flag] === 'string' ? httpUrl(flag, values[flag]) : undefined;

function readJsonObject(flag: string, path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--${flag} ${path}: ${(error as Error).message}`);
  }
}

/** Each pattern compiles (a typo fails at start, not at the first 400). */
function sessionGonePatterns(list: string[]): string[] {
  for (const source of list) {
    try {
      new RegExp(source, 'i');
    } catch (error) {
      throw new UsageError(`--session-gone-pattern '${source}': ${(error as Error).message}`);
    }
  }
  return list;
}

/** The forward-header list; `none` alone forwards nothing. */
function forwardHeaders(list: string[]): string[] {
  return list.length === 1 && list[0]?.toLowerCase() === 'none' ? [] : list;
}

/** The auth options, only those given. */
function authOptions(values: OptionValues) {
  const introspectionUrl = optionalUrl(values, 'introspection-url');
  const publicUrl = optionalUrl(values, 'public-url');
  const metadataPath = values['resource-metadata'] as string | undefined;
  const credentialKey = values['credential-key'] as string | undefined;
  return {
    forwardHeaders: forwardHeaders(values['forward-header'] as string[]),
    ...(credentialKey ? { credentialKey } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    ...(metadataPath ? { resourceMetadata: readJsonObject('resource-metadata', metadataPath) } : {}),
    ...(introspectionUrl
      ? {
          introspection: {
            url: introspectionUrl,
            clientId: values['introspection-client-id'] as string | undefined,
            clientSecret: values['introspection-client-secret'] as string | undefined,
          },
        }
      : {}),
  };
}

/** From src/ (tsx) the package is one folder up, from dist/src/ (built) two. */
function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'mcp-shepherd') return pkg.version;
    } catch {
      // not here; try the next one
    }
  }
  return 'unknown';
}

/**
 * `--stdio -- <command> [args...]`, or `"stdio": { "command", "args", "env", "cwd" }` in the
 * config file: a local server run once per session instead of an upstream URL.
 */
function stdioCommand(flag: boolean, positionals: string[], config: unknown): StdioCommand | undefined {
  if (flag) {
    const [command, ...args] = positionals;
    if (!command) throw new UsageError('--stdio needs the server command after --, e.g. --stdio -- npx my-server');
    return { command, args };
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}' (a stdio command needs --stdio)`);
  if (config === undefined) return undefined;
  const { command, args = [], env, cwd } = config as Partial<StdioCommand>;
  if (typeof command !== 'string' || !Array.isArray(args)) {
    throw new UsageError('config file: "stdio" needs { "command": string, "args"?: string[], "env"?, "cwd"? }');
  }
  return { command, args, ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) };
}

const num = (values: OptionValues, flag: string) => values[flag] as number;

/** Starts the proxy from command-line arguments; resolves once it listens. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env) {
  const { values: flags, positionals } = parseArgs({
    args: fillBareValues(argv),
    strict: true,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(
        OPTIONS.map((o) => [
          o.flag,
          o.type === 'boolean'
            ? { type: 'boolean' as const }
            : { type: 'string' as const, ...(o.type === 'list' ? { multiple: true } : {}) },
        ]),
      ),
      stdio: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(helpText());
    return undefined;
  }
  if (flags.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return undefined;
  }
  const { stdio: stdioFlag, help: _help, version: _version, ...optionFlags } = flags;
  const first = resolveOptions(optionFlags, env, {});
  const { stdio: stdioConfig, ...config } = readConfig(first.config as string | undefined);
  const values = resolveOptions(optionFlags, env, config);
  const stdio = stdioCommand(stdioFlag === true, positionals, stdioConfig);
  const logger = createLogger(asLogLevel(values['log-level']));
  const admin = hostPort(values.admin as string | undefined);
  const inspectUrl = values.inspect as string | undefined;
  const inspector = inspectUrl
    ? createInspectHook({ url: inspectUrl, payloads: values['inspect-payloads'] === 'true' })
    : undefined;
  const shepherd: Shepherd = createShepherd({
    ...(inspector ? { inspect: (event) => inspector.inspect.next?.(event) } : {}),
    upstream: {
      url: stdio ? `stdio:${stdio.command}` : upstreamUrl(values.upstream),
      headers: parseHeaders((values['upstream-header'] as string[]) ?? []),
      staticHeadersWin: values['upstream-headers-win'] === 'true',
      ...(stdio ? { process: stdio } : {}),
    },
    ...authOptions(values),
    allowedOrigins: (values['allow-origin'] as string[] | undefined) ?? [],
    maxBodyBytes: num(values, 'max-body-bytes'),
    keepAliveMs: num(values, 'keep-alive-ms'),
    sseRetryMs: num(values, 'sse-retry-ms'),
    ssePollMs: num(values, 'sse-poll-ms'),
    protocolVersionMismatch: values['protocol-version-mismatch'] as 'negotiated' | 'reject',
    headersTimeoutMs: num(values, 'headers-timeout-ms'),
    requestTimeoutMs: num(values, 'request-timeout-ms'),
    onUpstreamGone: values['on-upstream-gone'] as 'reinitialize' | 'propagate',
    upstreamProtocol: values['upstream-protocol'] as UpstreamProtocol,
    probeTimeoutMs: num(values, 'probe-timeout-ms'),
    inputRounds: { maxRounds: num(values, 'max-input-rounds'), roundTimeoutMs: num(values, 'input-round-timeout-ms') },
    limits: {
      maxSessions: num(values, 'max-sessions'),
      maxConnectionsPerSession: num(values, 'max-streams-per-session'),
      idleTimeoutMs: num(values, 'idle-timeout-ms'),
      maxLifetimeMs: num(values, 'max-lifetime-ms'),
      deleteTimeoutMs: num(values, 'delete-timeout-ms'),
      maxReinitializations: num(values, 'max-reinitializations'),
      standaloneWaitMs: num(values, 'standalone-wait-ms'),
    },
    connection: {
      connectTimeoutMs: num(values, 'connect-timeout-ms'),
      heartbeatTimeoutMs: num(values, 'heartbeat-timeout-ms'),
      stallGraceMs: num(values, 'stall-grace-ms'),
      healthyAfterMs: num(values, 'healthy-after-ms'),
      resumeSilenceMs: num(values, 'resume-silence-ms'),
      maxSilentResumes: num(values, 'max-silent-resumes'),
      sessionGonePatterns: sessionGonePatterns(values['session-gone-pattern'] as string[]),
      backoff: {
        baseMs: num(values, 'backoff-base-ms'),
        factor: num(values, 'backoff-factor'),
        capMs: num(values, 'backoff-cap-ms'),
        maxAttempts: num(values, 'backoff-max-attempts'),
        jitter: num(values, 'backoff-jitter'),
      },
    },
    eventLog: { maxEvents: num(values, 'event-log-max-events'), maxBytes: num(values, 'event-log-max-bytes') },
    ...replicaOptions(values, stdio !== undefined),
    logger,
  });
  const listening = await shepherd.listen({
    port: num(values, 'port'),
    host: values.host as string,
    path: values.path as string,
  });
  let adminServer: AdminServer | undefined;
  let adminUrl: string | undefined;
  if (admin) {
    adminServer = createAdminServer(shepherd, {
      token: values['admin-token'] as string | undefined,
      cluster: shepherd.cluster,
    });
    adminUrl = (await adminServer.listen(admin)).url;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, values.redis ? 'draining: handing sessions over' : 'draining: ending every session');
    await shepherd.close();
    await adminServer?.close();
    inspector?.stop();
    logger.info('stopped');
    logger.flush();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop(signal).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  return { shepherd, url: listening.url, adminUrl, stop };
}

/** `--redis` and the cluster options (docs/replicas.md), only when --redis is given. */
function replicaOptions(values: OptionValues, stdio: boolean): { replicas?: ReplicaOptions } {
  const redisUrl = values.redis as string | undefined;
  if (redisUrl === undefined) return {};
  // A stdio server process lives and dies with its replica: no other replica could go on with it.
  if (stdio)
    throw new UsageError('--redis shares sessions of an HTTP upstream; a --stdio server cannot move between replicas');
  if (!/^rediss?:\/\//.test(redisUrl))
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${redisUrl}'`);
  const secret = values['cluster-secret'] as string | undefined;
  if (!secret)
    throw new UsageError('--redis needs --cluster-secret (or MCP_SHEPHERD_CLUSTER_SECRET), shared by every replica');
  const listen = hostPort(values['cluster-listen'] as string, 'cluster-listen') as { host: string; port: number };
  const advertiseUrl = optionalUrl(values, 'cluster-advertise-url');
  if (advertiseUrl === undefined && ['0.0.0.0', '::', '[::]'].includes(listen.host)) {
    throw new UsageError(
      `--cluster-listen ${listen.host} is every interface, which other replicas cannot dial: give --cluster-advertise-url`,
    );
  }
  return {
    replicas: {
      redisUrl,
      listen,
      secret,
      replicaTtlMs: num(values, 'cluster-replica-ttl-ms'),
      drain: values['cluster-drain'] as 'handoff' | 'end',
      ...(advertiseUrl ? { advertiseUrl } : {}),
    },
  };
}

/** `--admin host:port` (the host may be a bracketed IPv6 address). */
function hostPort(value: string | undefined, flag = 'admin'): { host: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!match) throw new UsageError(`--${flag} needs host:port, e.g. 127.0.0.1:9090, got '${value}'`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`mcp-shepherd: ${(error as Error).message}\n${usage ? 'Try mcp-shepherd --help.\n' : ''}`);
    process.exit(usage ? 2 : 1);
  });
}
