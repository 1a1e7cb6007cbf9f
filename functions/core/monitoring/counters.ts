import { nth } from '../checked.ts';
import type { Feature } from '../model/manifest.ts';
import type { ModelVersion } from '../model/registry.ts';
import type { Prediction } from '../protocol/schemas.ts';
import {
  type Bins,
  binLabels,
  categoricalBins,
  chiSquare,
  ksStatistic,
  LATENCY_BINS,
  latencyQuantile,
  numericBins,
  psi,
} from './drift.ts';
import { type InputKey, inputKeys, mergeMoments } from './inputs.ts';
import type { LatencySummary, MonitorOptions } from './types.ts';

/** The fixed-size counters one model version keeps, per time bucket, and the arithmetic on them. */

export interface FeatureTrack {
  readonly feature: Feature;
  readonly bins: Bins | undefined;
  readonly expectedMissing: number | undefined;
  readonly trainingMin: number | undefined;
  readonly trainingMax: number | undefined;
}

export interface Counts {
  start: number;
  requests: number;
  instances: number;
  rejected: number;
  errors: number;
  lowConfidence: number;
  scored: number;
  scoreSum: number;
  /** Milliseconds the answered requests took, summed: Triton's cumulative inference time. */
  latencySum: number;
  readonly latency: Uint32Array;
  readonly score: Float64Array;
  /** Per feature: n, missing, outOfRange, beyondTraining, then the bins. */
  readonly features: Float64Array[];
  /** Per tensor input (or image channel, or text length): count, sum, sum of squares, min, max. */
  readonly inputs: Float64Array[];
}

export const F_N = 0;
export const F_MISSING = 1;
export const F_OUT = 2;
export const F_BEYOND = 3;
export const F_BINS = 4;

export class VersionTrack {
  readonly mv: ModelVersion;
  readonly features: FeatureTrack[];
  readonly inputKeys: InputKey[];
  readonly scoreBins: Bins | undefined;
  readonly ring: Counts[];
  readonly total: Counts;
  readonly drifting = new Set<string>();
  /** Epoch ms of the last request observed; 0 before the first. */
  lastAt = 0;

  constructor(mv: ModelVersion, slots: number) {
    this.mv = mv;
    const m = mv.manifest;
    const stats = m.trainingStats;
    this.features =
      m.inputs.kind === 'tabular'
        ? m.inputs.features.map((f) => {
            const s = stats?.features[f.name];
            let bins: Bins | undefined;
            if (s && 'quantiles' in s) bins = numericBins(s);
            else if (s && 'frequencies' in s) bins = categoricalBins(s);
            return {
              feature: f,
              bins,
              expectedMissing: s?.missingRate,
              trainingMin: s && 'min' in s ? s.min : undefined,
              trainingMax: s && 'max' in s ? s.max : undefined,
            };
          })
        : [];
    this.inputKeys = inputKeys(m);
    this.scoreBins = stats?.score ? numericBins(stats.score) : undefined;
    this.total = this.counts(0);
    this.ring = Array.from({ length: slots }, () => this.counts(-1));
  }

  /** Zeroed counts shaped for this version's features and score bins. */
  counts(start: number): Counts {
    return {
      start,
      requests: 0,
      instances: 0,
      rejected: 0,
      errors: 0,
      lowConfidence: 0,
      scored: 0,
      scoreSum: 0,
      latencySum: 0,
      latency: new Uint32Array(LATENCY_BINS),
      score: new Float64Array(binCount(this.scoreBins)),
      features: this.features.map((t) => new Float64Array(F_BINS + binCount(t.bins))),
      inputs: this.inputKeys.map(() => new Float64Array(5)),
    };
  }

  bucket(start: number, slot: number): Counts {
    const c = nth(this.ring, slot);
    if (c.start !== start) {
      c.start = start;
      c.requests = c.instances = c.rejected = c.errors = c.lowConfidence = c.scored = c.scoreSum = 0;
      c.latencySum = 0;
      c.latency.fill(0);
      c.score.fill(0);
      for (const f of c.features) f.fill(0);
      for (const f of c.inputs) f.fill(0);
    }
    return c;
  }
}

export const binCount = (b: Bins | undefined) =>
  b === undefined ? 0 : b.kind === 'numeric' ? b.edges.length + 1 : b.categories.length + 1;

