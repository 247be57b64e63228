/**
 * What an embedded client must survive (issue "Embedded in a Node service"): a long call
 * with progress cut twice, a stalled stream, a resume answered 503 with Retry-After, and an
 * upstream restart between two calls. Each check counts every progress notification, so a
 * message lost or delivered twice fails it.
 */
import {
  answered,
  type Check,
  call,
  checks,
  fail,
  message,
  noProgress,
  type Peer,
  same,
  sequence,
  withTimeout,
} from './matrix.js';
import type { FrameworkServer } from './types.js';

/** A call of `count` n=6 that does `act` after the given progress notifications. */
async function longCall(
  server: FrameworkServer,
  peer: Peer,
  at: Record<number, () => void>,
  timeoutMs: number,
): Promise<ReturnType<typeof answered>> {
  const tool = server.tools.count(6, 150);
  const progress: number[] = [];
  let text: string;
  try {
    const counting = call(peer, tool, (p) => {
      progress.push(p.progress);
      at[progress.length]?.();
    });
    text = await withTimeout(counting, timeoutMs, 'waiting for the result');
  } catch (error) {
    throw new Error(`progress ${JSON.stringify(progress)}, then: ${message(error)}`);
  }
  if (!same(progress, sequence(6))) return fail(`progress ${JSON.stringify(progress)}, expected [1..6] once each`);
  return answered(tool, text);
}

const restart = checks.find((check) => check.id === 'restart') as Check;

export const resilienceChecks: Check[] = [
  {
    id: 'cut-twice',
    title: 'a long call (count n=6) cut after the 2nd and the 4th progress',
    timeoutMs: 6_500,
    notApplicable: noProgress,
    run: async ({ server, relay, connect }) => {
      const peer = await connect('cut-twice');
      return longCall(server, peer, { 2: () => relay.cutAll(), 4: () => relay.cutAll() }, 5_000);
    },
  },
  {
    id: 'stall',
    title: 'a long call whose connections freeze after the 2nd progress',
    timeoutMs: 6_500,
    notApplicable: noProgress,
    run: async ({ server, relay, connect }) => {
      const peer = await connect('stall');
      return longCall(server, peer, { 2: () => relay.freezeAll() }, 5_000);
    },
  },
  {
    id: 'retry-after',
    title: 'a long call cut after the 2nd progress, then 1.5 s of 503 Retry-After: 1 to every connection',
    timeoutMs: 6_500,
    notApplicable: noProgress,
    run: async ({ server, relay, connect }) => {
      const peer = await connect('retry-after');
      const refuse = () => {
        relay.answerFor(1_500, 503, { 'retry-after': '1' });
        relay.cutAll();
      };
      return longCall(server, peer, { 2: refuse }, 5_000);
    },
  },
  { ...restart, title: 'an upstream restart between two calls' },
];
