import type { Feature } from '../manifest.ts';
import type { Prediction } from '../protocol.ts';
import type { ModelVersion } from '../registry.ts';
import {
  type Bins,
  binLabels,
  categoricalBins,
  chiSquare,
  ksStatistic,
  LATENCY_BINS,
  latencyBinOf,
  latencyQuantile,
  numericBinOf,
  numericBins,
  psi,
} from './drift.ts';
import { type InputKey, type InputMoments, inputKeys, mergeMoments, summarizeMoments } from './inputs.ts';

/**
 * Streaming monitoring of the scoring path: per model version, request counts, latency, errors,
 * and per feature missing and out-of-range rates and a drift score against the manifest's
 * training statistics; the prediction score's distribution and drift; a low-confidence rate;
 * shadow comparisons. Memory is fixed: a ring of time buckets of fixed-size count arrays, plus
 * the same counts since start. Nothing here does I/O; callers send the events it raises.
 */

export interface MonitorOptions {
  /** The window "last N minutes" covers. */
  readonly windowMinutes: number;
  /** Time resolution of the window and of the dashboard's series. */
  readonly bucketSeconds: number;
  /** PSI at or above which a feature (or the prediction score) is drifting. */
  readonly psiThreshold: number;
  /** Observations the window needs before drift is judged: fewer are too noisy. */
  readonly minSamples: number;
  /** A prediction whose chosen label has a lower probability than this is low-confidence. */
  readonly lowConfidence: number;
  /** Drift events kept for the report. */
  readonly maxEvents: number;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  windowMinutes: 5,
  bucketSeconds: 10,
  psiThreshold: 0.2,
  minSamples: 500,
  lowConfidence: 0.6,
  maxEvents: 50,
};

/** Raised once when a feature (or the score) crosses the threshold; again only after it recovers. */
export interface DriftEvent {
  readonly type: 'infera.drift';
  readonly kind: 'feature' | 'prediction';
  readonly model: string;
  readonly version: string;
  /** The feature name, or "score" for the prediction score. */
  readonly feature: string;
  readonly psi: number;
  readonly threshold: number;
  readonly ks?: number;
  readonly chiSquare?: number;
  readonly samples: number;
  readonly windowMinutes: number;
  readonly time: string;
}

/** How a request went, as the handler saw it. */
export interface Observation {
  readonly latencyMs: number;
  /** HTTP status: 2xx served, 4xx rejected (bad input), 5xx failed. */
  readonly status: number;
  /** v1 instances as received (before validation, so rejected values count too). */
  readonly instances?: readonly unknown[];
  readonly predictions?: readonly Prediction[];
  /** A tensor, image or text model's input moments, in inputKeys(manifest) order. */
  readonly inputs?: readonly InputMoments[];
}

interface FeatureTrack {
  readonly feature: Feature;
  readonly bins: Bins | undefined;
  readonly expectedMissing: number | undefined;
  readonly trainingMin: number | undefined;
  readonly trainingMax: number | undefined;
}

interface Counts {
  start: number;
  requests: number;
  instances: number;
  rejected: number;
  errors: number;
  lowConfidence: number;
  scored: number;
  scoreSum: number;
  readonly latency: Uint32Array;
  readonly score: Float64Array;
  /** Per feature: n, missing, outOfRange, beyondTraining, then the bins. */
  readonly features: Float64Array[];
  /** Per tensor input (or image channel, or text length): count, sum, sum of squares, min, max. */
  readonly inputs: Float64Array[];
}

const F_N = 0;
const F_MISSING = 1;
const F_OUT = 2;
const F_BEYOND = 3;
const F_BINS = 4;

class VersionTrack {
  readonly mv: ModelVersion;
  readonly features: FeatureTrack[];
  readonly inputKeys: InputKey[];
  readonly scoreBins: Bins | undefined;
  readonly ring: Counts[];
  readonly total: Counts;
  readonly drifting = new Set<string>();

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
      latency: new Uint32Array(LATENCY_BINS),
      score: new Float64Array(binCount(this.scoreBins)),
      features: this.features.map((t) => new Float64Array(F_BINS + binCount(t.bins))),
      inputs: this.inputKeys.map(() => new Float64Array(5)),
    };
  }

  bucket(start: number, slot: number): Counts {
    const c = this.ring[slot] as Counts;
    if (c.start !== start) {
      c.start = start;
      c.requests = c.instances = c.rejected = c.errors = c.lowConfidence = c.scored = c.scoreSum = 0;
      c.latency.fill(0);
      c.score.fill(0);
      for (const f of c.features) f.fill(0);
      for (const f of c.inputs) f.fill(0);
    }
    return c;
  }
}

