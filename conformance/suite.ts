/**
 * Runs @modelcontextprotocol/conformance (under Node 22) and reads its verdicts from the
 * checks.json files it saves. A scenario passes as the suite's own baseline logic judges it:
 * no FAILURE and no WARNING check (and, for client scenarios, a clean client exit).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
const SUITE_PACKAGE = require.resolve('@modelcontextprotocol/conformance/package.json');
const SUITE_CLI = join(dirname(SUITE_PACKAGE), 'dist/index.js');

export const suiteVersion = (): string =>
  (JSON.parse(readFileSync(SUITE_PACKAGE, 'utf8')) as { version: string }).version;

export class Suite {
  constructor(private readonly node: string) {}

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

  /** Runs one client scenario, the suite appending its test server's URL to `command`. */
  async client(scenario: string, command: string): Promise<Verdict> {
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
      const child = spawn(this.node, [SUITE_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  for (const entry of readdirSync(dir)) {
    const scenario = pattern.exec(entry)?.[1];
    if (!scenario) continue;
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
