/**
 * rpc: tools/call of a trivial tool with JSON answers, over sessions opened before timing,
 * at concurrency 1 and 32: direct to the upstream, through nginx, through mcp-shepherd.
 */
import { measureToolWindow, type ToolWindow, toolWindowSizes, warmUpTools } from '../support/load.js';
import { type Endpoint, type McpHttpSession, openEndpoint, openSessions } from '../support/mcp-client.js';
import { startNginx } from '../support/nginx.js';
import { cpuTimeMs } from '../support/processes.js';
import { Cleanup, rotate, type Scenario, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { startShepherd } from '../support/shepherd.js';
import { round3, roundsSummary } from '../support/stats.js';
import { startUpstream } from '../support/upstreams.js';

const CONCURRENCIES = [1, 32] as const;
type Subject = 'direct' | 'nginx' | 'proxy';
const SUBJECTS: readonly Subject[] = ['direct', 'nginx', 'proxy'];

/** CPU per request: of the process in the path (nginx worker or proxy). */
type Window = ToolWindow;

export const rpc: Scenario = {
  name: 'rpc',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { quick, logDir, log } = context;
    const { rounds, windowMs, warmupMs } = toolWindowSizes(quick);
    const cleanup = new Cleanup();
    try {
      const upstream = cleanup.add(await startUpstream({ name: 'rpc-upstream', logDir, jsonResponse: true }));
      const nginx = cleanup.add(await startNginx({ upstreamUrl: upstream.url, logDir }));
      const proxy = cleanup.add(
        await startShepherd({ logDir, args: ['--upstream', upstream.url], cpuProfDir: context.cpuProfDir }),
      );
      const maxConcurrency = Math.max(...CONCURRENCIES);
      const endpoints: Record<Subject, Endpoint> = {
        direct: openEndpoint('direct', upstream.url, maxConcurrency),
        nginx: openEndpoint('nginx', nginx.url, maxConcurrency),
        proxy: openEndpoint('proxy', proxy.url, maxConcurrency),
      };
      cleanup.defer(() => Promise.all(Object.values(endpoints).map((e) => e.pool.close())));
      const sessions = {} as Record<Subject, McpHttpSession[]>;
      for (const subject of SUBJECTS) sessions[subject] = await openSessions(endpoints[subject], maxConcurrency);
      const pidInPath: Record<Subject, () => number | undefined> = {
        direct: () => undefined,
        nginx: () => nginx.workerPid(),
        proxy: () => proxy.pid,
      };

      for (const subject of SUBJECTS) await warmUpTools(sessions[subject], warmupMs);
      const figures: Record<string, unknown> = { rounds, windowMs, warmupMs };
      for (const concurrency of CONCURRENCIES) {
        const perRound: Array<Record<Subject, Window>> = [];
        for (let round = 0; round < rounds; round++) {
          const windows = {} as Record<Subject, Window>;
          for (const subject of rotate(SUBJECTS, round)) {
            const pid = pidInPath[subject]();
            windows[subject] = await measureToolWindow(sessions[subject].slice(0, concurrency), {
              windowMs,
              warmupMs,
              cpuMs: () => (pid === undefined ? 0 : cpuTimeMs(pid)),
            });
          }
          perRound.push(windows);
          log(
            `rpc c${concurrency} round ${round + 1}/${rounds}: ${SUBJECTS.map(
              (s) => `${s} ${Math.round(windows[s].throughput)}/s p50 ${windows[s].p50.toFixed(3)} ms`,
            ).join(', ')}`,
          );
        }
        figures[`c${concurrency}`] = summarizeConcurrency(perRound);
      }
      return verdict(figures);
    } finally {
      await cleanup.run();
    }
  },
};

/** Medians over rounds; ratios and added latency paired within each round, so drift between rounds cancels. */
function summarizeConcurrency(perRound: Array<Record<Subject, Window>>) {
  const { bySubject, paired } = roundsSummary(SUBJECTS, perRound);
  const proxyAddedP50 = paired((r) => r.proxy.p50 - r.direct.p50);
  const proxyAddedP99 = paired((r) => r.proxy.p99 - r.direct.p99);
  const nginxAddedP50 = paired((r) => r.nginx.p50 - r.direct.p50);
  const nginxAddedP99 = paired((r) => r.nginx.p99 - r.direct.p99);
  return {
    ...bySubject,
    proxyThroughputVsDirect: paired((r) => r.proxy.throughput / r.direct.throughput),
    nginxThroughputVsDirect: paired((r) => r.nginx.throughput / r.direct.throughput),
    proxyThroughputVsNginx: paired((r) => r.proxy.throughput / r.nginx.throughput),
    addedLatencyMs: {
      proxy: { p50: proxyAddedP50, p99: proxyAddedP99 },
      nginx: { p50: nginxAddedP50, p99: nginxAddedP99 },
    },
    // Ratio of medians: a per-round ratio of two tiny differences would be mostly noise.
    proxyAddedVsNginxAdded: {
      p50: round3(proxyAddedP50 / nginxAddedP50),
      p99: round3(proxyAddedP99 / nginxAddedP99),
    },
  };
}

function verdict(figures: Record<string, unknown>): ScenarioResult {
  const c1 = figures.c1 as ReturnType<typeof summarizeConcurrency>;
  const c32 = figures.c32 as ReturnType<typeof summarizeConcurrency>;
  return {
    headline: { ratio: c32.proxyThroughputVsDirect, means: 'tools/call throughput at concurrency 32, proxy / direct' },
    // CPU of one JSON request at concurrency 1, the proxy's and nginx's: the ratio that says what a gateway costs.
    summary: { cpuUsPerRequest: c1.proxy.cpuUsPerRequest, nginxCpuUsPerRequest: c1.nginx.cpuUsPerRequest },
    targets: [
      {
        target: 'throughput through the proxy >= 0.8x direct at concurrency 32',
        measured: `${c32.proxyThroughputVsDirect}x (nginx ${c32.nginxThroughputVsDirect}x)`,
        met: c32.proxyThroughputVsDirect >= 0.8,
      },
      {
        target: 'p99 added latency <= 1 ms at concurrency 1',
        measured: `${c1.addedLatencyMs.proxy.p99} ms (p50 ${c1.addedLatencyMs.proxy.p50} ms)`,
        met: c1.addedLatencyMs.proxy.p99 <= 1,
      },
      {
        target: 'added latency no more than 2x what nginx adds (concurrency 1, p50)',
        measured: `proxy adds ${c1.addedLatencyMs.proxy.p50} ms, nginx ${c1.addedLatencyMs.nginx.p50} ms: ${c1.proxyAddedVsNginxAdded.p50}x`,
        met: c1.proxyAddedVsNginxAdded.p50 <= 2,
      },
    ],
    figures,
  };
}
