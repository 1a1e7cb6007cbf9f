/**
 * Statistics for the bench: percentiles of one round, and the median and spread of a figure over
 * repeated rounds. Every figure the suite reports is a Summary, so RESULTS.md can show the noise.
 */

/** The q-quantile (0..1) of sorted values, by the nearest-rank method. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Sorted ascending, numerically (a typed array sorts by value, not as strings). */
export function sortNumbers(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** One figure over repeated rounds: the median is the figure; min and max are its spread. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: readonly number[];
}

export function summarize(rounds: readonly number[]): Summary {
  const s = [...rounds].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length === 0 ? Number.NaN : s.length % 2 ? (s[Math.floor(mid)] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN, rounds: [...rounds] };
}

/** Rounds a number to `digits` significant digits, for reports (not for comparisons). */
export function sig(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** "12.3 (11.9–13.0)": a summary with its spread over rounds. */
export function fmt(s: Summary, unit = '', digits = 3): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const one = (x: number) => `${sig(x, digits).toLocaleString('en-US', { maximumFractionDigits: 6 })}`;
  if (s.rounds.length < 2) return `${one(s.median)}${unit}`;
  return `${one(s.median)}${unit} (${one(s.min)}–${one(s.max)})`;
}

/** The middle sample (the upper one of an even count), 0 for none. */
export function p50(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
}
