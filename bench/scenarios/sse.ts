import { type Endpoint, McpHttpSession, openEndpoint } from '../support/mcp-client.js';
import { startNginx } from '../support/nginx.js';
import { cpuTimeMs } from '../support/processes.js';
import { Cleanup, rotate, type Scenario, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { startShepherd } from '../support/shepherd.js';
import { roundsSummary } from '../support/stats.js';
import { startUpstream } from '../support/upstreams.js';

type Subject = 'direct' | 'nginx' | 'proxy';
const SUBJECTS: readonly Subject[] = ['direct', 'nginx', 'proxy'];

interface Run {
  eventsPerSecond: number;
  /** Request sent to the response's arrival. */
  elapsedMs: number;
  /** Proxy CPU per event, in µs (0 for the others). */
  cpuUsPerEvent: number;
}

export const sse: Scenario = {
  name: 'sse',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { quick, logDir, log } = context;
    const rounds = quick ? 3 : 5;
    const count = quick ? 20_000 : 100_000;
    const cleanup = new Cleanup();
    try {
      const upstream = cleanup.add(await startUpstream({ name: 'sse-upstream', logDir }));
      const nginx = cleanup.add(await startNginx({ upstreamUrl: upstream.url, logDir }));
      const proxy = cleanup.add(
        await startShepherd({ logDir, args: ['--upstream', upstream.url], cpuProfDir: context.cpuProfDir }),
      );
      const endpoints: Record<Subject, Endpoint> = {
        direct: openEndpoint('direct', upstream.url, 2),
        nginx: openEndpoint('nginx', nginx.url, 2),
        proxy: openEndpoint('proxy', proxy.url, 2),
      };
      cleanup.defer(() => Promise.all(Object.values(endpoints).map((e) => e.pool.close())));
      const sessions = {} as Record<Subject, McpHttpSession>;
      for (const subject of SUBJECTS) sessions[subject] = await McpHttpSession.open(endpoints[subject]);
      // Warm-up: JIT for both paths, a small stream each.
      for (const subject of SUBJECTS) await sessions[subject].streamNotifications(Math.min(count, 5000));

      const perRound: Array<Record<Subject, Run>> = [];
      for (let round = 0; round < rounds; round++) {
        const runs = {} as Record<Subject, Run>;
        for (const subject of rotate(SUBJECTS, round)) {
          const cpuBefore = subject === 'proxy' ? cpuTimeMs(proxy.pid) : 0;
          const { events, elapsedMs } = await sessions[subject].streamNotifications(count);
          const cpuMs = subject === 'proxy' ? cpuTimeMs(proxy.pid) - cpuBefore : 0;
          runs[subject] = {
            eventsPerSecond: (events * 1000) / elapsedMs,
            elapsedMs,
            cpuUsPerEvent: (cpuMs * 1000) / events,
          };
        }
        perRound.push(runs);
        log(
          `sse round ${round + 1}/${rounds}: ${SUBJECTS.map((s) => `${s} ${Math.round(runs[s].eventsPerSecond)} events/s`).join(', ')}`,
        );
      }
      const { bySubject, paired } = roundsSummary(SUBJECTS, perRound);
      const proxyVsDirect = paired((r) => r.proxy.eventsPerSecond / r.direct.eventsPerSecond);
      const nginxVsDirect = paired((r) => r.nginx.eventsPerSecond / r.direct.eventsPerSecond);
      return {
        headline: { ratio: proxyVsDirect, means: `events/s of one ${count}-notification SSE answer, proxy / direct` },
        targets: [
          {
            target: 'sse: >= 0.8x direct events/s',
            measured: `${proxyVsDirect}x (nginx ${nginxVsDirect}x)`,
            met: proxyVsDirect >= 0.8,
          },
        ],
        figures: { rounds, notifications: count, ...bySubject, proxyVsDirect, nginxVsDirect },
      };
    } finally {
      await cleanup.run();
    }
  },
};
