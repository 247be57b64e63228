/** Order statistics for latency samples and per-round figures. */

/** The value at quantile q (0..1) of ascending-sorted samples, by nearest rank. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Latency percentiles in ms; sorts the samples in place. */
export function summarizeLatencies(samples: Float64Array): LatencySummary {
  samples.sort();
  return {
    p50: quantileOfSorted(samples, 0.5),
    p90: quantileOfSorted(samples, 0.9),
    p99: quantileOfSorted(samples, 0.99),
    max: quantileOfSorted(samples, 1),
  };
}

/** Rounds for reports: 3 significant digits are all these machines can support. */
export function round3(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(digits));
}

/** Median over rounds of each numeric field of per-round records with the same shape. */
export function medianOfRounds<T extends Record<string, number>>(rounds: readonly T[]): T {
  const first = rounds[0];
  if (!first) throw new Error('medianOfRounds: no rounds');
  const out: Record<string, number> = {};
  for (const key of Object.keys(first)) out[key] = round3(median(rounds.map((r) => r[key] as number)));
  return out as T;
}

/**
 * Each subject's medians over rounds, and `paired`: the median of a figure computed within
 * each round (a ratio of two subjects measured side by side), so drift between rounds cancels.
 * No rounds (a run stopped early): no subjects, and every paired figure is NaN.
 */
export function roundsSummary<S extends string, W extends { [K in keyof W]: number }>(
  subjects: readonly S[],
  perRound: ReadonlyArray<Record<S, W>>,
) {
  const bySubject = (
    perRound.length === 0
      ? {}
      : Object.fromEntries(
          subjects.map((s) => [s, medianOfRounds(perRound.map((r) => ({ ...r[s] }) as Record<string, number>))]),
        )
  ) as Record<S, W>;
  const paired = (figure: (round: Record<S, W>) => number) => round3(median(perRound.map(figure)));
  return { bySubject, paired };
}