const binCount = (b: Bins | undefined) =>
  b === undefined ? 0 : b.kind === 'numeric' ? b.edges.length + 1 : b.categories.length + 1;

/** A paired comparison of a live version and its shadow on the same requests. */
interface Pairing {
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

export class Monitor {
  readonly options: MonitorOptions;
  readonly #now: () => number;
  readonly #tracks = new Map<ModelVersion, VersionTrack>();
  readonly #pairings = new Map<string, Pairing>();
  readonly #events: DriftEvent[] = [];
  readonly #slots: number;
  readonly #bucketMs: number;
  readonly startedAt: number;

  constructor(options: Partial<MonitorOptions> = {}, now: () => number = Date.now) {
    this.options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    this.#now = now;
    this.#bucketMs = this.options.bucketSeconds * 1000;
    this.#slots = Math.max(1, Math.ceil((this.options.windowMinutes * 60) / this.options.bucketSeconds));
    this.startedAt = now();
  }

  #track(mv: ModelVersion): VersionTrack {
    let t = this.#tracks.get(mv);
    if (!t) {
      t = new VersionTrack(mv, this.#slots);
      this.#tracks.set(mv, t);
    }
    return t;
  }

  /** Records one request to a version: its outcome, and its inputs and predictions if any. */
  observe(mv: ModelVersion, o: Observation): void {
    const t = this.#track(mv);
    const now = this.#now();
    const start = Math.floor(now / this.#bucketMs) * this.#bucketMs;
    const b = t.bucket(start, Math.floor(now / this.#bucketMs) % this.#slots);
    for (const c of [b, t.total]) {
      c.requests++;
      inc(c.latency, latencyBinOf(o.latencyMs));
      if (o.status >= 500) c.errors++;
      else if (o.status >= 400) c.rejected++;
    }
    if (o.instances && t.features.length > 0) this.#observeInstances(t, o.instances, b);
    if (o.predictions) this.#observePredictions(t, o.predictions, b);
    if (o.inputs && o.inputs.length === t.inputKeys.length) {
      o.inputs.forEach((m, i) => {
        mergeMoments(b.inputs[i] as Float64Array, m);
        mergeMoments(t.total.inputs[i] as Float64Array, m);
      });
    }
  }

  #observeInstances(t: VersionTrack, instances: readonly unknown[], b: Counts): void {
    b.instances += instances.length;
    t.total.instances += instances.length;
    for (const raw of instances) {
      const row = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      for (let i = 0; i < t.features.length; i++) {
        const ft = t.features[i] as FeatureTrack;
        const f = ft.feature;
        const v = row[f.name];
        const bw = b.features[i] as Float64Array;
        const tw = t.total.features[i] as Float64Array;
        inc(bw, F_N);
        inc(tw, F_N);
        if (v === undefined || v === null) {
          inc(bw, F_MISSING);
          inc(tw, F_MISSING);
          continue;
        }
        let bin = -1;
        let out = false;
        let beyond = false;
        if (f.type === 'number' || f.type === 'integer') {
          if (typeof v !== 'number' || !Number.isFinite(v)) out = true;
          else {
            out = (f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max);
            beyond =
              (ft.trainingMin !== undefined && v < ft.trainingMin) ||
              (ft.trainingMax !== undefined && v > ft.trainingMax);
            if (ft.bins?.kind === 'numeric') bin = numericBinOf(ft.bins.edges, v);
          }
        } else {
          const s = f.type === 'boolean' ? (typeof v === 'boolean' ? String(v) : undefined) : v;
          if (typeof s !== 'string' || (f.type === 'categorical' && !f.values.includes(s))) out = true;
          if (ft.bins?.kind === 'categorical' && typeof s === 'string') {
            const k = ft.bins.categories.indexOf(s);
            bin = k === -1 ? ft.bins.categories.length : k;
          }
        }
        if (out) {
          inc(bw, F_OUT);
          inc(tw, F_OUT);
        }
        if (beyond) {
          inc(bw, F_BEYOND);
          inc(tw, F_BEYOND);
        }
        if (bin >= 0) {
          inc(bw, F_BINS + bin);
          inc(tw, F_BINS + bin);
        }
      }
    }
  }

  #observePredictions(t: VersionTrack, predictions: readonly Prediction[], b: Counts): void {
    const low = this.options.lowConfidence;
    for (const p of predictions) {
      const s = scoreOf(p);
      if (s === undefined) continue;
      const conf = confidenceOf(p);
      const bin = t.scoreBins?.kind === 'numeric' ? numericBinOf(t.scoreBins.edges, s) : -1;
      for (const c of [b, t.total]) {
        c.scored++;
        c.scoreSum += s;
        if (conf !== undefined && conf < low) c.lowConfidence++;
        if (bin >= 0) inc(c.score, bin);
      }
    }
  }

  /** Records a shadow run next to the live answer it shadowed. */
  observeShadow(
    primary: ModelVersion,
    shadow: ModelVersion,
    r: {
      readonly primary: readonly Prediction[];
      readonly shadow?: readonly Prediction[];
      readonly primaryLatencyMs: number;
      readonly shadowLatencyMs?: number;
      readonly failed?: boolean;
      readonly skipped?: boolean;
    },
  ): void {
    const p = this.#pairing(primary.name, primary.version, shadow.version);
    if (r.skipped) {
      p.skipped++;
      return;
    }
    if (r.failed || !r.shadow) {
      p.errors++;
      return;
    }
    p.requests++;
    inc(p.primaryLatency, latencyBinOf(r.primaryLatencyMs));
    inc(p.shadowLatency, latencyBinOf(r.shadowLatencyMs ?? 0));
    const n = Math.min(r.primary.length, r.shadow.length);
    for (let i = 0; i < n; i++) {
      const a = r.primary[i] as Prediction;
      const b = r.shadow[i] as Prediction;
      p.instances++;
      const sa = scoreOf(a);
      const sb = scoreOf(b);
      if (sa !== undefined && sb !== undefined) {
        const d = sb - sa;
        p.sumDelta += d;
        p.sumAbsDelta += Math.abs(d);
        p.maxAbsDelta = Math.max(p.maxAbsDelta, Math.abs(d));
      }
      if (a.label !== undefined ? a.label === b.label : sameValue(sa, sb)) p.agree++;
    }
  }

  #pairing(model: string, primary: string, shadow: string): Pairing {
    const key = `${model}\u0000${primary}\u0000${shadow}`;
    let p = this.#pairings.get(key);
    if (!p) {
      p = {
        model,
        primary,
        shadow,
        requests: 0,
        instances: 0,
        agree: 0,
        sumAbsDelta: 0,
        sumDelta: 0,
        maxAbsDelta: 0,
        errors: 0,
        skipped: 0,
        primaryLatency: new Uint32Array(LATENCY_BINS),
        shadowLatency: new Uint32Array(LATENCY_BINS),
      };
      this.#pairings.set(key, p);
    }
    return p;
  }

