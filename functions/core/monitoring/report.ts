/** The monitoring report's parts: one version's window, series, features and score; one shadow pairing. */
import { nth } from '../checked.ts';
import {
  binsOf,
  type Counts,
  F_MISSING,
  F_N,
  F_OUT,
  featureSummary,
  fractions,
  type Pairing,
  quantiles,
  round,
  sum,
  summary,
  type VersionTrack,
} from './counters.ts';
import { binLabels, ksStatistic, latencyQuantile, psi } from './drift.ts';
import { summarizeMoments } from './inputs.ts';
import type { MonitorOptions } from './types.ts';

/** One version's part of the report, from its window (`w`) and its counts since start. */
export function versionReport(
  t: VersionTrack,
  w: Counts & { buckets: Counts[] },
  o: MonitorOptions,
  elapsed: number,
  bucketMs: number,
) {
  return {
    version: t.mv.version,
    window: summary(w, Math.min(o.windowMinutes * 60, elapsed)),
    total: summary(t.total, elapsed),
    series: w.buckets.map((c) => ({
      t: c.start,
      requests: c.requests,
      perSecond: round(c.requests / (bucketMs / 1000)),
      errors: c.errors,
      rejected: c.rejected,
      p50: round(latencyQuantile(c.latency, 0.5)),
      p90: round(latencyQuantile(c.latency, 0.9)),
      p99: round(latencyQuantile(c.latency, 0.99)),
    })),
    features: t.features.map((ft, i) => ({
      name: ft.feature.name,
      type: ft.feature.type,
      window: featureSummary(ft, nth(w.features, i), o),
      total: featureSummary(ft, nth(t.total.features, i), o),
    })),
    inputs: t.inputKeys.map((k, i) => {
      const key = k.channel === undefined ? k.name : `${k.name}[${k.channel}]`;
      const training = t.mv.manifest.trainingStats?.inputs?.[key];
      return {
        name: key,
        kind: k.kind,
        window: summarizeMoments(nth(w.inputs, i)),
        total: summarizeMoments(nth(t.total.inputs, i)),
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
}

/** A shadow pairing: agreement, score deltas and both latencies. */
export function comparisonReport(p: Pairing) {
  return {
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
  };
}

/** One feature's figures in a version's window, as the metrics exporter publishes them. */
export interface FeatureFigure {
  model: string;
  version: string;
  feature: string;
  psi: number;
  outOfRange: number;
  missing: number;
  samples: number;
}

/** Per-feature figures of every version's window: PSI, out-of-range and missing rates. */
export function featureFigures(
  tracks: readonly VersionTrack[],
  window: (t: VersionTrack) => Counts,
): FeatureFigure[] {
  const out: FeatureFigure[] = [];
  for (const t of tracks) {
    const w = window(t);
    for (let i = 0; i < t.features.length; i++) {
      const ft = nth(t.features, i);
      const c = nth(w.features, i);
      const n = c[F_N] ?? 0;
      if (n === 0) continue;
      out.push({
        model: t.mv.name,
        version: t.mv.version,
        feature: ft.feature.name,
        psi: ft.bins ? round(psi(ft.bins.expected, binsOf(c))) : 0,
        outOfRange: (c[F_OUT] ?? 0) / n,
        missing: (c[F_MISSING] ?? 0) / n,
        samples: n,
      });
    }
  }
  return out;
}
