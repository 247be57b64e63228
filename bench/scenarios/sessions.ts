/**
 * sessions: open 10 000 sessions, each with its standalone GET stream open, hold them, close
 * them (DELETE); then hold 10 000 without client streams (one socket each in the proxy). Creation rate direct vs through mcp-shepherd, and the proxy's memory per
 * session above its own baseline, and whether that memory comes back after the close.
 */
import { performance } from 'node:perf_hooks';
import { inParallel, McpHttpSession, openEndpoint } from '../support/mcp-client.js';
import { cpuTimeMs, openFileLimits, rssBytes } from '../support/processes.js';
import { Cleanup, rotate, type Scenario, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { type MemoryReport, startShepherd } from '../support/shepherd.js';
import { median, round3 } from '../support/stats.js';
import { startUpstream } from '../support/upstreams.js';

type Subject = 'direct' | 'proxy';
const SUBJECTS: readonly Subject[] = ['direct', 'proxy'];
const PARALLEL = 32;
const KB = 1024;
const MB = 1024 * 1024;

/**
 * The proxy holds two sockets per session (client stream, upstream stream), so the count
 * must fit twice in the open-files limit with room for everything else.
 */
function sessionCount(wanted: number, log: (line: string) => void): number {
  const { soft } = openFileLimits();
  const fits = Math.floor((soft - 1000) / 2);
  if (fits >= wanted) return wanted;
  log(`sessions: ${fits} instead of ${wanted}: the open-files limit is ${soft} and the proxy needs 2 per session`);
  return fits;
}

interface OpenSession {
  session: McpHttpSession;
  stream: { close(): Promise<void> };
}

/**
 * Once more after a connection reset: a keep-alive connection the server closed just as the
 * pool reused it (after a long GC pause, say) is the client's race, not the subject's failure.
 * Counted, so a run that needed many says so.
 */
let retries = 0;
async function retryOnReset<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
    retries++;
    return attempt();
  }
}

async function openAll(endpoint: ReturnType<typeof openEndpoint>, count: number): Promise<OpenSession[]> {
  const open: OpenSession[] = [];
  await inParallel(count, PARALLEL, async () => {
    const session = await retryOnReset(() => McpHttpSession.open(endpoint));
    open.push({ session, stream: await retryOnReset(() => session.openStandaloneStream()) });
  });
  return open;
}

