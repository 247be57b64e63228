/**
 * The conformance upstream: the official SDK 1.x server (one transport per session, an event
 * store for resumption) offering every tool, resource and prompt the server scenarios call.
 *
 * `full` also does what a careful server does on its own: closes `test_reconnection`'s stream
 * mid-call (SEP-1699 polling, retry 500 ms) and refuses foreign Host/Origin headers (DNS
 * rebinding). `plain` does neither, so that whatever the scenarios see of those behaviours
 * through the proxy comes from the proxy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DemoServer } from '../src/demo/demo-server.js';
import { registerConformanceFeatures } from './conformance-features.js';

export type UpstreamKind = 'full' | 'plain';

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** "Servers MUST validate the Origin header"; a local server also checks Host (DNS rebinding). */
function refuseForeignHosts(req: IncomingMessage, res: ServerResponse): boolean {
  const local = (value: string | undefined, asUrl: boolean) => {
    if (value === undefined) return true;
    try {
      return LOCAL_HOSTNAMES.has(new URL(asUrl ? value : `http://${value}`).hostname);
    } catch {
      return false;
    }
  };
  if (local(req.headers.host, false) && local(req.headers.origin, true)) return false;
  res.writeHead(403, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Forbidden: not a local host' } }),
  );
  return true;
}

export async function startConformanceUpstream(kind: UpstreamKind): Promise<DemoServer> {
  const full = kind === 'full';
  const upstream = await DemoServer.start(0, '127.0.0.1', {
    name: `mcp-shepherd-conformance-${kind}`,
    capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, logging: {}, completions: {} },
    register: (server) => registerConformanceFeatures(server, { polling: full }),
    transport: full ? { retryInterval: 500 } : {},
  });
  if (full) upstream.beforeRequest = refuseForeignHosts;
  return upstream;
}
