/**
 * The figures of labelled quality, from the join's aggregates (sql.ts), with scikit-learn's
 * definitions: accuracy_score, precision/recall/f1_score per label (0 where undefined, as
 * zero_division=0), roc_auc_score (the trapezoid under the ROC curve, ties counted half), the
 * expected calibration error over 10 equal-width confidence bins, mean_absolute_error and the
 * root of mean_squared_error. Pure: no I/O.
 */
import {
  isCeiling,
  QUALITY_FIGURES,
  type QualityFigure,
  type QualitySpec,
} from '../model/manifest/quality.ts';
import type { QualityReport, VersionQuality } from './report-schema.ts';
import type { QualityRow, QualityWindow } from './sql.ts';

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/** Area under the ROC curve from (score, count, positives) groups; undefined without both classes. */
export function aucOf(groups: readonly { score: number; n: number; pos: number }[]): number | undefined {
  const sorted = [...groups].sort((a, b) => b.score - a.score);
  const P = sorted.reduce((s, g) => s + g.pos, 0);
  const N = sorted.reduce((s, g) => s + g.n - g.pos, 0);
  if (P === 0 || N === 0) return undefined;
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (const g of sorted) {
    const tp2 = tp + g.pos;
    const fp2 = fp + (g.n - g.pos);
    area += ((fp2 - fp) * (tp2 + tp)) / 2;
    tp = tp2;
    fp = fp2;
  }
  return area / (P * N);
}

/** Per-label precision, recall and F1 from a confusion matrix (truth → predicted → count). */
export function perLabelOf(
  confusion: ReadonlyMap<string, ReadonlyMap<string, number>>,
): { label: string; precision: number; recall: number; f1: number; support: number }[] {
  const labels = new Set<string>();
  for (const [t, row] of confusion) {
    labels.add(t);
    for (const p of row.keys()) labels.add(p);
  }
  return [...labels].sort().map((label) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const [t, row] of confusion)
      for (const [p, n] of row) {
        if (t === label && p === label) tp += n;
        else if (p === label) fp += n;
        else if (t === label) fn += n;
      }
    const precision = ratio(tp, tp + fp);
    const recall = ratio(tp, tp + fn);
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support: tp + fn };
  });
}

interface Acc {
  predictions: number;
  traffic: Record<string, number>;
  confusion: Map<string, Map<string, number>>;
  roc: { score: number; n: number; pos: number }[];
  calibration: { n: number; correct: number; confidence: number }[];
  regression?: { n: number; abs: number; sq: number };
  delay?: { n: number; sum: number; max: number };
  series: Map<number, { n: number; correct: number; abs: number | null }>;
}