async function closeAll(open: OpenSession[]): Promise<void> {
  await inParallel(open.length, PARALLEL, async (i) => {
    const { session, stream } = open[i] as OpenSession;
    await retryOnReset(() => session.close());
    await stream.close();
  });
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The hold: this many sessions open at once, each initialized (the proxy holding its own
 * upstream GET stream for it) but without a client GET, so that 10 000 fit in the open-files
 * limit (one socket per session in the proxy, not two).
 */
function holdCount(wanted: number, log: (line: string) => void): number {
  const fits = openFileLimits().soft - 1000;
  if (fits >= wanted) return wanted;
  log(`sessions hold: ${fits} instead of ${wanted}: the open-files limit is ${openFileLimits().soft}`);
  return fits;
}

/** Opens `count` sessions, held, then closes them: how long each took and the proxy's memory while held. */
async function hold(
  endpoint: ReturnType<typeof openEndpoint>,
  count: number,
  measure: () => Promise<{ rss: number; heap: number }>,
) {
  const open: McpHttpSession[] = [];
  const t0 = performance.now();
  await inParallel(count, PARALLEL, async () => {
    open.push(await retryOnReset(() => McpHttpSession.open(endpoint)));
  });
  const openMs = performance.now() - t0;
  await settle(500);
  const held = await measure();
  const t1 = performance.now();
  await inParallel(open.length, PARALLEL, async (i) => {
    await retryOnReset(() => (open[i] as McpHttpSession).close());
  });
  return { openMs, closeMs: performance.now() - t1, held };
}

export const sessions: Scenario = {
  name: 'sessions',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { quick, logDir, log } = context;
    const count = sessionCount(quick ? 500 : 10_000, log);
    const holding = holdCount(quick ? 1000 : 10_000, log);
    // Two rounds in a full run: one proxy round of 10 000 sessions takes minutes on 2 cores.
    const rounds = 2;
    const cleanup = new Cleanup();
    try {
      const upstream = cleanup.add(await startUpstream({ name: 'sessions-upstream', logDir }));
      const proxy = cleanup.add(
        await startShepherd({
          logDir,
          args: ['--upstream', upstream.url, '--max-sessions', String(Math.max(count, holding) + 100)],
          cpuProfDir: context.cpuProfDir,
        }),
      );
      const endpoints = {
        direct: openEndpoint('direct', upstream.url, PARALLEL),
        proxy: openEndpoint('proxy', proxy.url, PARALLEL),
      };
      cleanup.defer(() => Promise.all(Object.values(endpoints).map((e) => e.pool.close())));
      // Warm-up: JIT and pools, then the proxy's memory with no session: the baseline.
      for (const subject of SUBJECTS) await closeAll(await openAll(endpoints[subject], 200));
      await settle(500);
      const baseline = await proxy.memory();
      const baselineRss = rssBytes(proxy.pid);

      const rates: Record<Subject, number[]> = { direct: [], proxy: [] };
      const cpuMsPerSession: number[] = [];
      const held: Array<{ rssPerSessionKB: number; heapPerSessionKB: number }> = [];
      let afterClose: MemoryReport & { vmRss: number } = { ...baseline, vmRss: baselineRss };
      for (let round = 0; round < rounds; round++) {
        for (const subject of rotate(SUBJECTS, round)) {
          const cpu0 = cpuTimeMs(proxy.pid);
          const t0 = performance.now();
          const open = await openAll(endpoints[subject], count);
          const rate = (count * 1000) / (performance.now() - t0);
          rates[subject].push(rate);
          if (subject === 'proxy') {
            cpuMsPerSession.push((cpuTimeMs(proxy.pid) - cpu0) / count);
            await settle(500);
            const hold = await proxy.memory();
            const rss = rssBytes(proxy.pid);
            held.push({
              rssPerSessionKB: (rss - baselineRss) / count / KB,
              heapPerSessionKB: (hold.heapUsed - baseline.heapUsed) / count / KB,
            });
          }
          await closeAll(open);
          if (subject === 'proxy') {
            // V8 and malloc hand freed pages back to the system lazily, after a few idle seconds.
            await settle(quick ? 1500 : 5000);
            const mem = await proxy.memory();
            afterClose = { ...mem, vmRss: rssBytes(proxy.pid) };
          }
          log(`sessions round ${round + 1}/${rounds}: ${subject} ${Math.round(rate)} sessions/s (${count})`);
        }
      }
      // The hold, once, through the proxy.
      const memoryNow = async () => ({ rss: rssBytes(proxy.pid), heap: (await proxy.memory()).heapUsed });
      const hold10k = await hold(endpoints.proxy, holding, memoryNow);
      const holdRssKB = round3((hold10k.held.rss - baselineRss) / holding / KB);
      const holdHeapKB = round3((hold10k.held.heap - baseline.heapUsed) / holding / KB);
      log(
        `sessions hold: ${holding} open in ${(hold10k.openMs / 1000).toFixed(1)} s, closed in ${(hold10k.closeMs / 1000).toFixed(1)} s; ${holdRssKB} KB RSS, ${holdHeapKB} KB heap per session`,
      );
      const last = held.at(-1);
      log(
        `  proxy held ${count}: ${last?.rssPerSessionKB.toFixed(1)} KB RSS, ${last?.heapPerSessionKB.toFixed(1)} KB heap per session`,
      );

      const proxyRate = round3(median(rates.proxy));
      const directRate = round3(median(rates.direct));
      const rateRatio = round3(median(rates.proxy.map((r, i) => r / (rates.direct[i] as number))));
      const rssPerSessionKB = round3(median(held.map((h) => h.rssPerSessionKB)));
      const heapPerSessionKB = round3(median(held.map((h) => h.heapPerSessionKB)));
      const rssAfterVsBaseline = round3(afterClose.vmRss / baselineRss);
      const heapAfterVsBaseline = round3(afterClose.heapUsed / baseline.heapUsed);
      return {
        headline: { ratio: rateRatio, means: 'sessions/s opened (initialize + GET stream), proxy / direct' },
        targets: [
          {
            target: '<= 50 KB RSS per session with its stream open',
            measured: `${rssPerSessionKB} KB RSS (${heapPerSessionKB} KB heap) per session, ${count} sessions`,
            met: rssPerSessionKB <= 50,
          },
          {
            target: '>= 1000 sessions/s created',
            measured: `${proxyRate} sessions/s through the proxy (direct ${directRate}/s)`,
            met: proxyRate >= 1000,
          },
          {
            target: '10 000 sessions held at once, <= 35 KB RSS per session',
            measured: `${holding} sessions held (no client stream): ${holdRssKB} KB RSS, ${holdHeapKB} KB heap per session; opened in ${round3(hold10k.openMs / 1000)} s, closed in ${round3(hold10k.closeMs / 1000)} s`,
            met: holding >= 10_000 && holdRssKB <= 35,
          },
          {
            target: 'memory back within 10 % of baseline after close',
            measured: `RSS ${rssAfterVsBaseline}x, heap ${heapAfterVsBaseline}x the baseline after ${rounds} rounds`,
            met: rssAfterVsBaseline <= 1.1 && heapAfterVsBaseline <= 1.1,
          },
        ],
        figures: {
          sessions: count,
          rounds,
          parallel: PARALLEL,
          retriedAfterConnectionReset: retries,
          sessionsPerSecond: { direct: directRate, proxy: proxyRate, proxyVsDirect: rateRatio },
          proxyCpuMsPerSessionOpened: round3(median(cpuMsPerSession)),
          perSessionKB: { rss: rssPerSessionKB, heap: heapPerSessionKB, rounds: held },
          hold: {
            sessions: holding,
            clientStreams: false,
            openSeconds: round3(hold10k.openMs / 1000),
            closeSeconds: round3(hold10k.closeMs / 1000),
            sessionsPerSecondOpened: round3((holding * 1000) / hold10k.openMs),
            perSessionKB: { rss: holdRssKB, heap: holdHeapKB },
          },
          proxyMemoryMB: {
            baseline: { rss: round3(baselineRss / MB), heapUsed: round3(baseline.heapUsed / MB) },
            afterClose: { rss: round3(afterClose.vmRss / MB), heapUsed: round3(afterClose.heapUsed / MB) },
            rssAfterVsBaseline,
            heapAfterVsBaseline,
          },
        },
      };
    } finally {
      await cleanup.run();
    }
  },
};
