/**
 * Debian's chromium for the browser tests, driven by playwright-core. The project installs
 * what its tests need: when /usr/bin/chromium is missing, `ensureChromium` installs the
 * `chromium` package with apt-get (running `apt-get update` first if the plain install fails).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const APT_TIMEOUT_MS = 15 * 60_000;
const INSTALL = ['install', '-y', '--no-install-recommends', 'chromium'];

function installed(): string {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  return CHROMIUM_PATH;
}

function aptGet(args: string[]): void {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: APT_ENV, timeout: APT_TIMEOUT_MS });
}

/** Returns the path of Debian's chromium, installing the package when it is missing. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  try {
    aptGet(INSTALL);
  } catch {
    aptGet(['update']);
    aptGet(INSTALL);
  }
  return installed();
}

const aptGetAsync = promisify(execFile);

/**
 * {@link ensureChromium} without blocking the event loop while apt-get runs (minutes on a
 * fresh machine), so that a test runner's worker stays responsive meanwhile.
 */
export async function ensureChromiumAsync(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const options = { env: APT_ENV, timeout: APT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 };
  try {
    await aptGetAsync('apt-get', INSTALL, options);
  } catch {
    await aptGetAsync('apt-get', ['update'], options);
    await aptGetAsync('apt-get', INSTALL, options);
  }
  return installed();
}

/** The switches this machine needs: no sandbox (root in a container), no GPU, no network chatter. */
export function chromiumArgs(userDataDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${userDataDir}`,
  ];
}

export interface LaunchedChromium {
  /** The fresh profile directory; it also names this browser's processes (see {@link chromiumProcesses}). */
  userDataDir: string;
  /** The browser's one context (playwright owns the profile directory through it). */
  context: BrowserContext;
  /** Closes the browser and removes its fresh profile directory. */
  close(): Promise<void>;
}

/**
 * Launches headless chromium with a fresh profile in a temporary directory. Playwright
 * refuses `--user-data-dir` in `args` and passes it itself for a persistent context, so the
 * profile goes through `launchPersistentContext`; the other switches are {@link chromiumArgs}.
 */
export async function launchChromium(): Promise<LaunchedChromium> {
  const executablePath = await ensureChromiumAsync();
  const userDataDir = mkdtempSync(join(tmpdir(), 'mcp-shepherd-chromium-'));
  const args = chromiumArgs(userDataDir).filter((arg) => !arg.startsWith('--user-data-dir='));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    userDataDir,
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Pids of the live processes whose command line names this profile directory (the browser and its helpers). */
export function chromiumProcesses(userDataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(userDataDir)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
