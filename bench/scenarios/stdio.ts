/**
 * stdio: tools/call of a trivial tool on a stdio MCP server, at a fixed concurrency over
 * sessions opened before timing, through mcp-shepherd --stdio, mcp-proxy and supergateway
 * --stateful: same server, same load, alternated in rounds.
 */
import { measureToolWindow, type ToolWindow, toolWindowSizes, warmUpTools } from '../support/load.js';
import { type Endpoint, type McpHttpSession, openEndpoint, openSessions } from '../support/mcp-client.js';
import { treeCpuTimeMs } from '../support/processes.js';
import { Cleanup, rotate, type Scenario, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { roundsSummary } from '../support/stats.js';
import { BRIDGES, type Bridge, type RunningBridge, startBridge } from '../support/stdio-bridges.js';

/** One worker per session; mcp-shepherd and supergateway run one server process per session. */
const CONCURRENCY = 8;

/** CPU per request: of the bridge and its server processes. */
type Window = ToolWindow;

export const stdio: Scenario = {
  name: 'stdio',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { quick, logDir, log } = context;
    const { rounds, windowMs, warmupMs } = toolWindowSizes(quick);
    const cleanup = new Cleanup();
    try {
      const running = {} as Record<Bridge, RunningBridge>;
      const endpoints = {} as Record<Bridge, Endpoint>;
      const sessions = {} as Record<Bridge, McpHttpSession[]>;
      for (const bridge of BRIDGES) {
        running[bridge] = cleanup.add(await startBridge(bridge, { logDir, cpuProfDir: context.cpuProfDir }));
        endpoints[bridge] = openEndpoint(bridge, running[bridge].url, CONCURRENCY);
        cleanup.defer(() => endpoints[bridge].pool.close());
        sessions[bridge] = await openSessions(endpoints[bridge], CONCURRENCY, 2);
      }
      for (const bridge of BRIDGES) await warmUpTools(sessions[bridge], warmupMs);
      const perRound: Array<Record<Bridge, Window>> = [];
      for (let round = 0; round < rounds; round++) {
        const windows = {} as Record<Bridge, Window>;
        for (const bridge of rotate(BRIDGES, round)) {
          const pid = running[bridge].pid;
          windows[bridge] = await measureToolWindow(sessions[bridge], {
            windowMs,
            warmupMs,
            cpuMs: () => treeCpuTimeMs(pid),
          });
        }
        perRound.push(windows);
        log(
          `stdio round ${round + 1}/${rounds}: ${BRIDGES.map((b) => `${b} ${Math.round(windows[b].throughput)}/s`).join(', ')}`,
        );
      }
      const { bySubject: byBridge, paired } = roundsSummary(BRIDGES, perRound);
      const vs = (peer: Bridge) => paired((r) => r['mcp-shepherd'].throughput / r[peer].throughput);
      const vsMcpProxy = vs('mcp-proxy');
      const vsSupergateway = vs('supergateway');
      const vsBest = Math.min(vsMcpProxy, vsSupergateway);
      return {
        headline: {
          ratio: vsBest,
          means: `tools/call throughput at concurrency ${CONCURRENCY}, mcp-shepherd / the faster of mcp-proxy and supergateway`,
        },
        targets: [
          {
            target: 'stdio: >= 2x the throughput of mcp-proxy and of supergateway',
            measured: `${vsMcpProxy}x mcp-proxy, ${vsSupergateway}x supergateway`,
            met: vsMcpProxy >= 2 && vsSupergateway >= 2,
          },
        ],
        figures: {
          concurrency: CONCURRENCY,
          sessions: CONCURRENCY,
          rounds,
          windowMs,
          ...byBridge,
          shepherdVsMcpProxy: vsMcpProxy,
          shepherdVsSupergateway: vsSupergateway,
        },
      };
    } finally {
      await cleanup.run();
    }
  },
};
