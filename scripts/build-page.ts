/**
 * `npm run build:page`: bundles the admin live page's browser code (src/admin/page/main.ts,
 * type-checked by tsconfig.page.json) into dist/assets/admin-page.js, and its stylesheet into
 * dist/assets/admin-page.css, each with a source map. The admin listener serves these files
 * (src/admin/page-assets.ts); `npm run build` and `npm test` run this first.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

const result = await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'src/admin/page/main.ts', out: 'admin-page' },
    { in: 'src/admin/page/style.css', out: 'admin-page' },
  ],
  outdir: 'dist/assets',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  // What the page needs (ES2022, EventSource, CSS.escape) is in every browser of the last few years.
  target: ['es2022', 'chrome100', 'firefox100', 'safari15.4'],
  minify: true,
  // The maps carry the sources, so the browser's devtools show the TypeScript even from the npm package.
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.map')) process.stdout.write(`${file} ${(bytes / 1024).toFixed(1)} KiB\n`);
}
