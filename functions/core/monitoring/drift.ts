/**
 * Drift statistics over fixed bins: the training side comes from the manifest's trainingStats,
 * the live side is a count per bin. Everything here is pure and allocation-light, so the scoring
 * path can keep counts and the report can compute the statistics when asked.
 */

/** Numeric training statistics, as the manifest holds them. */
export interface NumericStatsLike {
  readonly quantiles: readonly { readonly q: number; readonly value: number }[];
  readonly bins?: readonly number[] | undefined;
  readonly missingRate?: number | undefined;
  readonly min?: number;
  readonly max?: number;
}

/** Categorical (and boolean) training statistics. */
export interface CategoricalStatsLike {
  readonly frequencies: Readonly<Record<string, number>>;
  readonly missingRate: number;
}

/**
 * Bins between the distinct quantile values v1 < ... < vk of the training data:
 * (-inf, v1], (v1, v2], ..., (vk-1, vk], (vk, +inf). `expected` is the training fraction in each.
 */
export interface NumericBins {
  readonly kind: 'numeric';
  readonly edges: readonly number[];
  readonly expected: readonly number[];
}

/** One bin per training category, plus a last one for values training never saw. */
export interface CategoricalBins {
  readonly kind: 'categorical';
  readonly categories: readonly string[];
  readonly expected: readonly number[];
}

export type Bins = NumericBins | CategoricalBins;

/**
 * The training fraction of each bin. The manifest's `bins` are exact (models:train writes them);
 * without them the fractions come from the quantiles, which is exact for continuous features
 * and an approximation where many rows share a value (a quantile only bounds such a point mass).
 */
export function numericBins(stats: NumericStatsLike): NumericBins {
  const edges: number[] = [];
  const cdf: number[] = [];
  for (const { q, value } of [...stats.quantiles].sort((a, b) => a.q - b.q)) {
    if (edges.length > 0 && edges[edges.length - 1] === value) cdf[cdf.length - 1] = q;
    else {
      edges.push(value);
      cdf.push(q);
    }
  }
  if (stats.bins && stats.bins.length === edges.length + 1) {
    return { kind: 'numeric', edges, expected: normalise(stats.bins) };
  }
  const expected = new Array<number>(edges.length + 1);
  let prev = 0;
  for (let i = 0; i < edges.length; i++) {
    expected[i] = Math.max(0, (cdf[i] ?? 0) - prev);
    prev = cdf[i] ?? 0;
  }
  expected[edges.length] = Math.max(0, 1 - prev);
  return { kind: 'numeric', edges, expected: normalise(expected) };
}

export function categoricalBins(stats: CategoricalStatsLike): CategoricalBins {
  const categories = Object.keys(stats.frequencies);
  const expected = normalise([...categories.map((c) => stats.frequencies[c] ?? 0), 0]);
  return { kind: 'categorical', categories, expected };
}

function normalise(values: readonly number[]): number[] {
  const sum = values.reduce((a, b) => a + b, 0);
  return sum > 0 ? values.map((v) => v / sum) : values.map(() => 1 / values.length);
}

/** The bin of a number: the first edge it does not exceed (binary search), or the last bin. */
export function numericBinOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= (edges[mid] ?? 0)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The smallest fraction a bin is given, so an empty bin does not make PSI infinite. */
export const EPSILON = 1e-4;

/** Population stability index: sum of (actual - expected) * ln(actual / expected) over bins. */
export function psi(expected: readonly number[], counts: ArrayLike<number>): number {
  const n = total(counts);
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, EPSILON);
    const a = Math.max((counts[i] ?? 0) / n, EPSILON);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/**
 * A Kolmogorov-Smirnov-style statistic on the bins: the largest gap between the training and
 * the live cumulative fractions at the bin edges (ordered bins: numeric features, scores).
 */
export function ksStatistic(expected: readonly number[], counts: ArrayLike<number>): number {
  const n = total(counts);
  if (n === 0) return 0;
  let ce = 0;
  let ca = 0;
  let d = 0;
  for (let i = 0; i < expected.length; i++) {
    ce += expected[i] ?? 0;
    ca += (counts[i] ?? 0) / n;
    d = Math.max(d, Math.abs(ce - ca));
  }
  return d;
}

/** Pearson's chi-square of live counts against training fractions (categorical features). */
export function chiSquare(
  expected: readonly number[],
  counts: ArrayLike<number>,
): { statistic: number; dof: number } {
  const n = total(counts);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, EPSILON) * n;
    const o = counts[i] ?? 0;
    s += e > 0 ? (o - e) ** 2 / e : 0;
  }
  return { statistic: s, dof: Math.max(1, expected.filter((e) => e > 0).length - 1) };
}

function total(counts: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i] ?? 0;
  return n;
}

/** Bin labels for a report: "<= 9.1", "9.1 - 14.4", "> 4131", or the category names. */
export function binLabels(bins: Bins): string[] {
  if (bins.kind === 'categorical') return [...bins.categories, '(unseen)'];
  const f = (v: number) => String(Number(v.toPrecision(3)));
  const e = bins.edges;
  return e
    .map((v, i) => (i === 0 ? `<= ${f(v)}` : `${f(e[i - 1] ?? 0)} - ${f(v)}`))
    .concat(e.length > 0 ? [`> ${f(e[e.length - 1] ?? 0)}`] : ['all']);
}

// ---------------------------------------------------------------- latency histogram

/** Log-spaced latency bins from 10 µs to about 20 s, 20% apart: quantiles within 10%. */
export const LATENCY_BINS = 80;
const LATENCY_BASE_MS = 0.01;
const LATENCY_GROWTH = 1.2;
const LOG_GROWTH = Math.log(LATENCY_GROWTH);

export function latencyBinOf(ms: number): number {
  if (!(ms > LATENCY_BASE_MS)) return 0;
  return Math.min(LATENCY_BINS - 1, Math.ceil(Math.log(ms / LATENCY_BASE_MS) / LOG_GROWTH));
}

/** The q-quantile of a latency histogram, as the geometric middle of its bin; 0 when empty. */
export function latencyQuantile(counts: ArrayLike<number>, q: number): number {
  const n = total(counts);
  if (n === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      if (i === 0) return LATENCY_BASE_MS;
      return LATENCY_BASE_MS * LATENCY_GROWTH ** (i - 0.5);
    }
  }
  return LATENCY_BASE_MS * LATENCY_GROWTH ** (LATENCY_BINS - 1);
}
