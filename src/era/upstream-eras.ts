/**
 * One era actor per upstream URL (machines/upstream-era.machine.ts), asked by every new
 * session. Keyed by URL, not origin: one origin often serves several MCP servers on several
 * paths (a gateway, mcp-handler routes), and they need not share an era.
 */
import { type Actor, createActor, fromPromise, type InspectionEvent } from 'xstate';
import type { ProbeVerdict } from '../../machines/era-rules.js';
import {
  type EraDecision,
  type ProbeClient,
  type ProbeInput,
  upstreamEraMachine,
} from '../../machines/upstream-era.machine.js';

export type UpstreamProtocol = 'auto' | '2025' | '2026-07-28';
export const UPSTREAM_PROTOCOLS: readonly UpstreamProtocol[] = ['auto', '2025', '2026-07-28'];

export interface UpstreamErasOptions {
  mode: UpstreamProtocol;
  probe: (
    url: string,
    forwarded: Readonly<Record<string, string>> | undefined,
    client?: ProbeClient | undefined,
  ) => Promise<ProbeVerdict>;
  legacyRecheckMs?: number | undefined;
  /** Default: real time, unref'd. Not the sessions' clock: a verdict is per upstream, not per session. */
  clock?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void } | undefined;
  inspect?: ((event: InspectionEvent) => void) | undefined;
}

const LEGACY_BY_CHOICE: EraDecision = {
  type: 'era.decided',
  verdict: { kind: 'legacy', detail: '--upstream-protocol 2025' },
  pinned: false,
};

/**
 * Real time whose timers do not hold the process open: an era actor lives as long as its
 * runtime and only forgets a verdict after minutes.
 */
const UNREF_CLOCK = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
};

export class UpstreamEras {
  private readonly actors = new Map<string, Actor<typeof upstreamEraMachine>>();

  constructor(private readonly options: UpstreamErasOptions) {}

  get mode(): UpstreamProtocol {
    return this.options.mode;
  }

  /** The era of `url` for a new session, probing with the session's headers when it is not known. */
  decide(
    url: string,
    forwarded: Readonly<Record<string, string>> | undefined,
    client?: ProbeClient | undefined,
  ): Promise<EraDecision> {
    if (this.options.mode === '2025') return Promise.resolve(LEGACY_BY_CHOICE);
    const actor = this.actorFor(url);
    return new Promise((resolve) => {
      const subscription = actor.on('era.decided', (decision) => {
        subscription.unsubscribe();
        resolve(decision);
      });
      actor.send({ type: 'era.need', forwarded, envelope: client });
    });
  }

  /** The upstream stopped answering as its era does: the next session probes again. */
  failed(url: string, detail: string): void {
    this.actors.get(url)?.send({ type: 'era.failed', detail });
  }

  /** What is known of each upstream, for the admin API. */
  known(): Array<{ url: string; state: string }> {
    return [...this.actors].map(([url, actor]) => {
      const { value } = actor.getSnapshot();
      return { url, state: typeof value === 'string' ? value : (Object.keys(value)[0] ?? 'unknown') };
    });
  }

  stop(): void {
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
  }

  private actorFor(url: string): Actor<typeof upstreamEraMachine> {
    let actor = this.actors.get(url);
    if (actor === undefined) {
      const { probe } = this.options;
      actor = createActor(
        upstreamEraMachine.provide({
          actors: {
            probe: fromPromise<ProbeVerdict, ProbeInput>(({ input }) => probe(url, input.forwarded, input.envelope)),
          },
        }),
        {
          input: {
            pinned: this.options.mode === '2026-07-28',
            ...(this.options.legacyRecheckMs !== undefined ? { legacyRecheckMs: this.options.legacyRecheckMs } : {}),
          },
          clock: this.options.clock ?? UNREF_CLOCK,
          ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
        },
      );
      actor.start();
      this.actors.set(url, actor);
    }
    return actor;
  }
}