/** The report from the aggregates, with each version's alarms judged against the manifest's. */
export function qualityReport(
  rows: readonly QualityRow[],
  o: {
    readonly window: QualityWindow;
    readonly task: string;
    readonly spec: QualitySpec;
    readonly engine: QualityReport['engine'];
    readonly now?: number;
    /** The series' bucket, as the statement grouped it. */
    readonly bucketMs?: number;
  },
): QualityReport {
  const versions = new Map<string, Acc>();
  const acc = (v: string | null): Acc => {
    const key = v ?? '';
    let a = versions.get(key);
    if (!a) {
      a = { predictions: 0, traffic: {}, confusion: new Map(), roc: [], calibration: [], series: new Map() };
      versions.set(key, a);
    }
    return a;
  };
  const labels = { received: 0, ids: 0, replaced: 0, unmatched: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    switch (r.kind) {
      case 'confusion': {
        const a = acc(r.version);
        const row = a.confusion.get(r.k1 ?? '') ?? new Map<string, number>();
        row.set(r.k2 ?? '', (row.get(r.k2 ?? '') ?? 0) + n);
        a.confusion.set(r.k1 ?? '', row);
        break;
      }
      case 'roc':
        acc(r.version).roc.push({ score: Number(r.x), n, pos: Number(r.s1) });
        break;
      case 'calibration':
        acc(r.version).calibration.push({ n, correct: Number(r.s1), confidence: Number(r.s2) });
        break;
      case 'regression':
        acc(r.version).regression = { n, abs: Number(r.s1), sq: Number(r.s2) };
        break;
      case 'delay':
        acc(r.version).delay = { n, sum: Number(r.s1), max: Number(r.s2) };
        break;
      case 'series':
        acc(r.version).series.set(Number(r.x ?? 0), {
          n,
          correct: Number(r.s1 ?? 0),
          abs: r.s2 === null ? null : Number(r.s2),
        });
        break;
      case 'predictions': {
        const a = acc(r.version);
        a.predictions += n;
        a.traffic[r.k1 ?? 'live'] = (a.traffic[r.k1 ?? 'live'] ?? 0) + n;
        break;
      }
      case 'labels':
        labels.received = n;
        labels.ids = Number(r.s1 ?? 0);
        labels.replaced = Number(r.s2 ?? 0);
        break;
      case 'unmatched':
        labels.unmatched = n;
        break;
    }
  }
  const { window: w, task, spec } = o;
  const classifier = task.endsWith('classification');
  const out: VersionQuality[] = [...versions]
    .filter(([v]) => v !== '')
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([version, a]) => {
      let labelled = 0;
      let correct = 0;
      for (const [t, row] of a.confusion)
        for (const [p, n] of row) {
          labelled += n;
          if (t === p) correct += n;
        }
      if (a.regression) labelled = Math.max(labelled, a.regression.n);
      const perLabel = classifier ? perLabelOf(a.confusion) : [];
      const positive = perLabel.find((l) => l.label === w.positiveLabel);
      const macroF1 =
        perLabel.length > 0 ? perLabel.reduce((s, l) => s + l.f1, 0) / perLabel.length : undefined;
      const auc = task === 'binary-classification' ? aucOf(a.roc) : undefined;
      const calibrated = a.calibration.reduce((s, b) => s + b.n, 0);
      const ece =
        calibrated > 0
          ? a.calibration.reduce(
              (s, b) => s + (b.n / calibrated) * Math.abs(b.correct / b.n - b.confidence / b.n),
              0,
            )
          : undefined;
      const reg = a.regression && a.regression.n > 0 ? a.regression : undefined;
      const figures = {
        accuracy: classifier && labelled > 0 ? round6(correct / labelled) : null,
        f1:
          task === 'binary-classification'
            ? labelled > 0
              ? round6(positive?.f1 ?? 0)
              : null
            : macroF1 === undefined
              ? null
              : round6(macroF1),
        auc: auc === undefined ? null : round6(auc),
        mae: reg ? round6(reg.abs / reg.n) : null,
        rmse: reg ? round6(Math.sqrt(reg.sq / reg.n)) : null,
      };
      return {
        version,
        predictions: a.predictions,
        traffic: a.traffic,
        labelled,
        labelDelaySeconds:
          a.delay && a.delay.n > 0
            ? { mean: round6(a.delay.sum / a.delay.n / 1000), max: round6(a.delay.max / 1000) }
            : null,
        ...figures,
        macroF1: macroF1 === undefined ? null : round6(macroF1),
        ece: ece === undefined ? null : round6(ece),
        perLabel: perLabel.map((l) => ({
          ...l,
          precision: round6(l.precision),
          recall: round6(l.recall),
          f1: round6(l.f1),
        })),
        series: [...a.series]
          .sort(([x], [y]) => x - y)
          .map(([at, s]) => ({
            at: new Date(at).toISOString(),
            labelled: s.n,
            accuracy: classifier ? round6(s.correct / s.n) : null,
            mae: !classifier && s.abs !== null ? round6(s.abs / s.n) : null,
          })),
        alarms: alarmsOf(figures, labelled, spec),
      };
    });
  return {
    model: w.model,
    task,
    positiveLabel: w.positiveLabel ?? null,
    window: {
      from: new Date(w.fromMs).toISOString(),
      to: new Date(w.toMs).toISOString(),
      hours: round6((w.toMs - w.fromMs) / 3_600_000),
    },
    computedAt: new Date(o.now ?? Date.now()).toISOString(),
    seriesSeconds: Math.round((o.bucketMs ?? 3_600_000) / 1000),
    engine: o.engine,
    labels,
    minLabels: spec.minLabels,
    versions: out,
  };
}

/** The EMF metric each figure is published as: what the quality function writes and the stack's alarms read. */
export const QUALITY_METRIC = {
  accuracy: 'QualityAccuracy',
  f1: 'QualityF1',
  auc: 'QualityAUC',
  mae: 'QualityMAE',
  rmse: 'QualityRMSE',
} as const satisfies Record<QualityFigure, string>;

/** Each threshold of the manifest against a version's figure: silent below minLabels. */
export function alarmsOf(
  figures: Record<QualityFigure, number | null>,
  labelled: number,
  spec: QualitySpec,
): VersionQuality['alarms'] {
  const out: VersionQuality['alarms'] = [];
  for (const figure of QUALITY_FIGURES) {
    const threshold = spec.alarms[figure];
    if (threshold === undefined) continue;
    const value = figures[figure];
    const crossed = value !== null && (isCeiling(figure) ? value > threshold : value < threshold);
    const state =
      labelled < spec.minLabels || value === null ? 'insufficient-labels' : crossed ? 'alarm' : 'ok';
    out.push({ figure, threshold, value, state });
  }
  return out;
}
