/**
 * `npm run docs`: refreshes the committed copies of what test runs produce. The browser test,
 * the conformance suite and the framework matrix write into .artifacts/ (ignored by git), so
 * `npm test` and `npm run conformance` leave the working tree as they found it; this is the one
 * command that writes docs/admin-page.png, docs/conformance.md, docs/compatibility.md and docs/embedding-figures.md.
 *
 *   npm run docs                       runs the browser test, the conformance suite and the matrix, then copies
 *   npm run docs -- conformance        only some of them: screenshot | conformance | compatibility | embedding
 *   npm run docs -- --copy             runs nothing: copies the artifacts already in .artifacts/
 *                                      that are newer than their copy in docs/
 *
 * A run that fails leaves its docs/ copy as it was, except for a report that records failures
 * (the compatibility matrix): its test fails while a cell it asserts fails, and the report of
 * that run is still the one to keep, so it is copied whenever the run wrote it.
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
  /**
   * The artifact records what failed (it is written only once every part has run), so a
   * command that fails still wrote the report to keep: copy it when it is new.
   */
  recordsFailures?: boolean;
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
  {
    name: 'compatibility',
    artifact: '.artifacts/compatibility.md',
    target: 'docs/compatibility.md',
    commands: [['npx', 'vitest', 'run', 'test/integration/frameworks.matrix.test.ts']],
    recordsFailures: true,
  },
  {
    name: 'embedding',
    artifact: '.artifacts/embedding.md',
    target: 'docs/embedding-figures.md',
    commands: [['npx', 'vitest', 'run', 'test/integration/client-transport.resilience.test.ts']],
  },
];

const log = (line: string) => process.stderr.write(`docs: ${line}\n`);
const mtime = (file: string) => statSync(file).mtimeMs;
const when = (file: string) => new Date(mtime(file)).toISOString();

/** What to do with a doc's committed copy (`copy-failed`: copy it, and the run failed). */
type Outcome = 'copy' | 'copy-failed' | 'keep' | 'failed';

/**
 * Runs a doc's commands: copy when all of them succeeded and the artifact was written by them
 * (for a report that records failures: when the artifact was written by them).
 */
function produce(doc: Doc): Outcome {
  const started = Date.now();
  let failedCommand: string | undefined;
  for (const command of doc.commands) {
    const [program = '', ...args] = command;
    log(`running ${command.join(' ')}`);
    const result: SpawnSyncReturns<Buffer> = spawnSync(program, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      const how = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
      if (!doc.recordsFailures || result.error) {
        log(`${command.join(' ')} failed (${how}): ${doc.target} left as it was`);
        return 'failed';
      }
      failedCommand = `${command.join(' ')} failed (${how})`;
      break;
    }
  }
  // Some file systems keep coarse timestamps: a little slack, but never an artifact from an earlier run.
  if (!existsSync(doc.artifact) || mtime(doc.artifact) < started - 2000) {
    log(
      `${doc.commands.map((c) => c.join(' ')).join(' && ')} did not write ${doc.artifact}: ${doc.target} left as it was`,
    );
    return 'failed';
  }
  if (!failedCommand) return 'copy';
  log(`${failedCommand}, but wrote ${doc.artifact}, which records what failed: copying it`);
  return 'copy-failed';
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
    if (outcome === 'failed' || outcome === 'copy-failed') failed = true;
    if (outcome !== 'copy' && outcome !== 'copy-failed') continue;
    copyFileSync(doc.artifact, doc.target);
    // The reports align nothing; the lint does (biome formats Markdown tables).
    spawnSync('npx', ['biome', 'format', '--write', doc.target], { stdio: 'ignore' });
    copied += 1;
    log(`copied ${doc.artifact} (written ${when(doc.artifact)}) to ${doc.target}`);
  }
  if (failed)
    log(
      'not every run succeeded (see above): a failed run leaves its docs/ copy as it was, unless its report records failures',
    );
  else log(copied > 0 ? 'done: review and commit the changes in docs/' : 'done: nothing to copy');
  return failed ? 1 : 0;
}

process.exitCode = main();
