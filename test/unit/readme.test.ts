import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envName, OPTIONS } from '../../src/cli-options.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every command-line option with its environment variable and default', () => {
    for (const spec of OPTIONS) {
      const row = readme.split('\n').find((line) => new RegExp(`^\\|\\s*\`--${spec.flag}\`\\s*\\|`).test(line));
      expect(row, `README row for --${spec.flag}`).toBeDefined();
      expect(row).toContain(`\`${envName(spec.flag)}\``);
      if (spec.default !== undefined) expect(row).toContain(`\`${spec.default}\``);
    }
  });

  it('gives the test command that .ci/run runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm ci && npm test');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
