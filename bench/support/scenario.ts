/** What every scenario gets and gives back. */

export interface ScenarioContext {
  /** Fewer rounds, shorter windows, smaller counts: the whole run in under 2 minutes. */
  quick: boolean;
  /** Where child processes write their logs (a temp folder, removed after a clean run). */
  logDir: string;
  /** When set, the proxy writes a V8 CPU profile here as it exits. */
  cpuProfDir: string | undefined;
  /** A progress line on stderr. */
  log(line: string): void;
}

export interface TargetCheck {
  /** The target as the issue states it. */
  target: string;
  /** What this run measured. */
  measured: string;
  met: boolean;
}

export interface ScenarioResult {
  /** The one ratio in the summary line, and what it is a ratio of. */
  headline: { ratio: number; means: string };
  /** More figures for the summary line (its keys stay; these are added after them). */
  summary?: Record<string, number>;
  targets: TargetCheck[];
  /** Every figure, for bench/results/<date>.json. */
  figures: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/** The order of the subjects in round `round`: each goes first once in a while, so drift averages out. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Stops every started process, even when a scenario fails halfway. */
export class Cleanup {
  private readonly steps: Array<() => Promise<unknown> | unknown> = [];

  add<T extends { stop(): Promise<unknown> | unknown }>(thing: T): T {
    this.steps.push(() => thing.stop());
    return thing;
  }

  defer(step: () => Promise<unknown> | unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch {
        // keep stopping the rest
      }
    }
  }
}
