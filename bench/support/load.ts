/**
 * Closed-loop load: `concurrency` workers each send their next request as soon as the last
 * one is answered, for a fixed time after a warm-up. Latency is per request, in ms.
 */
import { performance } from 'node:perf_hooks';

export interface LoadResult {
  requests: number;
  elapsedMs: number;
  /** Requests per second. */
  throughput: number;
  latenciesMs: Float64Array;
}

export interface LoadOptions {
  /** One function per worker; each call is one request. */
  workers: ReadonlyArray<() => Promise<unknown>>;
  durationMs: number;
  warmupMs: number;
  /** Called between warm-up and the timed window, e.g. to read a process's CPU time. */
  onStart?: () => void;
  onEnd?: () => void;
}

export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const { workers, durationMs, warmupMs } = options;
  await runFor(workers, warmupMs, () => {});
  options.onStart?.();
  const latencies: number[] = [];
  const start = performance.now();
  await runFor(workers, durationMs, (ms) => latencies.push(ms));
  const elapsedMs = performance.now() - start;
  options.onEnd?.();
  return {
    requests: latencies.length,
    elapsedMs,
    throughput: (latencies.length * 1000) / elapsedMs,
    latenciesMs: Float64Array.from(latencies),
  };
}

async function runFor(
  workers: ReadonlyArray<() => Promise<unknown>>,
  ms: number,
  record: (latencyMs: number) => void,
): Promise<void> {
  const deadline = performance.now() + ms;
  await Promise.all(
    workers.map(async (send) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await send();
        record(performance.now() - t0);
      }
    }),
  );
}
