/**
 * Sessions held by a Node service that calls MCP servers: the proxy's supervisor, with SDK
 * transports in front instead of HTTP. One supervisor holds the service's sessions to any
 * number of upstreams; the same admin listener, metrics and inspector show them.
 */
import type { ProcessOptions, StdioCommand } from '../../machines/process.types.js';
import { type AdminOptions, type AdminServer, createAdminServer } from '../admin/admin-server.js';
import { credentialPolicy } from '../auth/credentials.js';
import { createLogger } from '../log.js';
import { createSupervision, type Supervision, type SupervisionOptions } from '../session/supervision.js';
import { type ClientTransportOptions, ShepherdClientTransport } from './client-transport.js';

export interface ClientSupervisorOptions extends Omit<SupervisionOptions, 'upstream'> {
  /** Key of the keyed hash that names credentials. Default: random per process. */
  credentialKey?: string | undefined;
}

export interface UpstreamOptions extends ClientTransportOptions {
  /** For a `stdio:` URL: the server process, run once per session (docs/stdio.md). */
  process?: StdioCommand | undefined;
  processOptions?: Partial<ProcessOptions> | undefined;
}

export interface ClientSupervisor extends Supervision {
  /** A transport for one SDK `Client`: `await client.connect(supervisor.clientTransport(url))`. */
  clientTransport(url: string, options?: UpstreamOptions): ShepherdClientTransport;
  /** The admin listener (sessions API, live page, /metrics) for these sessions. */
  admin(options?: AdminOptions & { host?: string; port?: number }): Promise<{ url: string; server: AdminServer }>;
}

interface Internal extends ClientSupervisor {
  transport(url: string, options: UpstreamOptions, onFinished?: () => Promise<void>): ShepherdClientTransport;
}

function supervisorWithTransports(options: ClientSupervisorOptions): Internal {
  // A library inside someone's service: quiet unless something is wrong.
  const supervision = createSupervision({ ...options, logger: options.logger ?? createLogger('warn') });
  const credentials = credentialPolicy(options.credentialKey ? { key: options.credentialKey } : {});
  const admins = new Set<AdminServer>();
  const transport = (url: string, upstreamOptions: UpstreamOptions, onFinished?: () => Promise<void>) => {
    const { headers, process, processOptions } = upstreamOptions;
    const target = {
      url,
      ...(headers ? { headers } : {}),
      ...(process ? { process } : {}),
      ...(processOptions ? { processOptions } : {}),
    };
    return new ShepherdClientTransport(supervision.runtime, target, credentials, upstreamOptions, onFinished);
  };
  return {
    ...supervision,
    transport,
    clientTransport: (url, upstreamOptions = {}) => transport(url, upstreamOptions),
    async admin({ host = '127.0.0.1', port = 0, ...adminOptions } = {}) {
      const server = createAdminServer(supervision, adminOptions);
      admins.add(server);
      const { url } = await server.listen({ host, port });
      return { url, server };
    },
    async close() {
      await supervision.close();
      for (const server of admins) await server.close();
      admins.clear();
    },
  };
}

export function createSupervisor(options: ClientSupervisorOptions = {}): ClientSupervisor {
  const { transport: _internal, ...supervisor } = supervisorWithTransports(options);
  return supervisor;
}

/**
 * One resilient session for one SDK `Client`, with a supervisor of its own that is gone when
 * the transport closes: `await client.connect(createClientTransport(url))`.
 */
export function createClientTransport(
  url: string,
  options: UpstreamOptions & ClientSupervisorOptions = {},
): ShepherdClientTransport {
  const supervisor = supervisorWithTransports(options);
  return supervisor.transport(url, options, () => supervisor.close());
}
