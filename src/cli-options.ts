/**
 * Every command-line option, once: its flag, environment variable, config-file key, default
 * and help text. --help, parsing, env and --config all read this table, so they agree.
 */
import { DEFAULT_CONNECTION_OPTIONS } from '../machines/connection.machine.js';
import { DEFAULT_INPUT_ROUNDS } from '../machines/input-round.machine.js';
import { DEFAULT_SESSION_LIMITS } from '../machines/session.machine.js';
import { DEFAULT_SUPERVISOR_LIMITS } from '../machines/supervisor.machine.js';
import { DEFAULT_ADMIN_ADDRESS } from './admin/admin-server.js';
import { DEFAULT_FORWARD_HEADERS } from './auth/credentials.js';
import { DEFAULT_REPLICA_TTL_MS } from './cluster/cluster.js';
import { DEFAULT_PROBE_TIMEOUT_MS } from './era/probe.js';
import { UPSTREAM_PROTOCOLS } from './era/upstream-eras.js';
import { DEFAULT_INSPECT_URL } from './inspect.js';
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './listener-limits.js';
import type { LogLevel } from './log.js';
import { DEFAULT_KEEP_ALIVE_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_SSE_RETRY_MS } from './proxy/mcp-handler.js';
import { DEFAULT_EVENT_LOG_LIMITS } from './store/memory-event-log.js';

export type OptionType = 'string' | 'number' | 'list' | 'choice' | 'boolean';

export interface OptionSpec {
  /** The flag without dashes; the env var is MCP_SHEPHERD_<FLAG>, the config key its camelCase. */
  flag: string;
  type: OptionType;
  help: string;
  /** A list's default is its items joined by commas. */
  default?: string | number | undefined;
  choices?: readonly string[];
  /** The value the flag takes when given without one (`--admin` alone): the value is optional. */
  bare?: string;
}

const backoff = DEFAULT_CONNECTION_OPTIONS.backoff;

