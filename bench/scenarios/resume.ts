/**
 * resume: a stream of numbered notifications from the upstream, through a TCP relay, to
 * mcp-shepherd, to the client. The relay is cut mid-stream 100 times (one fresh stream per
 * cut); the proxy must resume upstream (GET + Last-Event-ID after the `retry:` hint) so the
 * client sees one stream with every event exactly once. Measured: time from the cut to the
 * first event at the client that came through the resumed connection; events lost,
 * duplicated or out of order.
 */
import { performance } from 'node:perf_hooks';
import { TcpRelay } from '../../test/support/tcp-relay.js';
import { McpHttpSession, openEndpoint } from '../support/mcp-client.js';
import { Cleanup, type Scenario, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { startShepherd } from '../support/shepherd.js';
import { median, quantileOfSorted, round3 } from '../support/stats.js';
import { startUpstream } from '../support/upstreams.js';

/** The upstream's `retry:` hint: the proxy must wait this long before it resumes. */
const RETRY_HINT_MS = 100;
const ALLOWANCE_MS = 20;
const EVENTS_PER_STREAM = 200;
const EVENT_INTERVAL_MS = 1;

/** A small deterministic generator, so every run cuts at the same places. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

interface CutResult {
  gapMs: number;
  /** Cut to the proxy's next connection to the upstream: the retry hint plus the proxy's own delay. */
  reconnectMs: number;
  /** That connection to the first upstream bytes on it: the upstream's resume. */
  upstreamAnswerMs: number;
  /** Those bytes to the event at the client: the proxy's relay. */
  relayMs: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

/**
 * One stream, cut once after the client has seen `cutAfter` events. The gap ends at the first
 * event the relay had not carried before the cut: one that came through the resumed
 * connection, not one still on its way through the proxy when the cut happened.
 */
async function streamWithCut(session: McpHttpSession, relay: TcpRelay, cutAfter: number): Promise<CutResult> {
  const seen: number[] = [];
  let relayedUpTo = 0;
  let tail = '';
  let cutAt: number | undefined;
  let carriedBeforeCut = 0;
  let reconnectAt: number | undefined;
  let answerAt: number | undefined;
  let gapMs: number | undefined;
  relay.onConnection = () => {
    if (cutAt !== undefined) reconnectAt ??= performance.now();
  };
  relay.onUpstreamData = (chunk) => {
    if (reconnectAt !== undefined) answerAt ??= performance.now();
    // The tail of the last chunk, in case a number was split between two chunks.
    const text = tail + chunk.toString('latin1');
    for (const match of text.matchAll(/"data":(\d+)\}/g)) relayedUpTo = Math.max(relayedUpTo, Number(match[1]));
    tail = text.slice(-24);
  };
  await session.streamTool('stream', { count: EVENTS_PER_STREAM, intervalMs: EVENT_INTERVAL_MS }, (event) => {
    if (!event.data.includes('"notifications/message"')) return;
    const n = (JSON.parse(event.data) as { params: { data: number } }).params.data;
    if (cutAt !== undefined && gapMs === undefined && n > carriedBeforeCut) gapMs = performance.now() - cutAt;
    seen.push(n);
    if (seen.length === cutAfter && cutAt === undefined) {
      carriedBeforeCut = relayedUpTo;
      if (relay.cutAll() > 0) cutAt = performance.now();
    }
  });
  relay.onUpstreamData = undefined;
  relay.onConnection = undefined;
  if (gapMs === undefined || cutAt === undefined || reconnectAt === undefined || answerAt === undefined)
    throw new Error(`no event after the cut (cut after ${cutAfter} of ${EVENTS_PER_STREAM})`);
  const unique = new Set(seen);
  let outOfOrder = 0;
  for (let i = 1; i < seen.length; i++) if ((seen[i] as number) <= (seen[i - 1] as number)) outOfOrder++;
  return {
    gapMs,
    reconnectMs: reconnectAt - cutAt,
    upstreamAnswerMs: answerAt - reconnectAt,
    relayMs: gapMs - (answerAt - cutAt),
    lost: EVENTS_PER_STREAM - unique.size,
    duplicated: seen.length - unique.size,
    outOfOrder,
  };
}

