/**
 * scikit-learn's definitions, written out for the tests to compute labelled quality on their own
 * and compare with the platform's: by other methods than the platform's (the AUC here is the
 * Mann-Whitney rank sum; the platform integrates the ROC curve).
 */
import type { VersionQuality } from '#core/quality/report-schema.ts';

/** roc_auc_score as the Mann-Whitney U statistic over average ranks (ties at their mean rank). */
export function rocAuc(positive: readonly boolean[], score: readonly number[]): number {
  const order = score.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const rank = new Array<number>(score.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
    for (let k = i; k <= j; k++) rank[order[k]?.[1] ?? 0] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const P = positive.filter(Boolean).length;
  const N = positive.length - P;
  const sumPos = positive.reduce((s, p, i) => s + (p ? (rank[i] ?? 0) : 0), 0);
  return (sumPos - (P * (P + 1)) / 2) / (P * N);
}

/** precision_score, recall_score and f1_score per label, 0 where undefined (zero_division=0). */
export function perLabel(truth: readonly string[], pred: readonly string[]) {
  const labels = [...new Set([...truth, ...pred])].sort();
  return labels.map((label) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    truth.forEach((t, i) => {
      const p = pred[i];
      if (t === label && p === label) tp++;
      else if (p === label) fp++;
      else if (t === label) fn++;
    });
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1 };
  });
}

/** One version's entry of a quality report, every figure empty unless given. */
export function versionQuality(
  fields: Pick<VersionQuality, 'version' | 'traffic' | 'labelled'> & Partial<VersionQuality>,
): VersionQuality {
  return {
    predictions: 1000,
    labelDelaySeconds: null,
    accuracy: null,
    f1: null,
    macroF1: null,
    auc: null,
    ece: null,
    mae: null,
    rmse: null,
    perLabel: [],
    series: [],
    alarms: [],
    ...fields,
  };
}