export const OPTIONS: readonly OptionSpec[] = [
  { flag: 'upstream', type: 'string', help: 'URL of the MCP server (Streamable HTTP) to stand in front of (required)' },
  { flag: 'upstream-header', type: 'list', help: "header sent upstream on every request, 'Name: value' (repeatable)" },
  {
    flag: 'upstream-headers-win',
    type: 'boolean',
    help: 'an --upstream-header wins over a forwarded client header of the same name (default: the client wins)',
  },
  {
    flag: 'forward-header',
    type: 'list',
    default: DEFAULT_FORWARD_HEADERS.join(','),
    help: "client header sent upstream with each request it causes (repeatable; replaces the default list; 'none': none)",
  },
  {
    flag: 'credential-key',
    type: 'string',
    help: 'key of the keyed hash that names credentials; replicas sharing sessions share it (default: random; with --redis, derived from --cluster-secret)',
  },
  {
    flag: 'public-url',
    type: 'string',
    help: "the MCP endpoint's URL as clients reach it, the 'resource' of its OAuth metadata (default: where it listens)",
  },
  {
    flag: 'resource-metadata',
    type: 'string',
    help: "JSON file of RFC 9728 protected resource metadata to serve instead of the upstream's",
  },
  {
    flag: 'introspection-url',
    type: 'string',
    help: "RFC 7662 introspection endpoint: an opaque token's subject becomes the session's identity",
  },
  { flag: 'introspection-client-id', type: 'string', help: 'client id for the introspection endpoint (HTTP Basic)' },
  {
    flag: 'introspection-client-secret',
    type: 'string',
    help: 'client secret for the introspection endpoint (prefer the environment variable)',
  },
  { flag: 'host', type: 'string', default: '127.0.0.1', help: 'address to listen on' },
  { flag: 'port', type: 'number', default: 8080, help: 'port to listen on (0: any free port)' },
  { flag: 'path', type: 'string', default: '/mcp', help: 'path of the MCP endpoint' },
  { flag: 'allow-origin', type: 'list', help: "Origin allowed besides localhost ones (repeatable; '*' allows any)" },
  { flag: 'max-body-bytes', type: 'number', default: DEFAULT_MAX_BODY_BYTES, help: 'largest POST body (413 above)' },
  {
    flag: 'keep-alive-ms',
    type: 'number',
    default: DEFAULT_KEEP_ALIVE_MS,
    help: 'SSE keep-alive comment interval (0: off)',
  },
  {
    flag: 'sse-retry-ms',
    type: 'number',
    default: DEFAULT_SSE_RETRY_MS,
    help: 'retry: hint sent to 2025-11-25 clients with each priming event',
  },
  {
    flag: 'sse-poll-ms',
    type: 'number',
    default: 0,
    help: "close 2025-11-25 clients' SSE streams after this long; they resume from the proxy's log (0: never)",
  },
  {
    flag: 'protocol-version-mismatch',
    type: 'choice',
    choices: ['negotiated', 'reject'],
    default: 'negotiated',
    help: "a supported MCP-Protocol-Version other than the session's: serve it by the negotiated version's rules, or answer 400",
  },
  {
    flag: 'headers-timeout-ms',
    type: 'number',
    default: DEFAULT_HEADERS_TIMEOUT_MS,
    help: 'close a client connection that has not sent its request headers within this long',
  },
  {
    flag: 'request-timeout-ms',
    type: 'number',
    default: DEFAULT_REQUEST_TIMEOUT_MS,
    help: 'answer 408 to a request (headers and body) not received within this long (0: off)',
  },
  {
    flag: 'max-sessions',
    type: 'number',
    default: DEFAULT_SUPERVISOR_LIMITS.maxSessions,
    help: 'sessions at once (503 above)',
  },
  {
    flag: 'max-streams-per-session',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.maxConnectionsPerSession,
    help: 'upstream streams per session at once (429 above)',
  },
  {
    flag: 'idle-timeout-ms',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.idleTimeoutMs,
    help: 'end a session idle this long',
  },
  {
    flag: 'max-lifetime-ms',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.maxLifetimeMs,
    help: 'end a session this old',
  },
  {
    flag: 'delete-timeout-ms',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.deleteTimeoutMs,
    help: 'longest wait for the upstream DELETE',
  },
  {
    flag: 'upstream-protocol',
    type: 'choice',
    choices: UPSTREAM_PROTOCOLS,
    default: 'auto',
    help: 'the era the upstream speaks: auto probes server/discover and bridges a 2026-07-28 upstream for 2025 clients; 2025 never probes',
  },
  {
    flag: 'probe-timeout-ms',
    type: 'number',
    default: DEFAULT_PROBE_TIMEOUT_MS,
    help: 'how long the server/discover probe may take; past it the upstream is taken for a session-era one',
  },
  {
    flag: 'max-input-rounds',
    type: 'number',
    default: DEFAULT_INPUT_ROUNDS.maxRounds,
    help: '2026-07-28 upstream: rounds of input (elicitation, sampling, roots) one call may ask for before it fails',
  },
  {
    flag: 'input-round-timeout-ms',
    type: 'number',
    default: DEFAULT_INPUT_ROUNDS.roundTimeoutMs,
    help: "2026-07-28 upstream: how long the client has to answer one round's requests for input",
  },
  {
    flag: 'on-upstream-gone',
    type: 'choice',
    choices: ['reinitialize', 'propagate'],
    default: 'reinitialize',
    help: 'on upstream 404: re-initialize upstream and keep the client session, or end it (client gets 404)',
  },
  {
    flag: 'max-reinitializations',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.maxReinitializations,
    help: 'upstream re-initializations per session before a 404 ends it',
  },
  {
    flag: 'session-gone-pattern',
    type: 'list',
    default: DEFAULT_CONNECTION_OPTIONS.sessionGonePatterns.join(','),
    help: 'case-insensitive regular expression: a 400 body matching it means the upstream session is gone (repeatable; replaces the defaults)',
  },
  {
    flag: 'standalone-wait-ms',
    type: 'number',
    default: DEFAULT_SESSION_LIMITS.standaloneWaitMs,
    help: "longest a client's requests wait, after initialize, for the upstream GET stream to open",
  },
  {
    flag: 'connect-timeout-ms',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.connectTimeoutMs,
    help: 'upstream request to response headers',
  },
  {
    flag: 'heartbeat-timeout-ms',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.heartbeatTimeoutMs,
    help: 'heartbeat period: one without bytes marks an upstream stream stalled (0: off)',
  },
  {
    flag: 'stall-grace-ms',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.stallGraceMs,
    help: 'stalled this long: abort and resume',
  },
  {
    flag: 'healthy-after-ms',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.healthyAfterMs,
    help: 'open this long: reset the attempt count',
  },
  {
    flag: 'resume-silence-ms',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.resumeSilenceMs,
    help: 'a resumed request stream silent this long is resumed again (an event store that lost its events; 0: off)',
  },
  {
    flag: 'max-silent-resumes',
    type: 'number',
    default: DEFAULT_CONNECTION_OPTIONS.maxSilentResumes,
    help: 'silent resumes in a row before the request gets an error',
  },
  { flag: 'backoff-base-ms', type: 'number', default: backoff.baseMs, help: 'first reconnect delay' },
  {
    flag: 'backoff-factor',
    type: 'number',
    default: backoff.factor,
    help: 'reconnect delay growth per failed attempt',
  },
  { flag: 'backoff-cap-ms', type: 'number', default: backoff.capMs, help: 'largest computed reconnect delay' },
  {
    flag: 'backoff-max-attempts',
    type: 'number',
    default: backoff.maxAttempts,
    help: 'consecutive failed attempts before a stream fails',
  },
  { flag: 'backoff-jitter', type: 'number', default: backoff.jitter, help: 'random ± fraction of each delay' },
  {
    flag: 'event-log-max-events',
    type: 'number',
    default: DEFAULT_EVENT_LOG_LIMITS.maxEvents,
    help: 'events kept per session for resumption',
  },
  {
    flag: 'event-log-max-bytes',
    type: 'number',
    default: DEFAULT_EVENT_LOG_LIMITS.maxBytes,
    help: 'bytes of events kept per session',
  },
  {
    flag: 'redis',
    type: 'string',
    help: 'Redis (or Valkey) URL: replicas share sessions through it (docs/replicas.md); off unless given',
  },
  {
    flag: 'cluster-listen',
    type: 'string',
    default: '127.0.0.1:0',
    help: 'with --redis: host:port of the internal listener other replicas forward requests to (not for clients)',
  },
  {
    flag: 'cluster-advertise-url',
    type: 'string',
    help: 'with --redis: where other replicas reach the internal listener (default: http://<cluster-listen>)',
  },
  {
    flag: 'cluster-secret',
    type: 'string',
    help: 'with --redis (required): shared by every replica; internal requests carry it (prefer the environment variable)',
  },
  {
    flag: 'cluster-replica-ttl-ms',
    type: 'number',
    default: DEFAULT_REPLICA_TTL_MS,
    help: 'with --redis: a replica silent this long is dead and its sessions are taken over',
  },
  {
    flag: 'cluster-drain',
    type: 'choice',
    choices: ['handoff', 'end'],
    default: 'handoff',
    help: 'with --redis, on SIGTERM: hand the sessions over to the other replicas, or end them (DELETE upstream)',
  },
  {
    flag: 'admin',
    type: 'string',
    bare: DEFAULT_ADMIN_ADDRESS,
    help: `admin listener host:port (sessions API, /metrics, live page); off unless given; alone: ${DEFAULT_ADMIN_ADDRESS}`,
  },
  {
    flag: 'admin-token',
    type: 'string',
    help: 'bearer token the admin listener requires (except /healthz, /readyz)',
  },
  {
    flag: 'inspect',
    type: 'string',
    bare: DEFAULT_INSPECT_URL,
    help: `send every actor's events and snapshots to a Stately inspector WebSocket; alone: ${DEFAULT_INSPECT_URL}`,
  },
  {
    flag: 'inspect-payloads',
    type: 'boolean',
    help: 'with --inspect: send message bodies and header values too (redacted by default)',
  },
  {
    flag: 'log-level',
    type: 'choice',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    help: 'log level (logs are JSON lines on stdout)',
  },
  {
    flag: 'config',
    type: 'string',
    help: 'JSON file with any of these options, keys in camelCase (flags and env override it)',
  },
];

