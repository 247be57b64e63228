/**
 * The proxy under test: the same `main(argv)` as the `mcp-shepherd` command, in a process of
 * its own, plus an IPC channel the benchmark uses to force a GC and read heap figures (the
 * proxy itself exposes neither), a `describe` (admin URL, cluster replica id) and its event
 * loop's delay (`loop-delay`: the first call starts measuring). Run with --expose-gc for `gc`
 * to collect.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { main } from '../../src/cli.js';
import { announceReady } from './ready.js';

const started = await main(process.argv.slice(2));
if (!started) process.exit(0);
announceReady(started.url);

let loopDelay: IntervalHistogram | undefined;

process.on('message', (message: { type?: string }) => {
  // The longest the event loop was late since the last call (ms): a stalled proxy misses its timers.
  if (message.type === 'loop-delay') {
    const measured = loopDelay;
    process.send?.({
      type: 'loop-delay',
      maxMs: measured ? measured.max / 1e6 : 0,
      p99Ms: measured ? measured.percentile(99) / 1e6 : 0,
    });
    if (measured) measured.reset();
    else {
      loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
    }
  }
  // Cluster mode (bench/support/cluster.ts): this replica's id and admin URL.
  if (message.type === 'describe') {
    process.send?.({ type: 'describe', adminUrl: started.adminUrl, replicaId: started.shepherd.cluster?.replicaId });
  }
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
