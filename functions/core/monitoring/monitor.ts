import type { ModelVersion } from '../model/registry.ts';
import type { Prediction } from '../protocol/schemas.ts';
import {
  addInto,
  binsOf,
  type Counts,
  confidenceOf,
  F_BEYOND,
  F_BINS,
  F_MISSING,
  F_N,
  F_OUT,
  type FeatureTrack,
  featureSummary,
  fractions,
  inc,
  type Pairing,
  quantiles,
  round,
  sameValue,
  scoreOf,
  sum,
  summary,
  VersionTrack,
} from './counters.ts';
import {
  type Bins,
  binLabels,
  chiSquare,
  ksStatistic,
  LATENCY_BINS,
  latencyBinOf,
  latencyQuantile,
  numericBinOf,
  psi,
} from './drift.ts';
import { type InputMoments, mergeMoments, summarizeMoments } from './inputs.ts';
import type { DriftEvent, MonitoringReport, MonitorOptions, Observation } from './types.ts';
import { DEFAULT_MONITOR_OPTIONS } from './types.ts';

export { scoreOf } from './counters.ts';
export * from './types.ts';

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
