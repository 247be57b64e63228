/**
 * Closed-loop load: `concurrency` workers each send their next request as soon as the last
 * one is answered, for a fixed time after a warm-up. Latency is per request, in ms.
 */
import { performance } from 'node:perf_hooks';
import { summarizeLatencies } from './stats.js';

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

/** One timed window of `tools/call noop` (the rpc and stdio scenarios). */
export interface ToolWindow {
  throughput: number;
  p50: number;
  p99: number;
  /** CPU time of the measured processes per request, in µs. */
  cpuUsPerRequest: number;
}

/** Rounds and window lengths of the tools/call scenarios, full or `--quick`. */
export function toolWindowSizes(quick: boolean) {
  return { rounds: quick ? 3 : 5, windowMs: quick ? 800 : 3000, warmupMs: quick ? 300 : 1000 };
}

const noopWorkers = (sessions: ReadonlyArray<{ callTool(name: string): Promise<unknown> }>) =>
  sessions.map((s) => () => s.callTool('noop'));

/** An untimed pass, so that JIT warm-up (and servers just started) do not land in the first round. */
export async function warmUpTools(
  sessions: ReadonlyArray<{ callTool(name: string): Promise<unknown> }>,
  warmupMs: number,
): Promise<void> {
  await closedLoop({ workers: noopWorkers(sessions), durationMs: 0, warmupMs });
}

/** Runs one window; `cpuMs` reads the CPU time of what is measured (none: 0). */
export async function measureToolWindow(
  sessions: ReadonlyArray<{ callTool(name: string): Promise<unknown> }>,
  options: { windowMs: number; warmupMs: number; cpuMs: () => number },
): Promise<ToolWindow> {
  let cpuBefore = 0;
  let cpuAfter = 0;
  const result = await closedLoop({
    workers: noopWorkers(sessions),
    durationMs: options.windowMs,
    warmupMs: options.warmupMs,
    onStart: () => {
      cpuBefore = options.cpuMs();
    },
    onEnd: () => {
      cpuAfter = options.cpuMs();
    },
  });
  const latency = summarizeLatencies(result.latenciesMs);
  return {
    throughput: result.throughput,
    p50: latency.p50,
    p99: latency.p99,
    cpuUsPerRequest: ((cpuAfter - cpuBefore) * 1000) / result.requests,
  };
}