/** A paired comparison of a live version and its shadow on the same requests. */
export interface Pairing {
  readonly model: string;
  readonly primary: string;
  readonly shadow: string;
  requests: number;
  instances: number;
  agree: number;
  sumAbsDelta: number;
  sumDelta: number;
  maxAbsDelta: number;
  errors: number;
  skipped: number;
  readonly primaryLatency: Uint32Array;
  readonly shadowLatency: Uint32Array;
}

export function summary(c: Counts, seconds: number) {
  return {
    requests: c.requests,
    instances: c.instances,
    perSecond: round(c.requests / seconds),
    errors: c.errors,
    rejected: c.rejected,
    errorRate: c.requests > 0 ? round(c.errors / c.requests) : 0,
    rejectedRate: c.requests > 0 ? round(c.rejected / c.requests) : 0,
    latencyMs: quantiles(c.latency),
    meanScore: c.scored > 0 ? round(c.scoreSum / c.scored) : null,
    lowConfidenceRate: c.scored > 0 ? round(c.lowConfidence / c.scored) : null,
  };
}

export function featureSummary(ft: FeatureTrack, c: Float64Array, o: MonitorOptions) {
  const n = c[F_N] ?? 0;
  const bins = binsOf(c);
  const binned = sum(bins);
  const p = ft.bins && binned > 0 ? psi(ft.bins.expected, bins) : null;
  return {
    count: n,
    missingRate: n > 0 ? round((c[F_MISSING] ?? 0) / n) : 0,
    expectedMissingRate: ft.expectedMissing ?? null,
    outOfRangeRate: n > 0 ? round((c[F_OUT] ?? 0) / n) : 0,
    beyondTrainingRate: n > 0 ? round((c[F_BEYOND] ?? 0) / n) : 0,
    psi: p === null ? null : round(p),
    ks: ft.bins?.kind === 'numeric' && binned > 0 ? round(ksStatistic(ft.bins.expected, bins)) : null,
    chiSquare:
      ft.bins?.kind === 'categorical' && binned > 0
        ? round(chiSquare(ft.bins.expected, bins).statistic)
        : null,
    drifting: p !== null && binned >= o.minSamples && p >= o.psiThreshold,
    judged: binned >= o.minSamples,
    bins: ft.bins
      ? { labels: binLabels(ft.bins), expected: ft.bins.expected.map(round), actual: fractions(bins) }
      : null,
  };
}

export function quantiles(latency: ArrayLike<number>): LatencySummary {
  return {
    p50: round(latencyQuantile(latency, 0.5)),
    p90: round(latencyQuantile(latency, 0.9)),
    p99: round(latencyQuantile(latency, 0.99)),
  };
}

export const binsOf = (c: Float64Array) => c.subarray(F_BINS);

export function fractions(counts: ArrayLike<number>): number[] {
  const n = sum(counts);
  return Array.from(counts, (v) => (n > 0 ? round(v / n) : 0));
}

export function sum(counts: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i] ?? 0;
  return n;
}

export function inc(into: Uint32Array | Float64Array, i: number): void {
  into[i] = (into[i] ?? 0) + 1;
}

export function addInto(into: Uint32Array | Float64Array, from: ArrayLike<number>): void {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

export const round = (v: number) => Number(v.toPrecision(4));

/** The number a prediction's drift and deltas are measured on: its score, or its value. */
export function scoreOf(p: Prediction): number | undefined {
  if (typeof p.score === 'number') return p.score;
  if (typeof p.value === 'number') return p.value;
  return undefined;
}

/** The probability of the label a classifier chose. */
export function confidenceOf(p: Prediction): number | undefined {
  if (p.label === undefined || !p.probabilities) return undefined;
  return (p.probabilities as Record<string, number>)[p.label as string];
}

export function sameValue(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return Math.abs(a - b) <= 1e-6 + 0.01 * Math.abs(a);
}

/** Adds one bucket's counts into a running sum (a window's). */
export function addCounts(sum: Counts, c: Counts): void {
  sum.requests += c.requests;
  sum.instances += c.instances;
  sum.rejected += c.rejected;
  sum.errors += c.errors;
  sum.lowConfidence += c.lowConfidence;
  sum.scored += c.scored;
  sum.scoreSum += c.scoreSum;
  sum.latencySum += c.latencySum;
  addInto(sum.latency, c.latency);
  addInto(sum.score, c.score);
  c.features.forEach((f, i) => {
    addInto(nth(sum.features, i), f);
  });
  c.inputs.forEach((f, i) => {
    mergeMoments(nth(sum.inputs, i), f);
  });
}
