/**
 * The era actor of one upstream: sessions ask (`era.need`), the probe answers (faked: the
 * world resolves or rejects it with each kind of verdict), time passes; every ask gets one
 * decision, cached only when the origin's era is known.
 */
import { expect } from 'vitest';
import { fromPromise } from 'xstate';
import type { ProbeVerdict } from '../../machines/era-rules.js';
import {
  type EraDecision,
  type ProbeInput,
  type UpstreamEraInput,
  upstreamEraMachine,
} from '../../machines/upstream-era.machine.js';
import type { Effect, MachineModel, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

type Logged = { kind: 'probe'; forwarded: ProbeInput['forwarded'] } | { kind: 'decided'; event: EraDecision };

interface EraWorld extends World {
  log: Logged[];
  probes: Array<{ resolve: (v: ProbeVerdict) => void; reject: (e: Error) => void; settled: boolean }>;
}

const VERDICTS: Record<string, ProbeVerdict> = {
  modern: { kind: 'modern', discover: { supportedVersions: ['2026-07-28'], capabilities: {} }, ttlMs: 60_000 },
  uncacheable: { kind: 'modern', discover: { supportedVersions: ['2026-07-28'], capabilities: {} }, ttlMs: 0 },
  legacy: { kind: 'legacy', detail: 'server/discover answered HTTP 400' },
  unauthorized: { kind: 'unauthorized', status: 401 },
};

const inputs: UpstreamEraInput[] = [{ legacyRecheckMs: 600_000 }, { pinned: true }];
const TOKEN = { authorization: 'Bearer t' };

type EraEffect = Effect<typeof upstreamEraMachine, EraWorld>;
const logged = (e: EraEffect) => e.recorded as Logged[];
const decisions = (e: EraEffect) => logged(e).flatMap((r) => (r.kind === 'decided' ? [r.event] : []));
const probed = (e: EraEffect) => logged(e).filter((r) => r.kind === 'probe');

/** The step decided once, with a verdict of `kind`. */
const decidedOnce = (kind: ProbeVerdict['kind']) => (e: EraEffect) => {
  expect(decisions(e).map((d) => d.verdict.kind)).toEqual([kind]);
};
/** The machine forgot: the next session probes again. */
const forgot = (e: EraEffect) => {
  expect(e.after.snapshot.value).toBe('unknown');
  expect(e.after.snapshot.context.verdict).toBeUndefined();
};
const probeStarted = (e: EraEffect) => {
  expect(probed(e)).toEqual([{ kind: 'probe', forwarded: TOKEN }]);
  expect(decisions(e)).toEqual([]);
};

const world = (action: string, detail: Record<string, unknown> = {}): Step<typeof upstreamEraMachine> => ({
  type: '@world',
  action,
  ...detail,
});

const model: MachineModel<typeof upstreamEraMachine, EraWorld> = {
  machine: upstreamEraMachine,
  world: () => ({ log: [], probes: [] }),
  provide: (current) =>
    upstreamEraMachine.provide({
      actors: {
        probe: fromPromise<ProbeVerdict, ProbeInput>(
          ({ input }) =>
            new Promise((resolve, reject) => {
              const w = current();
              w.log.push({ kind: 'probe', forwarded: input.forwarded });
              w.probes.push({ resolve, reject, settled: false });
            }),
        ),
      },
    }),
  attach: (actor, w) => {
    actor.on('era.decided', (event) => w.log.push({ kind: 'decided', event }));
  },
  inputCount: inputs.length,
  input: (index) => inputs[index] as UpstreamEraInput,
  commands: ['era.need', 'era.failed'],
  steps: (_snapshot, w) => {
    const steps: Step<typeof upstreamEraMachine>[] = [
      { type: 'era.need', forwarded: TOKEN },
      { type: 'era.failed', detail: 'refused initialize' },
    ];
    if (w.probes.some((p) => !p.settled)) {
      for (const verdict of Object.keys(VERDICTS)) steps.push(world('answer', { verdict }));
      steps.push(world('answer', { verdict: 'refusal' }), world('throw'));
    }
    return steps;
  },
  perform: (step, w) => {
    const probe = w.probes.find((p) => !p.settled);
    if (!probe) return;
    probe.settled = true;
    if (step.action === 'throw') return probe.reject(new Error('probe bug'));
    const refusal: ProbeVerdict = { kind: 'modern-refusal', error: { code: -32022, message: 'Unsupported' } };
    probe.resolve(step.verdict === 'refusal' ? refusal : (VERDICTS[step.verdict as string] as ProbeVerdict));
  },
  serialize: ({ value, context }, w) =>
    JSON.stringify([value, context.pinned, context.verdict?.kind, w.probes.filter((p) => !p.settled).length]),
  check: ({ snapshot, world: w }) => {
    // At most one probe at a time, and only while probing.
    const open = w.probes.filter((p) => !p.settled).length;
    expect(open).toBeLessThanOrEqual(1);
    if (snapshot.value !== 'probing') expect(open).toBe(0);
    // Pinned to 2026-07-28: never cached as legacy.
    if (snapshot.context.pinned) expect(snapshot.value).not.toBe('legacy');
  },
  effects: {
    'upstreamEra.unknown --era.need--> upstreamEra.probing': probeStarted,
    'upstreamEra.probing --xstate.done.actor.probe[isModern]--> upstreamEra.modern': (e) => {
      decidedOnce('modern')(e);
      expect(e.after.snapshot.context.verdict?.kind).toBe('modern');
    },
    'upstreamEra.probing --xstate.done.actor.probe[isPinned]--> upstreamEra.unknown': (e) => {
      expect(decisions(e)).toHaveLength(1);
      expect(decisions(e)[0]?.pinned).toBe(true);
      forgot(e);
    },
    'upstreamEra.probing --xstate.done.actor.probe[isLegacy]--> upstreamEra.legacy': decidedOnce('legacy'),
    'upstreamEra.probing --xstate.done.actor.probe--> upstreamEra.unknown': (e) => {
      expect(decisions(e).map((d) => d.verdict.kind)).toEqual([
        expect.stringMatching(/^(unauthorized|modern-refusal)$/),
      ]);
      forgot(e);
    },
    'upstreamEra.probing --xstate.error.actor.probe--> upstreamEra.legacy': (e) => {
      decidedOnce('legacy')(e);
      expect(decisions(e)[0]?.verdict).toMatchObject({ detail: expect.stringContaining('probe bug') });
    },
    'upstreamEra.modern --era.failed--> upstreamEra.unknown': forgot,
    'upstreamEra.modern.fresh --era.need--> (self)': (e) => {
      // Answered from the cache: no probe.
      decidedOnce('modern')(e);
      expect(probed(e)).toEqual([]);
    },
    'upstreamEra.modern.fresh --after discoverTtl--> upstreamEra.modern.stale': (e) => {
      expect(e.after.snapshot.value).toEqual({ modern: 'stale' });
      expect(decisions(e)).toEqual([]);
    },
    'upstreamEra.modern.fresh --always[isUncacheable]--> upstreamEra.modern.stale': (e) => {
      // ttlMs 0: the era is known, the discover result is not reused.
      expect(e.after.snapshot.context.verdict).toMatchObject({ kind: 'modern', ttlMs: 0 });
      expect(e.after.snapshot.value).toEqual({ modern: 'stale' });
    },
    'upstreamEra.modern.stale --era.need--> upstreamEra.probing': probeStarted,
    'upstreamEra.legacy --era.need--> (self)': (e) => {
      decidedOnce('legacy')(e);
      expect(probed(e)).toEqual([]);
    },
    'upstreamEra.legacy --era.failed--> upstreamEra.unknown': forgot,
    'upstreamEra.legacy --after legacyRecheck--> upstreamEra.unknown': forgot,
  },
};

await describeTransitions(model, (index) => (index === 0 ? 'auto' : 'pinned'));
