/**
 * The quality join run by DuckDB over a folder quality log, against the same figures computed
 * here from the lines themselves, with scikit-learn's definitions written out: accuracy_score,
 * precision/recall/f1 per label (0 where undefined), roc_auc_score by the Mann-Whitney rank sum
 * (a different method from the platform's trapezoid), the expected calibration error over 10
 * bins, mean_absolute_error and the root of mean_squared_error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDbQualityEngine } from '#adapters/quality/duckdb.ts';
import { FolderQualityLog } from '#adapters/quality/folder.ts';
import { computeQuality, type QualityModel } from '#core/quality/compute.ts';
import {
  jsonLines,
  type LabelLine,
  labelsFolder,
  type PredictionLine,
  predictionsFolder,
} from '#core/quality/records.ts';
import { perLabel, rocAuc } from '../../support/metrics.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A seeded generator, so a failure can be run again. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function engineWith(preds: readonly PredictionLine[], labels: readonly LabelLine[], model: string) {
  const root = await mkdtemp(join(tmpdir(), 'infera-join-'));
  dirs.push(root);
  const log = new FolderQualityLog(root);
  // As the platform writes them: one stream per version, hour folders by each line's time.
  for (const p of preds)
    await log.write(predictionsFolder(model, p.ts), `${p.version}-1`, '', jsonLines([p]));
  for (const l of labels) await log.write(labelsFolder(model, l.received_ms), 'api-1', '', jsonLines([l]));
  return new DuckDbQualityEngine(root);
}

// --- scikit-learn's definitions (and test/support/metrics.ts) ------------------------------------

function ece(correct: boolean[], confidence: number[]): number {
  let total = 0;
  for (let b = 0; b < 10; b++) {
    const idx = confidence
      .map((c, i) => [c, i] as const)
      .filter(([c]) => Math.min(Math.floor(c * 10), 9) === b);
    if (idx.length === 0) continue;
    const acc = idx.filter(([, i]) => correct[i]).length / idx.length;
    const conf = idx.reduce((s, [c]) => s + c, 0) / idx.length;
    total += (idx.length / confidence.length) * Math.abs(acc - conf);
  }
  return total;
}

// --- a classifier's traffic, with the mess real labels bring -----------------------------------

const FRAUD: QualityModel = {
  model: 'fraud-detector',
  task: 'binary-classification',
  positiveLabel: 'fraud',
  spec: { minLabels: 100, windowHours: 24, alarms: { accuracy: 0.9, auc: 0.75 } },
};

describe('the quality join of a binary classifier', () => {
  const now = Date.now();
  const rand = rng(20261207);
  const preds: PredictionLine[] = [];
  const labels: LabelLine[] = [];
  // Version 1 live, version 2 a shadow on the same ids; version 2 is the better ranker.
  for (let i = 0; i < 1500; i++) {
    const truth = rand() < 0.3 ? 'fraud' : 'legit';
    const ts = now - Math.floor(rand() * 3_000_000);
    for (const [version, sharp] of [
      ['1', 0.25],
      ['2', 0.4],
    ] as const) {
      const score = Math.min(
        1,
        Math.max(0, (truth === 'fraud' ? 0.5 + sharp : 0.5 - sharp) + (rand() - 0.5) * 0.9),
      );
      const label = score >= 0.5 ? 'fraud' : 'legit';
      preds.push({
        id: `r${i}`,
        request: `r${i}`,
        version,
        ts,
        traffic: version === '1' ? 'live' : 'shadow',
        label,
        score,
        confidence: label === 'fraud' ? score : 1 - score,
      });
    }
    if (i % 10 < 6)
      labels.push({
        id: `r${i}`,
        label: truth,
        at_ms: ts + 1000,
        received_ms: ts + 60_000 + i,
        source: 'api',
      });
  }
  // A retried batch chunk: the same prediction logged again counts once.
  preds.push({ ...(preds[0] as PredictionLine) });
  // The same label twice counts once; a later label (by `at`) replaces an earlier, wrong one.
  labels.push({ ...(labels[0] as LabelLine), received_ms: (labels[0] as LabelLine).received_ms + 5 });
  const fixed = labels[1] as LabelLine;
  labels.push({ ...fixed, label: fixed.label === 'fraud' ? 'legit' : 'fraud', at_ms: fixed.at_ms - 500 });
  // A label for an id no prediction has: unmatched, not an error.
  labels.push({ id: 'nobody', label: 'fraud', at_ms: now, received_ms: now, source: 'api' });

  /** The labels as the join must count them: one per id, the latest `at` winning. */
  const truthOf = new Map<string, string>();
  for (const l of [...labels].sort((a, b) => a.at_ms - b.at_ms || a.received_ms - b.received_ms))
    truthOf.set(l.id, l.label as string);

  it('gives each version the accuracy, F1, AUC and calibration error computed from the lines by their definitions', async () => {
    const report = await computeQuality(await engineWith(preds, labels, 'fraud-detector'), FRAUD, {
      now: now + 1000,
    });
    assert.equal(report.engine, 'duckdb');
    for (const version of ['1', '2']) {
      const mine = new Map(preds.filter((p) => p.version === version).map((p) => [p.id, p]));
      const joined = [...mine.values()].filter((p) => truthOf.has(p.id));
      const t = joined.map((p) => truthOf.get(p.id) as string);
      const y = joined.map((p) => p.label as string);
      const v = report.versions.find((x) => x.version === version);
      assert.ok(v, `version ${version} reported`);
      assert.equal(v.predictions, 1500, 'each id once');
      assert.equal(v.labelled, joined.length);
      const accuracy = t.filter((x, i) => x === y[i]).length / t.length;
      assert.ok(Math.abs((v.accuracy ?? -1) - accuracy) < 1e-6, `accuracy ${v.accuracy} vs ${accuracy}`);
      const per = perLabel(t, y);
      const fraudF1 = per.find((l) => l.label === 'fraud')?.f1 ?? 0;
      assert.ok(Math.abs((v.f1 ?? -1) - fraudF1) < 1e-6, `f1 ${v.f1} vs ${fraudF1}`);
      for (const l of per) {
        const got = v.perLabel.find((x) => x.label === l.label);
        assert.ok(
          got && Math.abs(got.precision - l.precision) < 1e-6 && Math.abs(got.recall - l.recall) < 1e-6,
        );
      }
      const macro = per.reduce((s, l) => s + l.f1, 0) / per.length;
      assert.ok(Math.abs((v.macroF1 ?? -1) - macro) < 1e-6);
      const auc = rocAuc(
        t.map((x) => x === 'fraud'),
        joined.map((p) => p.score as number),
      );
      // Scores are grouped at 5 decimals for the curve: within 1e-4 of the exact statistic.
      assert.ok(Math.abs((v.auc ?? -1) - auc) < 1e-4, `auc ${v.auc} vs ${auc}`);
      const e = ece(
        t.map((x, i) => x === y[i]),
        joined.map((p) => p.confidence as number),
      );
      assert.ok(Math.abs((v.ece ?? -1) - e) < 1e-6, `ece ${v.ece} vs ${e}`);
    }
    const [v1, v2] = report.versions;
    assert.ok((v2?.auc ?? 0) > (v1?.auc ?? 1), 'the sharper version ranks better');
    assert.deepEqual(v2?.traffic, { shadow: 1500 });
    assert.deepEqual(v1?.traffic, { live: 1500 });
  });

  it('counts a repeated label once, says which ids were replaced, and counts an unknown id as unmatched', async () => {
    const report = await computeQuality(await engineWith(preds, labels, 'fraud-detector'), FRAUD, {
      now: now + 1000,
    });
    assert.equal(report.labels.received, labels.length);
    assert.equal(report.labels.ids, truthOf.size);
    assert.equal(report.labels.replaced, 1);
    assert.equal(report.labels.unmatched, 1);
    // Sending every label again changes none of the figures.
    const again = await computeQuality(
      await engineWith(preds, [...labels, ...labels], 'fraud-detector'),
      FRAUD,
      { now: now + 1000 },
    );
    assert.deepEqual(
      again.versions.map(({ accuracy, f1, auc, ece, labelled }) => ({ accuracy, f1, auc, ece, labelled })),
      report.versions.map(({ accuracy, f1, auc, ece, labelled }) => ({ accuracy, f1, auc, ece, labelled })),
    );
    assert.equal(again.labels.ids, report.labels.ids);
  });

  it('reports the label delay and a series of the window, and leaves predictions outside the window out', async () => {
    const old: PredictionLine = { ...(preds[2] as PredictionLine), id: 'old', ts: now - 30 * 3_600_000 };
    const report = await computeQuality(
      await engineWith(
        [...preds, old],
        [...labels, { id: 'old', label: 'fraud', at_ms: now, received_ms: now, source: 'api' }],
        'fraud-detector',
      ),
      FRAUD,
      { now: now + 1000 },
    );
    const v1 = report.versions.find((v) => v.version === '1');
    assert.equal(v1?.predictions, 1500, 'the 30-hour-old prediction is outside the 24-hour window');
    assert.equal(report.labels.unmatched, 2, 'its label matches nothing in the window');
    const joined = [...new Map(preds.filter((p) => p.version === '1').map((p) => [p.id, p])).values()].filter(
      (p) => truthOf.has(p.id),
    );
    const delays = joined.map((p) => {
      const l = labels
        .filter((x) => x.id === p.id)
        .sort((a, b) => b.at_ms - a.at_ms || b.received_ms - a.received_ms)[0] as LabelLine;
      return (l.received_ms - p.ts) / 1000;
    });
    assert.ok(
      Math.abs((v1?.labelDelaySeconds?.mean ?? 0) - delays.reduce((a, b) => a + b, 0) / delays.length) < 1e-3,
    );
    assert.equal(
      v1?.series.reduce((s, x) => s + x.labelled, 0),
      v1?.labelled,
    );
    assert.ok((v1?.series.length ?? 0) > 1, 'more than one point');
  });

  it('judges the alarms only from minLabels on, and says which crossed', async () => {
    const few = await computeQuality(await engineWith(preds, labels.slice(0, 50), 'fraud-detector'), FRAUD, {
      now: now + 1000,
    });
    assert.ok(few.versions.every((v) => v.alarms.every((a) => a.state === 'insufficient-labels')));
    const strict = { ...FRAUD, spec: { ...FRAUD.spec, alarms: { accuracy: 0.99, auc: 0.5 } } };
    const r = await computeQuality(await engineWith(preds, labels, 'fraud-detector'), strict, {
      now: now + 1000,
    });
    const v1 = r.versions.find((v) => v.version === '1');
    assert.deepEqual(
      v1?.alarms.map((a) => [a.figure, a.state]),
      [
        ['accuracy', 'alarm'],
        ['auc', 'ok'],
      ],
    );
  });
});

