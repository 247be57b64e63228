/**
 * Debian's chromium for the browser tests, driven by playwright-core. The project installs
 * what its tests need: when /usr/bin/chromium is missing, `ensureChromium` installs the
 * `chromium` package with apt-get (see debian-package.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ensureDebianPackage, ensureDebianPackageAsync } from './debian-package.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Returns the path of Debian's chromium, installing the package when it is missing. */
export function ensureChromium(): string {
  return ensureDebianPackage('chromium', CHROMIUM_PATH);
}

/**
 * {@link ensureChromium} without blocking the event loop while apt-get runs (minutes on a
 * fresh machine), so that a test runner's worker stays responsive meanwhile.
 */
export function ensureChromiumAsync(): Promise<string> {
  return ensureDebianPackageAsync('chromium', CHROMIUM_PATH);
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