export const envName = (flag: string) => `MCP_SHEPHERD_${flag.toUpperCase().replaceAll('-', '_')}`;
export const configKey = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export type OptionValues = Record<string, string | number | string[] | undefined>;

export class UsageError extends Error {
  override name = 'UsageError';
}

function coerce(spec: OptionSpec, raw: unknown, source: string): string | number | string[] {
  if (spec.type === 'list') {
    const list = Array.isArray(raw) ? raw : String(raw).split(',');
    return list.map((v) => String(v).trim()).filter(Boolean);
  }
  if (spec.type === 'boolean') {
    if (raw === true || raw === 'true' || raw === '1') return 'true';
    if (raw === false || raw === 'false' || raw === '0') return 'false';
    throw new UsageError(`${source}: --${spec.flag} is true or false, got '${raw}'`);
  }
  if (spec.type === 'number') {
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(value) || value < 0)
      throw new UsageError(`${source}: --${spec.flag} needs a non-negative number, got '${raw}'`);
    return value;
  }
  const value = String(raw);
  if (spec.type === 'choice' && !spec.choices?.includes(value)) {
    throw new UsageError(`${source}: --${spec.flag} must be one of ${spec.choices?.join(', ')}, got '${value}'`);
  }
  return value;
}

/** Resolves every option: flag > environment > config file > default. */
export function resolveOptions(
  flags: Record<string, string | string[] | boolean | undefined>,
  env: Record<string, string | undefined>,
  config: Record<string, unknown>,
): OptionValues {
  const known = new Set(OPTIONS.map((o) => configKey(o.flag)));
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new UsageError(`config file: unknown key '${key}'`);
  }
  const values: OptionValues = {};
  for (const spec of OPTIONS) {
    const flag = flags[spec.flag];
    const fromEnv = env[envName(spec.flag)];
    const fromConfig = config[configKey(spec.flag)];
    if (flag !== undefined && flag !== false) values[spec.flag] = coerce(spec, flag, 'command line');
    else if (fromEnv !== undefined && fromEnv !== '') values[spec.flag] = coerce(spec, fromEnv, envName(spec.flag));
    else if (fromConfig !== undefined) values[spec.flag] = coerce(spec, fromConfig, 'config file');
    else
      values[spec.flag] =
        spec.type === 'list' && spec.default !== undefined ? coerce(spec, spec.default, 'default') : spec.default;
  }
  return values;
}

