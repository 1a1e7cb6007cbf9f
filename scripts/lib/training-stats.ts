/**
 * Training statistics as the drift monitor reads them (trainingStats in model.json): per numeric
 * feature the mean, spread, quantiles and the exact share of rows in each drift bin; per
 * categorical feature the frequencies. Used by the training scripts and by `infera init --sample`.
 */
import { numericBinOf, numericBins } from '#core/monitoring/drift.ts';
import { quantile, round } from './ml.ts';

/** The quantiles recorded per numeric feature; their distinct values are the drift bins' edges. */
export const QUANTILES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export function numericStats(values: readonly (number | null)[]) {
  const present = values.filter((v): v is number => v !== null);
  const sorted = [...present].sort((a, b) => a - b);
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  const quantiles = QUANTILES.map((q) => ({ q, value: round(quantile(sorted, q)) }));
  const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / present.length);
  return {
    mean: round(mean),
    std: round(std),
    min: round(sorted[0] as number),
    max: round(sorted.at(-1) as number),
    quantiles,
    bins: binFractions(sorted, quantiles),
    missingRate: round((values.length - present.length) / values.length),
  };
}

/** The exact training fraction in each drift bin, binned as monitoring bins live values. */
function binFractions(
  sorted: readonly number[],
  quantiles: readonly { q: number; value: number }[],
): number[] {
  const { edges } = numericBins({ quantiles });
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of sorted) {
    const k = numericBinOf(edges, v);
    counts[k] = (counts[k] as number) + 1;
  }
  return counts.map((c) => round(c / sorted.length));
}

export function frequencyStats(values: readonly string[]) {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  const frequencies: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) frequencies[k] = round((counts[k] as number) / values.length);
  return { frequencies, missingRate: 0 };
}
