/**
 * B14: the quality join on the local engine (DuckDB over the folder quality log, as npm start
 * runs it), at 10,000, 100,000 and 1,000,000 predictions a day (two versions, half of them
 * labelled, spread over 24 hour partitions), and the bytes a prediction and a label take in the
 * log: what Athena scans on AWS, so what a run of the join costs there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbQualityEngine } from '#adapters/quality/duckdb.ts';
import { FolderQualityLog } from '#adapters/quality/folder.ts';
import { computeQuality, type QualityModel } from '#core/quality/compute.ts';
import { jsonLines, type LabelLine, labelsFolder, type PredictionLine, predictionsFolder } from '#core/quality/records.ts';
import { absolute, type BenchOptions, type BenchResult } from './lib/report.ts';
import { p50 } from './lib/stats.ts';

const FRAUD: QualityModel = {
  model: 'fraud-detector',
  task: 'binary-classification',
  positiveLabel: 'fraud',
  spec: { minLabels: 200, windowHours: 24, alarms: { accuracy: 0.9, auc: 0.75 } },
};

/** Writes `n` predictions of each of two versions over the last 24 hours, and labels for half. */
async function fill(
  root: string,
  n: number,
  now: number,
): Promise<{ predictionBytes: number; labelBytes: number; labels: number }> {
  const log = new FolderQualityLog(root);
  let seed = 1;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const perHour = Math.ceil(n / 24);
  let predictionBytes = 0;
  let labelBytes = 0;
  let labelCount = 0;
  for (let h = 0; h < 24; h++) {
    const ts0 = now - (h + 1) * 3_600_000 + 1000;
    const count = Math.min(perHour, n - h * perHour);
    if (count <= 0) break;
    for (const version of ['1', '2']) {
      const lines: PredictionLine[] = [];
      for (let i = 0; i < count; i++) {
        const score = rand();
        const label = score >= 0.12 ? 'fraud' : 'legit';
        const id = `bench-${h}-${i}`;
        lines.push({ id, request: id, version, ts: ts0 + i, traffic: version === '1' ? 'live' : 'shadow', label, score, confidence: label === 'fraud' ? score : 1 - score });
      }
      const text = jsonLines(lines);
      predictionBytes += Buffer.byteLength(text);
      await log.write(predictionsFolder('fraud-detector', ts0), `${version}-1`, '', text);
    }
    const labels: LabelLine[] = [];
    for (let i = 0; i < count; i += 2)
      labels.push({ id: `bench-${h}-${i}`, label: rand() < 0.05 ? 'fraud' : 'legit', at_ms: now, received_ms: now, source: 'api' });
    const text = jsonLines(labels);
    labelCount += labels.length;
    labelBytes += Buffer.byteLength(text);
    await log.write(labelsFolder('fraud-detector', now), 'api-1', '', text);
  }
  return { predictionBytes, labelBytes, labels: labelCount };
}

export async function b14(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const sizes = opts.quick ? [10_000] : [10_000, 100_000, 1_000_000];
  const figures = [];
  let perPrediction = 0;
  let perLabel = 0;
  for (const n of sizes) {
    const root = await mkdtemp(join(tmpdir(), 'infera-bench-quality-'));
    try {
      opts.progress(`B14: writing ${n.toLocaleString('en-US')} predictions per version and labels for half`);
      const now = Date.now();
      const bytes = await fill(root, n, now);
      perPrediction = bytes.predictionBytes / (2 * n);
      perLabel = bytes.labelBytes / bytes.labels;
      const engine = new DuckDbQualityEngine(root);
      const times: number[] = [];
      let labelled = 0;
      for (let i = 0; i < (opts.quick ? 2 : 4); i++) {
        const t = performance.now();
        const r = await computeQuality(engine, FRAUD, { now });
        times.push(performance.now() - t);
        labelled = r.versions[0]?.labelled ?? 0;
      }
      if (labelled !== bytes.labels) throw new Error(`B14: ${labelled} labelled, expected ${bytes.labels}`);
      // The first run reads the files cold and makes the views; the rest are what a refresh costs.
      figures.push(absolute(`join of ${n.toLocaleString('en-US')} predictions x 2 versions, half labelled (p50 of ${times.length - 1} after the first)`, 'ms', p50(times.slice(1))));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  const mbPerMillion = (perPrediction * 1e6) / 1024 / 1024;
  figures.push(
    absolute('a prediction line in the log', 'bytes', perPrediction),
    absolute('a label line in the log', 'bytes', perLabel),
    absolute('one million predictions in the log', 'MB', mbPerMillion),
    absolute('one Athena run over a day of one million predictions, scanned at $5/TB', 'USD', Math.max(10, mbPerMillion) / 1024 / 1024 * 5),
  );
  return {
    id: 'B14',
    title: 'The quality join: local engine time and log size',
    baseline: 'none: absolute figures',
    target: 'measured, no target: docs/releases-and-monitoring.md states them',
    figures,
    notes: [
      'DuckDB (@duckdb/node-api, 2 threads) over JSON Lines in hour partitions, the layout the local platform and S3 share (bench/b14-quality-join.ts). Two versions per id: a live one and a shadow, the shape a shadow release has.',
      'Athena scans the same JSON in S3 for the window: the cost line assumes one run scans one day of one million predictions (both versions are two million lines: double it for a shadow), plus the labels, at the 10 MB minimum a query is billed.',
    ],
    limits: [],
  };
}