export function helpText(): string {
  const lines = [
    'mcp-shepherd: an MCP session supervisor and Streamable-HTTP proxy.',
    '',
    'Usage: mcp-shepherd --upstream URL [options]',
    '       mcp-shepherd --stdio [options] -- <command> [args...]',
    '',
    '  --stdio  run <command> (a stdio MCP server) once per session instead of using --upstream;',
    '           in --config: "stdio": { "command", "args", "env", "cwd" }',
    '',
    'Every option can also be set by an environment variable (shown) or in a --config JSON',
    'file under its camelCase name. Precedence: flag, environment, config file, default.',
    '',
  ];
  for (const spec of OPTIONS) {
    const value =
      spec.type === 'number'
        ? ' N'
        : spec.type === 'choice'
          ? ` ${spec.choices?.join('|')}`
          : spec.type === 'boolean'
            ? ''
            : spec.bare !== undefined
              ? ' [VALUE]'
              : ' VALUE';
    lines.push(`  --${spec.flag}${value}`);
    const dflt = spec.default === undefined ? '' : ` (default: ${spec.default})`;
    lines.push(`      ${spec.help}${dflt}  [${envName(spec.flag)}]`);
  }
  lines.push('  --help     show this help', '  --version  show the version', '');
  return lines.join('\n');
}

/**
 * parseArgs has no optional values: `--admin` followed by nothing or by another flag gets its
 * bare value inserted, so `--admin --port 0` and `--admin 0.0.0.0:9100` both parse.
 */
export function fillBareValues(argv: readonly string[]): string[] {
  const bare = new Map(OPTIONS.filter((o) => o.bare !== undefined).map((o) => [`--${o.flag}`, o.bare as string]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    out.push(arg);
    if (arg === '--') {
      out.push(...argv.slice(i + 1));
      break;
    }
    const value = bare.get(arg);
    const next = argv[i + 1];
    if (value !== undefined && (next === undefined || next.startsWith('--'))) out.push(value);
  }
  return out;
}

export const asLogLevel = (value: unknown) => value as LogLevel;