  /** Window sums of a version's buckets that are younger than the window. */
  #window(t: VersionTrack): Counts & { buckets: Counts[] } {
    const now = this.#now();
    const oldest = now - this.options.windowMinutes * 60_000;
    const buckets = t.ring.filter((c) => c.start >= 0 && c.start + this.#bucketMs > oldest);
    buckets.sort((a, b) => a.start - b.start);
    const sum = t.counts(buckets[0]?.start ?? now);
    for (const c of buckets) {
      sum.requests += c.requests;
      sum.instances += c.instances;
      sum.rejected += c.rejected;
      sum.errors += c.errors;
      sum.lowConfidence += c.lowConfidence;
      sum.scored += c.scored;
      sum.scoreSum += c.scoreSum;
      addInto(sum.latency, c.latency);
      addInto(sum.score, c.score);
      c.features.forEach((f, i) => {
        addInto(sum.features[i] as Float64Array, f);
      });
      c.inputs.forEach((f, i) => {
        mergeMoments(sum.inputs[i] as Float64Array, f as unknown as InputMoments);
      });
    }
    return { ...sum, buckets };
  }

  /**
   * Judges drift on every version's window and returns the events that are new: a feature (or
   * the score) that has crossed the threshold since it was last below half of it.
   */
  evaluate(): DriftEvent[] {
    const raised: DriftEvent[] = [];
    const o = this.options;
    for (const t of this.#tracks.values()) {
      const w = this.#window(t);
      const judge = (
        name: string,
        kind: DriftEvent['kind'],
        bins: Bins | undefined,
        counts: ArrayLike<number>,
      ) => {
        if (!bins) return;
        const n = sum(counts);
        if (n < o.minSamples) return;
        const p = psi(bins.expected, counts);
        if (p >= o.psiThreshold && !t.drifting.has(name)) {
          t.drifting.add(name);
          const event: DriftEvent = {
            type: 'infera.drift',
            kind,
            model: t.mv.name,
            version: t.mv.version,
            feature: name,
            psi: round(p),
            threshold: o.psiThreshold,
            ...(bins.kind === 'numeric'
              ? { ks: round(ksStatistic(bins.expected, counts)) }
              : { chiSquare: round(chiSquare(bins.expected, counts).statistic) }),
            samples: n,
            windowMinutes: o.windowMinutes,
            time: new Date(this.#now()).toISOString(),
          };
          raised.push(event);
        } else if (p < o.psiThreshold / 2 && t.drifting.has(name)) {
          t.drifting.delete(name);
        }
      };
      t.features.forEach((ft, i) => {
        judge(ft.feature.name, 'feature', ft.bins, binsOf(w.features[i] as Float64Array));
      });
      judge('score', 'prediction', t.scoreBins, w.score);
    }
    this.#events.push(...raised);
    if (this.#events.length > o.maxEvents) this.#events.splice(0, this.#events.length - o.maxEvents);
    return raised;
  }

  /** Recent drift events, oldest first. */
  events(model?: string): readonly DriftEvent[] {
    return model ? this.#events.filter((e) => e.model === model) : this.#events;
  }

  /** Per-feature figures a metrics exporter publishes (window): PSI, out-of-range and missing rates. */
  featureFigures(): {
    model: string;
    version: string;
    feature: string;
    psi: number;
    outOfRange: number;
    missing: number;
    samples: number;
  }[] {
    const out = [];
    for (const t of this.#tracks.values()) {
      const w = this.#window(t);
      for (let i = 0; i < t.features.length; i++) {
        const ft = t.features[i] as FeatureTrack;
        const c = w.features[i] as Float64Array;
        const n = c[F_N] as number;
        if (n === 0) continue;
        out.push({
          model: t.mv.name,
          version: t.mv.version,
          feature: ft.feature.name,
          psi: ft.bins ? round(psi(ft.bins.expected, binsOf(c))) : 0,
          outOfRange: (c[F_OUT] as number) / n,
          missing: (c[F_MISSING] as number) / n,
          samples: n,
        });
      }
    }
    return out;
  }

  /** Everything known about one model, for GET /v1/models/{model}/monitoring and the dashboard. */
  report(model: string): MonitoringReport {
    const o = this.options;
    const elapsed = Math.max(1, (this.#now() - this.startedAt) / 1000);
    const versions = [...this.#tracks.values()]
      .filter((t) => t.mv.name === model)
      .sort((a, b) => Number(a.mv.version) - Number(b.mv.version))
      .map((t) => {
        const w = this.#window(t);
        return {
          version: t.mv.version,
          window: summary(w, Math.min(o.windowMinutes * 60, elapsed)),
          total: summary(t.total, elapsed),
          series: w.buckets.map((c) => ({
            t: c.start,
            requests: c.requests,
            perSecond: round(c.requests / (this.#bucketMs / 1000)),
            errors: c.errors,
            rejected: c.rejected,
            p50: round(latencyQuantile(c.latency, 0.5)),
            p90: round(latencyQuantile(c.latency, 0.9)),
            p99: round(latencyQuantile(c.latency, 0.99)),
          })),
          features: t.features.map((ft, i) => ({
            name: ft.feature.name,
            type: ft.feature.type,
            window: featureSummary(ft, w.features[i] as Float64Array, o),
            total: featureSummary(ft, t.total.features[i] as Float64Array, o),
          })),
          inputs: t.inputKeys.map((k, i) => {
            const key = k.channel === undefined ? k.name : `${k.name}[${k.channel}]`;
            const training = t.mv.manifest.trainingStats?.inputs?.[key];
            return {
              name: key,
              kind: k.kind,
              window: summarizeMoments(w.inputs[i] as Float64Array),
              total: summarizeMoments(t.total.inputs[i] as Float64Array),
              training: training ?? null,
            };
          }),
          score: t.scoreBins
            ? {
                labels: binLabels(t.scoreBins),
                expected: t.scoreBins.expected.map(round),
                window: fractions(w.score),
                total: fractions(t.total.score),
                psi: sum(w.score) > 0 ? round(psi(t.scoreBins.expected, w.score)) : null,
                ks: sum(w.score) > 0 ? round(ksStatistic(t.scoreBins.expected, w.score)) : null,
                samples: sum(w.score),
                drifting: t.drifting.has('score'),
              }
            : null,
        };
      });
    const comparisons = [...this.#pairings.values()]
      .filter((p) => p.model === model)
      .map((p) => ({
        primary: p.primary,
        shadow: p.shadow,
        requests: p.requests,
        instances: p.instances,
        agreement: p.instances > 0 ? round(p.agree / p.instances) : null,
        meanDelta: p.instances > 0 ? round(p.sumDelta / p.instances) : null,
        meanAbsDelta: p.instances > 0 ? round(p.sumAbsDelta / p.instances) : null,
        maxAbsDelta: round(p.maxAbsDelta),
        errors: p.errors,
        skipped: p.skipped,
        latencyMs: {
          primary: quantiles(p.primaryLatency),
          shadow: quantiles(p.shadowLatency),
        },
      }));
    return {
      model,
      generatedAt: new Date(this.#now()).toISOString(),
      since: new Date(this.startedAt).toISOString(),
      windowMinutes: o.windowMinutes,
      bucketSeconds: o.bucketSeconds,
      psiThreshold: o.psiThreshold,
      minSamples: o.minSamples,
      lowConfidence: o.lowConfidence,
      versions,
      comparisons,
      events: [...this.events(model)].reverse(),
    };
  }
}

export type MonitoringReport = {
  model: string;
  generatedAt: string;
  since: string;
  windowMinutes: number;
  bucketSeconds: number;
  psiThreshold: number;
  minSamples: number;
  lowConfidence: number;
  versions: VersionReport[];
  comparisons: {
    primary: string;
    shadow: string;
    requests: number;
    instances: number;
    agreement: number | null;
    meanDelta: number | null;
    meanAbsDelta: number | null;
    maxAbsDelta: number;
    errors: number;
    skipped: number;
    latencyMs: { primary: LatencySummary; shadow: LatencySummary };
  }[];
  events: DriftEvent[];
};

export type LatencySummary = { p50: number; p90: number; p99: number };

export type VersionReport = {
  version: string;
  window: ReturnType<typeof summary>;
  total: ReturnType<typeof summary>;
  series: {
    t: number;
    requests: number;
    perSecond: number;
    errors: number;
    rejected: number;
    p50: number;
    p90: number;
    p99: number;
  }[];
  features: {
    name: string;
    type: string;
    window: ReturnType<typeof featureSummary>;
    total: ReturnType<typeof featureSummary>;
  }[];
  /** Tensor, image and text models: per input, image channel ("x[0]") or tokens per text. */
  inputs: {
    name: string;
    kind: 'values' | 'tokens';
    window: ReturnType<typeof summarizeMoments>;
    total: ReturnType<typeof summarizeMoments>;
    training: { mean: number; std: number; min: number; max: number } | null;
  }[];
  score: {
    labels: string[];
    expected: number[];
    window: number[];
    total: number[];
    psi: number | null;
    ks: number | null;
    samples: number;
    drifting: boolean;
  } | null;
};

/** A count summary over `seconds` of traffic. */
function summary(c: Counts, seconds: number) {
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

function featureSummary(ft: FeatureTrack, c: Float64Array, o: MonitorOptions) {
  const n = c[F_N] as number;
  const bins = binsOf(c);
  const binned = sum(bins);
  const p = ft.bins && binned > 0 ? psi(ft.bins.expected, bins) : null;
  return {
    count: n,
    missingRate: n > 0 ? round((c[F_MISSING] as number) / n) : 0,
    expectedMissingRate: ft.expectedMissing ?? null,
    outOfRangeRate: n > 0 ? round((c[F_OUT] as number) / n) : 0,
    beyondTrainingRate: n > 0 ? round((c[F_BEYOND] as number) / n) : 0,
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

function quantiles(latency: ArrayLike<number>): LatencySummary {
  return {
    p50: round(latencyQuantile(latency, 0.5)),
    p90: round(latencyQuantile(latency, 0.9)),
    p99: round(latencyQuantile(latency, 0.99)),
  };
}

const binsOf = (c: Float64Array) => c.subarray(F_BINS);

function fractions(counts: ArrayLike<number>): number[] {
  const n = sum(counts);
  return Array.from(counts, (v) => (n > 0 ? round(v / n) : 0));
}

function sum(counts: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i] as number;
  return n;
}

function inc(into: Uint32Array | Float64Array, i: number): void {
  into[i] = (into[i] as number) + 1;
}

function addInto(into: Uint32Array | Float64Array, from: ArrayLike<number>): void {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] as number) + (from[i] as number);
}

const round = (v: number) => Number(v.toPrecision(4));

/** The number a prediction's drift and deltas are measured on: its score, or its value. */
export function scoreOf(p: Prediction): number | undefined {
  if (typeof p.score === 'number') return p.score;
  if (typeof p.value === 'number') return p.value;
  return undefined;
}

/** The probability of the label a classifier chose. */
function confidenceOf(p: Prediction): number | undefined {
  if (p.label === undefined || !p.probabilities) return undefined;
  return (p.probabilities as Record<string, number>)[p.label as string];
}

function sameValue(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return Math.abs(a - b) <= 1e-6 + 0.01 * Math.abs(a);
}
