/**
 * Installs the Debian packages the tests need. The project installs what its tests need:
 * when a package's binary is missing, apt-get installs the package (running `apt-get update`
 * first if the plain install fails, since a fresh machine's package lists may be empty or stale).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const APT_TIMEOUT_MS = 15 * 60_000;

function installArgs(pkg: string): string[] {
  return ['install', '-y', '--no-install-recommends', pkg];
}

function installed(pkg: string, binary: string): string {
  if (!existsSync(binary)) throw new Error(`apt-get installed ${pkg} but ${binary} is missing`);
  return binary;
}

function aptGet(args: string[]): void {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: APT_ENV, timeout: APT_TIMEOUT_MS });
}

/** Returns `binary`, installing Debian package `pkg` when the binary is missing. */
export function ensureDebianPackage(pkg: string, binary: string): string {
  if (existsSync(binary)) return binary;
  try {
    aptGet(installArgs(pkg));
  } catch {
    aptGet(['update']);
    aptGet(installArgs(pkg));
  }
  return installed(pkg, binary);
}

const aptGetAsync = promisify(execFile);

/**
 * {@link ensureDebianPackage} without blocking the event loop while apt-get runs (minutes on
 * a fresh machine), so that a test runner's worker stays responsive meanwhile.
 */
export async function ensureDebianPackageAsync(pkg: string, binary: string): Promise<string> {
  if (existsSync(binary)) return binary;
  const options = { env: APT_ENV, timeout: APT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 };
  try {
    await aptGetAsync('apt-get', installArgs(pkg), options);
  } catch {
    await aptGetAsync('apt-get', ['update'], options);
    await aptGetAsync('apt-get', installArgs(pkg), options);
  }
  return installed(pkg, binary);
}
