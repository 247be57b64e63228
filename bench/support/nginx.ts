/**
 * nginx from Debian as the "dumb pipe" baseline: installed if missing, configured in a temp
 * folder (streaming reverse proxy, keep-alive to the upstream, no access log) and run in the
 * foreground by the benchmark, which stops it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/peer-process.js';
import { type Started, startProcess, untilReady, waitForPort } from './processes.js';

const NGINX = '/usr/sbin/nginx';

/** Installs nginx-light (or nginx) with apt-get when it is missing; returns the binary. */
export function ensureNginx(log: (line: string) => void): string {
  if (existsSync(NGINX)) return NGINX;
  log('nginx is missing: apt-get install nginx-light');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (pkg: string) => {
    try {
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, stdio: 'ignore' });
      return existsSync(NGINX);
    } catch {
      return false;
    }
  };
  if (install('nginx-light') || install('nginx')) return NGINX;
  execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
  if (install('nginx-light') || install('nginx')) return NGINX;
  throw new Error('nginx could not be installed (apt-get install nginx-light failed)');
}

export interface Nginx extends Started {
  url: string;
  /** The worker that carries the traffic (the master only supervises). */
  workerPid(): number | undefined;
}

export async function startNginx(options: { upstreamUrl: string; logDir: string }): Promise<Nginx> {
  const binary = ensureNginx((line) => process.stderr.write(`${line}\n`));
  const upstream = new URL(options.upstreamUrl);
  const port = await freePort();
  const dir = join(options.logDir, 'nginx');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'nginx.conf');
  writeFileSync(config, nginxConfig(dir, port, upstream));
  // -e: the error log before the config is read (the default path may not be writable).
  const started = startProcess({
    name: 'nginx',
    command: binary,
    args: ['-p', dir, '-c', config, '-e', join(dir, 'error.log')],
    logDir: options.logDir,
  });
  await untilReady(started, waitForPort(port));
  return {
    ...started,
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    workerPid: () => workerOf(started.pid),
  };
}

function workerOf(masterPid: number): number | undefined {
  try {
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(masterPid)], { encoding: 'utf8' });
    const pid = Number(children.trim().split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One worker, like the one event loop of the Node proxy it is compared with; streaming in
 * both directions (proxy_buffering and proxy_request_buffering off), HTTP/1.1 keep-alive
 * connections to the upstream.
 */
function nginxConfig(dir: string, port: number, upstream: URL): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream mcp_upstream {
    server ${upstream.hostname}:${upstream.port};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mcp_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`;
}
