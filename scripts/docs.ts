/**
 * `npm run docs`: refreshes the committed copies of what test runs produce. The browser test
 * and the conformance suite write into .artifacts/ (ignored by git), so `npm test` and
 * `npm run conformance` leave the working tree as they found it; this is the one command that
 * writes docs/admin-page.png and docs/conformance.md.
 *
 *   npm run docs                       runs the browser test and the conformance suite, then copies
 *   npm run docs -- conformance        only one of them: screenshot | conformance
 *   npm run docs -- --copy             runs nothing: copies the artifacts already in .artifacts/
 *                                      that are newer than their copy in docs/
 *
 * A run that fails leaves its docs/ copy as it was.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Doc {
  name: string;
  /** What the run writes (ignored by git). */
  artifact: string;
  /** The committed copy. */
  target: string;
  /** The commands that write the artifact, in order. */
  commands: string[][];
}

const DOCS: Doc[] = [
  {
    name: 'screenshot',
    artifact: '.artifacts/admin-page.png',
    target: 'docs/admin-page.png',
    commands: [
      ['npm', 'run', '-s', 'build:page'],
      ['npx', 'vitest', 'run', 'test/browser'],
    ],
  },
  {
    name: 'conformance',
    artifact: '.artifacts/conformance.md',
    target: 'docs/conformance.md',
    commands: [['npm', 'run', '-s', 'conformance']],
  },
];

const log = (line: string) => process.stderr.write(`docs: ${line}\n`);
const mtime = (file: string) => statSync(file).mtimeMs;
const when = (file: string) => new Date(mtime(file)).toISOString();

/** What to do with a doc's committed copy. */
type Outcome = 'copy' | 'keep' | 'failed';

/** Runs a doc's commands: copy when all of them succeeded and the artifact was written by them. */
function produce(doc: Doc): Outcome {
  const started = Date.now();
  for (const command of doc.commands) {
    const [program = '', ...args] = command;
    log(`running ${command.join(' ')}`);
    const result: SpawnSyncReturns<Buffer> = spawnSync(program, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      const how = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
      log(`${command.join(' ')} failed (${how}): ${doc.target} left as it was`);
      return 'failed';
    }
  }
  // Some file systems keep coarse timestamps: a little slack, but never an artifact from an earlier run.
  if (!existsSync(doc.artifact) || mtime(doc.artifact) < started - 2000) {
    log(
      `${doc.commands.map((c) => c.join(' ')).join(' && ')} did not write ${doc.artifact}: ${doc.target} left as it was`,
    );
    return 'failed';
  }
  return 'copy';
}

/** With --copy: copy when the artifact is there and newer than the committed copy. */
function latest(doc: Doc): Outcome {
  if (!existsSync(doc.artifact)) {
    log(`no ${doc.artifact}: run ${doc.commands.at(-1)?.join(' ')} first, or npm run docs without --copy`);
    return 'failed';
  }
  if (existsSync(doc.target) && mtime(doc.artifact) <= mtime(doc.target)) {
    log(`${doc.target} is not older than ${doc.artifact} (${when(doc.artifact)}): left as it is`);
    return 'keep';
  }
  return 'copy';
}

function main(): number {
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const { values, positionals } = parseArgs({ options: { copy: { type: 'boolean' } }, allowPositionals: true });
  const unknown = positionals.filter((name) => !DOCS.some((doc) => doc.name === name));
  if (unknown.length > 0) {
    log(`unknown ${unknown.join(', ')}: choose from ${DOCS.map((doc) => doc.name).join(', ')}`);
    return 2;
  }
  const chosen = positionals.length > 0 ? DOCS.filter((doc) => positionals.includes(doc.name)) : DOCS;
  log(
    values.copy
      ? `copying the latest artifacts from .artifacts/ (nothing is run): ${chosen.map((d) => d.target).join(', ')}`
      : `running what produces ${chosen.map((d) => d.target).join(', ')}, then copying from .artifacts/`,
  );
  let failed = false;
  let copied = 0;
  for (const doc of chosen) {
    const outcome = values.copy ? latest(doc) : produce(doc);
    if (outcome === 'failed') failed = true;
    if (outcome !== 'copy') continue;
    copyFileSync(doc.artifact, doc.target);
    copied += 1;
    log(`copied ${doc.artifact} (written ${when(doc.artifact)}) to ${doc.target}`);
  }
  if (failed) log('not every copy in docs/ was refreshed (see above)');
  else log(copied > 0 ? 'done: review and commit the changes in docs/' : 'done: nothing to copy');
  return failed ? 1 : 0;
}

process.exitCode = main();
