/** What one observation adds to a version's counts: its rows' features, and its scores. */
import { isRecord, nth } from '../checked.ts';
import type { Prediction } from '../protocol/schemas.ts';
import {
  type Counts,
  confidenceOf,
  F_BEYOND,
  F_BINS,
  F_MISSING,
  F_N,
  F_OUT,
  inc,
  scoreOf,
  type VersionTrack,
} from './counters.ts';
import { numericBinOf } from './drift.ts';

/** Counts a request's rows: per feature, missing, out of range, beyond training, and its bin. */
export function countInstances(t: VersionTrack, instances: readonly unknown[], b: Counts): void {
  for (const raw of instances) {
    const row = isRecord(raw) ? raw : {};
    for (let i = 0; i < t.features.length; i++) {
      const ft = nth(t.features, i);
      const f = ft.feature;
      const v = row[f.name];
      const bw = nth(b.features, i);
      const tw = nth(t.total.features, i);
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

/** Counts a request's scores: their sum, their bins and the low-confidence ones. */
export function countPredictions(
  t: VersionTrack,
  predictions: readonly Prediction[],
  b: Counts,
  low: number,
): void {
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