export const resume: Scenario = {
  name: 'resume',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const { quick, logDir, log } = context;
    const cuts = quick ? 20 : 100;
    const cleanup = new Cleanup();
    try {
      const upstream = cleanup.add(await startUpstream({ name: 'resume-upstream', logDir, retryMs: RETRY_HINT_MS }));
      const relay = await TcpRelay.start(Number(new URL(upstream.url).port));
      cleanup.add({ stop: () => relay.close() });
      const proxy = cleanup.add(
        await startShepherd({
          logDir,
          args: ['--upstream', `http://127.0.0.1:${relay.port}/mcp`],
          cpuProfDir: context.cpuProfDir,
        }),
      );
      const endpoint = openEndpoint('proxy', proxy.url, 2);
      cleanup.defer(() => endpoint.pool.close());
      const session = await McpHttpSession.open(endpoint);
      const random = seeded(7);
      const results: CutResult[] = [];
      for (let i = 0; i < cuts; i++) {
        // Cut somewhere in the first two thirds, so live events follow the resume.
        const cutAfter = 10 + Math.floor(random() * (EVENTS_PER_STREAM * 0.66 - 10));
        results.push(await streamWithCut(session, relay, cutAfter));
        if ((i + 1) % Math.max(1, cuts / 5) === 0) log(`resume: ${i + 1}/${cuts} cuts`);
      }
      const gaps = Float64Array.from(results.map((r) => r.gapMs)).sort();
      const sum = (key: keyof CutResult) => results.reduce((total, r) => total + r[key], 0);
      const medianOf = (key: keyof CutResult) => round3(median(results.map((r) => r[key])));
      const lost = sum('lost');
      const duplicated = sum('duplicated');
      const outOfOrder = sum('outOfOrder');
      const medianGap = round3(quantileOfSorted(gaps, 0.5));
      const bound = RETRY_HINT_MS + ALLOWANCE_MS;
      return {
        headline: {
          ratio: round3(medianGap / bound),
          means: `median cut-to-next-event / (retry hint ${bound - ALLOWANCE_MS} ms + 20 ms)`,
        },
        targets: [
          {
            target: 'resume: 0 lost, 0 duplicated',
            measured: `${lost} lost, ${duplicated} duplicated, ${outOfOrder} out of order in ${cuts} cuts`,
            met: lost === 0 && duplicated === 0 && outOfOrder === 0,
          },
          {
            target: 'median cut-to-next-event within the retry hint + 20 ms',
            measured: `${medianGap} ms (hint ${RETRY_HINT_MS} ms; p90 ${round3(quantileOfSorted(gaps, 0.9))} ms)`,
            met: medianGap <= bound,
          },
        ],
        figures: {
          cuts,
          eventsPerStream: EVENTS_PER_STREAM,
          eventIntervalMs: EVENT_INTERVAL_MS,
          retryHintMs: RETRY_HINT_MS,
          cutToNextEventMs: {
            min: round3(quantileOfSorted(gaps, 0)),
            p50: medianGap,
            p90: round3(quantileOfSorted(gaps, 0.9)),
            max: round3(quantileOfSorted(gaps, 1)),
          },
          // Where the gap goes (medians): the proxy's wait, the upstream's answer, the relay to the client.
          gapPartsMs: {
            cutToReconnect: medianOf('reconnectMs'),
            reconnectToUpstreamAnswer: medianOf('upstreamAnswerMs'),
            upstreamAnswerToClient: medianOf('relayMs'),
          },
          lost,
          duplicated,
          outOfOrder,
        },
      };
    } finally {
      await cleanup.run();
    }
  },
};
