/**
 * The stdio-to-Streamable-HTTP bridges compared in the stdio scenario, each started the way
 * its README says, on 127.0.0.1, in front of the same stdio server.
 */
import { join } from 'node:path';
import { freePort } from '../../test/support/peer-process.js';
import { benchDir, repoDir, type Started, startProcess, untilReady, waitForPort } from './processes.js';
import { startShepherd } from './shepherd.js';

export type Bridge = 'mcp-shepherd' | 'mcp-proxy' | 'supergateway';
export const BRIDGES: readonly Bridge[] = ['mcp-shepherd', 'mcp-proxy', 'supergateway'];

export const STDIO_SERVER = [process.execPath, join(benchDir, 'support', 'stdio-noop-server.mjs')] as const;

export interface RunningBridge extends Started {
  url: string;
}

export async function startBridge(
  bridge: Bridge,
  options: { logDir: string; cpuProfDir: string | undefined },
): Promise<RunningBridge> {
  const { logDir } = options;
  if (bridge === 'mcp-shepherd') {
    return startShepherd({ logDir, args: ['--stdio', '--', ...STDIO_SERVER], cpuProfDir: options.cpuProfDir });
  }
  const port = await freePort();
  const started =
    bridge === 'mcp-proxy'
      ? startProcess({
          name: bridge,
          command: process.execPath,
          args: [
            join(repoDir, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs'),
            ...['--port', String(port), '--host', '127.0.0.1', '--server', 'stream'],
            '--',
            ...STDIO_SERVER,
          ],
          logDir,
        })
      : startProcess({
          name: bridge,
          command: process.execPath,
          args: [
            // supergateway has no host option: keep it on loopback.
            ...['--import', join(repoDir, 'test', 'support', 'loopback-only.mjs')],
            join(repoDir, 'node_modules/supergateway/dist/index.js'),
            ...['--stdio', STDIO_SERVER.join(' '), '--outputTransport', 'streamableHttp', '--stateful'],
            ...['--port', String(port), '--logLevel', 'none'],
          ],
          logDir,
        });
  await untilReady(started, waitForPort(port));
  return { ...started, url: `http://127.0.0.1:${port}/mcp` };
}
