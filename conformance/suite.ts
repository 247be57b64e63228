/**
 * Runs @modelcontextprotocol/conformance (under Node 22) and reads its verdicts from the
 * checks.json files it saves. A scenario passes as the suite's own baseline logic judges it:
 * no FAILURE and no WARNING check (and, for client scenarios, a clean client exit).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Verdict {
  passed: boolean;
  /** Why it failed: the failing checks' messages. */
  reason?: string;
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  description?: string;
  errorMessage?: string;
}

const require = createRequire(import.meta.url);
/**
 * The session-era suite (0.1.16) and, under the npm alias `conformance-next`, the 0.2.0-alpha
 * suite that has the 2026-07-28 scenarios. Both install side by side (they share every dependency).
 */
export const SUITE_PACKAGES = {
  current: require.resolve('@modelcontextprotocol/conformance/package.json'),
  next: require.resolve('conformance-next/package.json'),
} as const;
export type SuitePackage = keyof typeof SUITE_PACKAGES;

export const suiteVersion = (which: SuitePackage = 'current'): string =>
  (JSON.parse(readFileSync(SUITE_PACKAGES[which], 'utf8')) as { version: string }).version;

export class Suite {
  private readonly cli: string;

  constructor(
    private readonly node: string,
    which: SuitePackage = 'current',
  ) {
    this.cli = join(dirname(SUITE_PACKAGES[which]), 'dist/index.js');
  }

  /** Every server scenario the suite has (active and pending). */
  async serverScenarios(): Promise<string[]> {
    const { stdout } = await this.run(['list', '--server']);
    return [...stdout.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1] as string);
  }

  /** Runs every server scenario against `url`. */
  async servers(url: string): Promise<Map<string, Verdict>> {
    const dir = mkdtempSync(join(tmpdir(), 'conformance-'));
    try {
      await this.run(['server', '--url', url, '--suite', 'all', '--output-dir', dir]);
      return verdictsIn(dir, /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs one server scenario against `url`, at `specVersion` when given (the suite picks the
   * wire from it: 2026-07-28 is the stateless `_meta` envelope). The results go to a
   * temporary folder, or under `outputDir` (kept) when given.
   */
  async server(url: string, scenario: string, specVersion?: string, outputDir?: string): Promise<Verdict> {
    const dir = outputDir ?? mkdtempSync(join(tmpdir(), 'conformance-'));
    mkdirSync(dir, { recursive: true });
    try {
      const { stdout, stderr } = await this.run([
        'server',
        '--url',
        url,
        '--scenario',
        scenario,
        '--output-dir',
        dir,
        ...(specVersion ? ['--spec-version', specVersion] : []),
      ]);
      // The newest run of the scenario wins (folder names end in a sortable timestamp).
      return (
        verdictsIn(dir, /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/).get(scenario) ?? {
          passed: false,
          reason: `no results saved (${(stderr.trim() || stdout.trim()).split('\n').at(-1)})`,
        }
      );
    } finally {
      if (!outputDir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs one client scenario, the suite appending its test server's URL to `command` (split on
   * spaces: no spaces in its paths). `specVersion` (e.g. 2026-07-28) picks the wire the suite's
   * server speaks; the client gets it as MCP_CONFORMANCE_PROTOCOL_VERSION.
   */
  async client(scenario: string, command: string, specVersion?: string): Promise<Verdict> {
    const dir = mkdtempSync(join(tmpdir(), 'conformance-'));
    try {
      const { code, stderr } = await this.run([
        'client',
        '--command',
        command,
        '--scenario',
        scenario,
        '--output-dir',
        dir,
        ...(specVersion ? ['--spec-version', specVersion] : []),
      ]);
      const verdict = verdictsIn(dir, /^(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/).get(scenario) ?? {
        passed: false,
        reason: `no results saved (${stderr.trim().split('\n').at(-1)})`,
      };
      if (verdict.passed && code !== 0) return { passed: false, reason: `the client exited with an error: ${stderr}` };
      return verdict;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.node, [this.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }
}

function verdictsIn(dir: string, pattern: RegExp): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  for (const entry of readdirSync(dir).sort()) {
    const scenario = pattern.exec(entry)?.[1];
    // A scenario not applicable at the requested --spec-version leaves an empty folder.
    if (!scenario || !existsSync(join(dir, entry, 'checks.json'))) continue;
    const checks = JSON.parse(readFileSync(join(dir, entry, 'checks.json'), 'utf8')) as Check[];
    const bad = checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING');
    verdicts.set(
      scenario,
      bad.length === 0
        ? { passed: true }
        : {
            passed: false,
            reason: bad.map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description}`).join('; '),
          },
    );
  }
  return verdicts;
}
