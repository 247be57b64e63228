/**
 * Which era one upstream origin speaks, and its cached `server/discover` answer: one actor
 * per origin, asked by every new session's initialize (`era.need`), answering with
 * `era.decided`. It probes with `server/discover` when it does not know (or its answer is
 * stale), caches a legacy verdict for `legacyRecheckMs` and a modern one for as long as the
 * discover result's `ttlMs` allows, and forgets on `era.failed` (an upstream that stopped
 * answering as its era does), so the next session probes again.
 *
 * "Clients SHOULD cache the result per server origin" (2026-07-28 streamable-http,
 * Backward Compatibility); how a probe's answer is judged: era-rules.ts. Pure statechart:
 * the probe is the `probe` actor, provided by src/. Diagram: docs/machines/upstreamEra.md.
 */
import { type ActorRefFrom, assign, emit, fromPromise, setup } from 'xstate';
import type { ProbeVerdict } from './era-rules.js';

export interface UpstreamEraInput {
  /** `--upstream-protocol 2026-07-28`: never fall back to `initialize`. */
  pinned?: boolean;
  /** How long a legacy verdict holds before the next session probes again. Default 10 min. */
  legacyRecheckMs?: number;
}

export const DEFAULT_LEGACY_RECHECK_MS = 10 * 60_000;

export interface ProbeInput {
  /** The asking client's headers for the upstream (its credential): the probe carries them. */
  forwarded: Readonly<Record<string, string>> | undefined;
  /** The asking client's info and capabilities (from its initialize), for the probe's envelope. */
  envelope?: ProbeClient | undefined;
}

export interface ProbeClient {
  info?: Record<string, unknown> | undefined;
  capabilities?: Record<string, unknown> | undefined;
}

export type UpstreamEraEvent =
  | { type: 'era.need'; forwarded?: Readonly<Record<string, string>> | undefined; envelope?: ProbeClient | undefined }
  | { type: 'era.failed'; detail: string };

/** The verdict for the session that asked; `cached` when no probe was needed. */
export type EraDecision = { type: 'era.decided'; verdict: ProbeVerdict; pinned: boolean };

interface UpstreamEraContext {
  pinned: boolean;
  legacyRecheckMs: number;
  forwarded: Readonly<Record<string, string>> | undefined;
  envelope: ProbeClient | undefined;
  verdict: ProbeVerdict | undefined;
}

const verdictOf = (event: unknown): ProbeVerdict | undefined => (event as { output?: ProbeVerdict }).output;

export const upstreamEraMachine = setup({
  types: {
    context: {} as UpstreamEraContext,
    events: {} as UpstreamEraEvent,
    input: {} as UpstreamEraInput,
    emitted: {} as EraDecision,
  },
  actors: {
    probe: fromPromise<ProbeVerdict, ProbeInput>(async () => {
      throw new Error('upstreamEra: provide the probe actor');
    }),
  },
  delays: {
    discoverTtl: ({ context }) => (context.verdict?.kind === 'modern' ? context.verdict.ttlMs : 0),
    legacyRecheck: ({ context }) => context.legacyRecheckMs,
  },
  guards: {
    isModern: ({ event }) => verdictOf(event)?.kind === 'modern',
    isPinned: ({ context }) => context.pinned,
    isLegacy: ({ event }) => verdictOf(event)?.kind === 'legacy',
    /** `ttlMs: 0` (the SDK's default): the discover result may not be reused. */
    isUncacheable: ({ context }) => context.verdict?.kind !== 'modern' || context.verdict.ttlMs <= 0,
  },
  actions: {
    takeForwarded: assign(({ event }) =>
      event.type === 'era.need' ? { forwarded: event.forwarded, envelope: event.envelope } : {},
    ),
    takeVerdict: assign(({ event }) => ({ verdict: verdictOf(event) })),
    /** A thrown probe (it should not throw) counts as an upstream that is no modern server. */
    takeFailure: assign(({ event }) => ({
      verdict: {
        kind: 'legacy' as const,
        detail: `server/discover failed: ${String((event as { error?: unknown }).error)}`,
      },
    })),
    forget: assign({ verdict: undefined }),
    decide: emit(
      ({ context }): EraDecision => ({
        type: 'era.decided',
        verdict: context.verdict ?? { kind: 'legacy', detail: 'no verdict' },
        pinned: context.pinned,
      }),
    ),
  },
}).createMachine({
  id: 'upstreamEra',
  context: ({ input }) => ({
    pinned: input.pinned ?? false,
    legacyRecheckMs: input.legacyRecheckMs ?? DEFAULT_LEGACY_RECHECK_MS,
    forwarded: undefined,
    envelope: undefined,
    verdict: undefined,
  }),
  initial: 'unknown',
  states: {
    unknown: {
      on: { 'era.need': { target: 'probing', actions: 'takeForwarded' } },
    },
    // Sessions that ask meanwhile get the verdict of the probe already under way.
    probing: {
      invoke: {
        id: 'probe',
        src: 'probe',
        input: ({ context }) => ({ forwarded: context.forwarded, envelope: context.envelope }),
        onDone: [
          { guard: 'isModern', target: 'modern', actions: ['takeVerdict', 'decide'] },
          // Pinned: the verdict is passed on (the session answers its client), never cached as legacy.
          { guard: 'isPinned', target: 'unknown', actions: ['takeVerdict', 'decide', 'forget'] },
          { guard: 'isLegacy', target: 'legacy', actions: ['takeVerdict', 'decide'] },
          // A refusal or an authorization answer holds for the one who asked, not for the origin.
          { target: 'unknown', actions: ['takeVerdict', 'decide', 'forget'] },
        ],
        onError: { target: 'legacy', actions: ['takeFailure', 'decide'] },
      },
    },
    modern: {
      on: { 'era.failed': { target: 'unknown', actions: 'forget' } },
      initial: 'fresh',
      states: {
        fresh: {
          always: { guard: 'isUncacheable', target: 'stale' },
          after: { discoverTtl: 'stale' },
          on: { 'era.need': { actions: 'decide' } },
        },
        // The era is known, the discover result is not reusable: the next session fetches it.
        stale: {
          on: { 'era.need': { target: '#upstreamEra.probing', actions: 'takeForwarded' } },
        },
      },
    },
    legacy: {
      after: { legacyRecheck: { target: 'unknown', actions: 'forget' } },
      on: {
        'era.need': { actions: 'decide' },
        'era.failed': { target: 'unknown', actions: 'forget' },
      },
    },
  },
});

export type UpstreamEraActorRef = ActorRefFrom<typeof upstreamEraMachine>;