describe('the quality join of a regression and a multiclass model', () => {
  const now = Date.now();

  it('gives MAE and RMSE for a regression model', async () => {
    const rand = rng(7);
    const preds: PredictionLine[] = [];
    const labels: LabelLine[] = [];
    for (let i = 0; i < 400; i++) {
      const value = rand() * 100;
      preds.push({ id: `q${i}`, request: `q${i}`, version: '3', ts: now - 1000, traffic: 'live', value });
      labels.push({
        id: `q${i}`,
        value: value + (rand() - 0.5) * 10,
        at_ms: now,
        received_ms: now,
        source: 'file',
      });
    }
    const q: QualityModel = {
      model: 'price',
      task: 'regression',
      spec: { minLabels: 10, windowHours: 1, alarms: { mae: 1 } },
    };
    const r = await computeQuality(await engineWith(preds, labels, 'price'), q, { now: now + 1000 });
    const err = preds.map((p, i) => (p.value as number) - ((labels[i] as LabelLine).value as number));
    const mae = err.reduce((s, e) => s + Math.abs(e), 0) / err.length;
    const rmse = Math.sqrt(err.reduce((s, e) => s + e * e, 0) / err.length);
    const v = r.versions[0];
    assert.ok(Math.abs((v?.mae ?? 0) - mae) < 1e-5 && Math.abs((v?.rmse ?? 0) - rmse) < 1e-5);
    assert.equal(v?.accuracy, null);
    assert.deepEqual(
      v?.alarms.map((a) => a.state),
      ['alarm'],
      'MAE about 2.5 is above 1',
    );
  });

  it('gives a multiclass model accuracy and the macro F1, and no AUC', async () => {
    const classes = ['setosa', 'versicolor', 'virginica'];
    const rand = rng(11);
    const preds: PredictionLine[] = [];
    const labels: LabelLine[] = [];
    const t: string[] = [];
    const y: string[] = [];
    for (let i = 0; i < 300; i++) {
      const truth = classes[Math.floor(rand() * 3)] as string;
      const label = rand() < 0.8 ? truth : (classes[Math.floor(rand() * 3)] as string);
      t.push(truth);
      y.push(label);
      preds.push({
        id: `m${i}`,
        request: `m${i}`,
        version: '1',
        ts: now - 1000,
        traffic: 'live',
        label,
        confidence: 0.5 + rand() / 2,
      });
      labels.push({ id: `m${i}`, label: truth, at_ms: now, received_ms: now, source: 'api' });
    }
    const q: QualityModel = {
      model: 'iris',
      task: 'multiclass-classification',
      spec: { minLabels: 10, windowHours: 1, alarms: {} },
    };
    const r = await computeQuality(await engineWith(preds, labels, 'iris'), q, { now: now + 1000 });
    const v = r.versions[0];
    const per = perLabel(t, y);
    assert.ok(Math.abs((v?.f1 ?? 0) - per.reduce((s, l) => s + l.f1, 0) / 3) < 1e-6);
    assert.ok(Math.abs((v?.accuracy ?? 0) - t.filter((x, i) => x === y[i]).length / 300) < 1e-6);
    assert.equal(v?.auc, null);
  });
});
