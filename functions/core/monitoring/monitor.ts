import { nth } from '../checked.ts';
import type { ModelVersion } from '../model/registry.ts';
import type { Prediction } from '../protocol/schemas.ts';
import {
  addCounts,
  binsOf,
  type Counts,
  inc,
  type Pairing,
  round,
  sameValue,
  scoreOf,
  sum,
  VersionTrack,
} from './counters.ts';
import { type Bins, chiSquare, ksStatistic, LATENCY_BINS, latencyBinOf, psi } from './drift.ts';
import { mergeMoments } from './inputs.ts';
import { countInstances, countPredictions } from './observe.ts';
import { comparisonReport, type FeatureFigure, featureFigures, versionReport } from './report.ts';
import type { DriftEvent, MonitoringReport, MonitorOptions, Observation } from './types.ts';
import { DEFAULT_MONITOR_OPTIONS } from './types.ts';

/**
 * Streaming monitoring of the scoring path: per model version, request counts, latency, errors,
 * and per feature missing and out-of-range rates and a drift score against the manifest's
 * training statistics; the prediction score's distribution and drift; a low-confidence rate;
 * shadow comparisons. Memory is fixed: a ring of time buckets of fixed-size count arrays, plus
 * the same counts since start. Nothing here does I/O; callers send the events it raises.
 */
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
    const rows = o.rows ?? o.instances?.length ?? 0;
    t.lastAt = now;
    for (const c of [b, t.total]) {
      c.requests++;
      c.instances += rows;
      if (o.status < 400) c.latencySum += o.latencyMs;
      inc(c.latency, latencyBinOf(o.latencyMs));
      if (o.status >= 500) c.errors++;
      else if (o.status >= 400) c.rejected++;
    }
    if (o.instances && t.features.length > 0) countInstances(t, o.instances, b);
    if (o.predictions) countPredictions(t, o.predictions, b, this.options.lowConfidence);
    if (o.inputs && o.inputs.length === t.inputKeys.length) {
      o.inputs.forEach((m, i) => {
        mergeMoments(nth(b.inputs, i), m);
        mergeMoments(nth(t.total.inputs, i), m);
      });
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
      const a = nth(r.primary, i);
      const b = nth(r.shadow, i);
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
    for (const c of buckets) addCounts(sum, c);
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
        judge(ft.feature.name, 'feature', ft.bins, binsOf(nth(w.features, i)));
      });
      judge('score', 'prediction', t.scoreBins, w.score);
    }
    this.#events.push(...raised);
    if (this.#events.length > o.maxEvents) this.#events.splice(0, this.#events.length - o.maxEvents);
    return raised;
  }

  /**
   * Events a sink could not deliver: their features count as not yet raised, so the next
   * evaluation that still finds drift raises them again instead of never telling anyone.
   */
  retract(events: readonly DriftEvent[]): void {
    for (const e of events) {
      for (const t of this.#tracks.values()) {
        if (t.mv.name === e.model && t.mv.version === e.version) t.drifting.delete(e.feature);
      }
    }
  }

  /** Each version's counts since start (all versions, or one model's): Triton's inference statistics. */
  totals(model?: string): {
    mv: ModelVersion;
    lastAt: number;
    requests: number;
    rows: number;
    failed: number;
    latencySumMs: number;
  }[] {
    return [...this.#tracks.values()]
      .filter((t) => model === undefined || t.mv.name === model)
      .map((t) => ({
        mv: t.mv,
        lastAt: t.lastAt,
        requests: t.total.requests,
        rows: t.total.instances,
        failed: t.total.rejected + t.total.errors,
        latencySumMs: t.total.latencySum,
      }));
  }

  /** Recent drift events, oldest first. */
  events(model?: string): readonly DriftEvent[] {
    return model ? this.#events.filter((e) => e.model === model) : this.#events;
  }

  /** Per-feature figures a metrics exporter publishes (window): PSI, out-of-range and missing rates. */
  featureFigures(): FeatureFigure[] {
    return featureFigures([...this.#tracks.values()], (t) => this.#window(t));
  }

  /** Everything known about one model, for GET /v1/models/{model}/monitoring and the dashboard. */
  report(model: string): MonitoringReport {
    const o = this.options;
    const elapsed = Math.max(1, (this.#now() - this.startedAt) / 1000);
    const versions = [...this.#tracks.values()]
      .filter((t) => t.mv.name === model)
      .sort((a, b) => Number(a.mv.version) - Number(b.mv.version))
      .map((t) => versionReport(t, this.#window(t), o, elapsed, this.#bucketMs));
    const comparisons = [...this.#pairings.values()].filter((p) => p.model === model).map(comparisonReport);
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
