/**
 * The proxy under test: the same `main(argv)` as the `mcp-shepherd` command, in a process of
 * its own, plus an IPC channel the benchmark uses to force a GC and read heap figures (the
 * proxy itself exposes neither). Run with --expose-gc for `gc` to collect.
 */
import { main } from '../../src/cli.js';
import { announceReady } from './ready.js';

const started = await main(process.argv.slice(2));
if (!started) process.exit(0);
announceReady(started.url);

process.on('message', (message: { type?: string }) => {
  if (message.type === 'memory') {
    // Two passes: the first frees objects whose finalizers release more.
    global.gc?.();
    global.gc?.();
    const { heapUsed, heapTotal, rss, external, arrayBuffers } = process.memoryUsage();
    process.send?.({ type: 'memory', heapUsed, heapTotal, rss, external, arrayBuffers, gc: global.gc !== undefined });
  }
});
// The benchmark went away without stopping us: drain as on SIGTERM.
process.on('disconnect', () => {
  started.stop('disconnect').then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
