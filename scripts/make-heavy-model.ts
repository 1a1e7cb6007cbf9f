#!/usr/bin/env node
/**
 * Builds the heavy demo model, fraud-detector-xl v1: a wide random-feature network (15 -> 512 ->
 * 4096 ReLU, 2.1 M fixed weights drawn from a seeded PRNG) with a logistic read-out trained on the
 * same synthetic card transactions as fraud-detector (soft labels: the generator's fraud probability).
 * About 8 MB of weights and ~2 M multiply-adds per row, against 2.5 KB and ~300 for fraud-detector v2: heavy enough to want a SageMaker
 * endpoint and micro-batching, small enough to build here in seconds.
 *
 * Deterministic: the same bytes on every machine (seeded, float64 maths in a fixed order, weights
 * rounded to float32 before use), so model.json in git pins model.onnx's sha256 and model.onnx
 * itself stays out of git. It is built on first need, about 15 s, once: by `npm start`, `cdk synth`
 * (the CDK app) and `npm test` (the tests' model copy), each if it is missing or stale; `npm ci`
 * builds nothing.
 *
 *   node scripts/make-heavy-model.ts            build model.onnx if missing or stale
 *   node scripts/make-heavy-model.ts --write    also rewrite model.json and the golden fixtures
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseCommand, runMain } from '../cli/args.ts';
import { CliError } from '../cli/common.ts';
import { expectedBinary } from './lib/expected.ts';
import { fraudProbability, generateTransactions, type Transaction } from './lib/fraud-data.ts';
import { fitStandardiser, normal, rng, sigmoid, standardise, trainLogistic } from './lib/ml.ts';
import { GraphBuilder } from './lib/onnx.ts';
import { numericStats } from './lib/training-stats.ts';
import {
  bestF1Threshold,
  binaryHead,
  binaryMetrics,
  CREATED_AT,
  fraudBasis,
  fraudFeatures,
  fraudPreprocess,
  rawRow,
  SEED,
  sha256,
  transform,
} from './train-models.ts';

export const NAME = 'fraud-detector-xl';
const VERSION = '1';
const H1 = 512;
const H2 = 4096;
const FIT_ROWS = 8000;
const HOLDOUT_ROWS = 2000;
const XL_SEED = SEED + 100;

interface Built {
  onnx: Uint8Array;
  manifest: Record<string, unknown>;
  golden: Record<string, unknown>;
  metrics: ReturnType<typeof binaryMetrics>;
}

function build(progress: (line: string) => void): Built {
  // The same data, imputation and standardisation as fraud-detector, so it can be its fallback.
  const { distanceDefault, xTrain, std, stats: featureStats } = fraudBasis();
  const d = xTrain[0]?.length ?? 0;

  const rand = rng(XL_SEED);
  const w1 = new Float64Array(d * H1);
  for (let i = 0; i < w1.length; i++) w1[i] = Math.fround(normal(rand) * Math.sqrt(2 / d));
  const b1 = new Float64Array(H1);
  for (let i = 0; i < H1; i++) b1[i] = Math.fround((rand() - 0.5) * 0.2);
  const w2 = new Float64Array(H1 * H2);
  for (let i = 0; i < w2.length; i++) w2[i] = Math.fround(normal(rand) * Math.sqrt(2 / H1));

  const h1 = new Float64Array(H1);
  const features = (z: readonly number[]): number[] => {
    for (let k = 0; k < H1; k++) {
      let a = b1[k] as number;
      for (let j = 0; j < d; j++) a += (z[j] as number) * (w1[j * H1 + k] as number);
      h1[k] = a > 0 ? a : 0;
    }
    const h2 = new Float64Array(H2);
    for (let k = 0; k < H1; k++) {
      const v = h1[k] as number;
      if (v === 0) continue;
      const row = k * H2;
      for (let m = 0; m < H2; m++) h2[m] = (h2[m] as number) + v * (w2[row + m] as number);
    }
    const out = new Array<number>(H2);
    for (let m = 0; m < H2; m++) out[m] = Math.max(h2[m] as number, 0);
    return out;
  };

  const fit = generateTransactions(FIT_ROWS, XL_SEED + 1);
  const holdout = generateTransactions(HOLDOUT_ROWS, XL_SEED + 2);
  const zOf = (r: Transaction) => standardise(transform(rawRow(r, distanceDefault)), std);
  progress(`random features for ${FIT_ROWS + HOLDOUT_ROWS} rows (${H1}x${H2} layer)`);
  const fFit = fit.rows.map((r) => features(zOf(r)));
  const fHold = holdout.rows.map((r) => features(zOf(r)));
  // Standardise the read-out's inputs, then fold that into its weights so the graph stays three MatMuls.
  const fStd = fitStandardiser(fFit);
  const sFit = fFit.map((r) => standardise(r, fStd));
  // Soft labels: the generator's true fraud probability, far less noisy than 1.5% positive labels.
  progress('training the read-out');
  const lr = trainLogistic(sFit, fit.rows.map(fraudProbability), {
    epochs: 30,
    batch: 128,
    lr: 0.01,
    l2: 0.1,
    seed: XL_SEED + 3,
  });
  const w3 = lr.w.map((w, j) => Math.fround(w / (fStd.std[j] as number)));
  const b3 = Math.fround(
    lr.b - lr.w.reduce((a, w, j) => a + (w * (fStd.mean[j] as number)) / (fStd.std[j] as number), 0),
  );
  const predict = (f: readonly number[]) => sigmoid(f.reduce((a, v, j) => a + v * (w3[j] as number), b3));

  const g = new GraphBuilder();
  const z = fraudPreprocess(g, std);
  const a1 = g.op('Relu', [
    g.op('Add', [g.op('MatMul', [z, g.constant('w1', w1, [d, H1])]), g.constant('b1', b1, [H1])]),
  ]);
  const a2 = g.op('Relu', [g.op('MatMul', [a1, g.constant('w2', w2, [H1, H2])])]);
  const logit = g.op('Add', [
    g.op('MatMul', [a2, g.constant('w3', w3, [H2, 1])]),
    g.constant('b3', [b3], [1]),
  ]);
  binaryHead(g, logit);
  const onnx = g.build({
    name: 'fraud_detector_xl_v1',
    doc: `infera ${NAME} v${VERSION} (random-feature network, ${H1}x${H2}, logistic read-out)`,
    metadata: { 'infera.model': NAME, 'infera.version': VERSION },
  });

  const trainScores = fFit.map(predict);
  const threshold = bestF1Threshold(trainScores, fit.labels);
  const scores = fHold.map(predict);
  const metrics = binaryMetrics(scores, holdout.labels, threshold);
  const stats = { ...featureStats, score: numericStats(scores) };
  const manifest = {
    name: NAME,
    version: VERSION,
    description:
      'Heavy demo model: card-fraud classifier on a wide random-feature network (2.1 M weights, ~2 M multiply-adds per row). Served by a SageMaker endpoint; fraud-detector answers while the endpoint is down.',
    task: 'binary-classification',
    inputs: { kind: 'tabular', tensor: 'features', features: fraudFeatures(distanceDefault) },
    outputs: { tensor: 'probabilities', labels: ['legit', 'fraud'], threshold },
    // Serverless: no idle cost for a demo. A real GPU endpoint is one manifest line away (instanceType).
    target: { type: 'sagemaker', serverless: { memoryMb: 2048, maxConcurrency: 5 } },
    fallback: { model: 'fraud-detector', version: 'live' },
    sha256: sha256(onnx),
    lineage: {
      trainingDataHash: `sha256:${sha256(JSON.stringify(fit.rows))}`,
      trainingCode: `scripts/make-heavy-model.ts (seed ${XL_SEED}; ${FIT_ROWS} rows; data generator scripts/lib/fraud-data.ts)`,
      createdAt: CREATED_AT,
      algorithm: `random-features(${H1}x${H2} relu) + logistic read-out`,
      holdoutMetrics: metrics,
      notes: `Holdout: ${HOLDOUT_ROWS} rows from seed ${XL_SEED + 2}. model.onnx is built by this script, not stored in git.`,
    },
    trainingStats: stats,
  };
  const picks: number[] = [];
  for (let i = 0; i < holdout.rows.length && picks.length < 8; i++) {
    if (Math.abs((scores[i] as number) - threshold) > 1e-2 && (picks.length < 4 || holdout.labels[i] === 1))
      picks.push(i);
  }
  const golden = {
    description: 'Holdout rows and the outputs of the float64 forward pass in scripts/make-heavy-model.ts.',
    tolerance: 1e-3,
    instances: picks.map((i) => ({ ...(holdout.rows[i] as Transaction) })),
    expected: picks.map((i) => expectedBinary(scores[i] as number, threshold)),
  };
  return { onnx, manifest, golden, metrics };
}

/** Writes through a temporary file of this process's own: two builders at once cannot mix bytes. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Builds model.onnx unless it is present and matches the sha256 pinned in model.json. */
export async function ensureHeavyModel(
  modelsDir: string,
  opts: { write?: boolean; log?: (line: string) => void } = {},
): Promise<'up-to-date' | 'built'> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dir = join(modelsDir, NAME, VERSION);
  const manifestText = await readFile(join(dir, 'model.json'), 'utf8').catch(() => undefined);
  const pinned = manifestText ? (JSON.parse(manifestText) as { sha256?: string }).sha256 : undefined;
  const have = await readFile(join(dir, 'model.onnx')).catch(() => undefined);
  if (!opts.write && pinned && have && sha256(have) === pinned) return 'up-to-date';
  if (!opts.write && !manifestText) return 'up-to-date'; // the model was removed on purpose
  const started = performance.now();
  log(`${NAME}: building model.onnx (about 8 MB, deterministic; once)`);
  const built = build((line) => log(`${NAME}: ${line}`));
  const got = sha256(built.onnx);
  if (!opts.write && got !== pinned) {
    throw new Error(
      `${dir}/model.onnx: the build produced sha256 ${got}, but model.json pins ${pinned}. The generator changed; run node scripts/make-heavy-model.ts --write and commit model.json.`,
    );
  }
  await writeAtomic(join(dir, 'model.onnx'), built.onnx);
  if (opts.write) {
    await writeAtomic(join(dir, 'model.json'), `${JSON.stringify(built.manifest, null, 2)}\n`);
    await writeAtomic(join(dir, 'fixtures', 'golden.json'), `${JSON.stringify(built.golden, null, 2)}\n`);
  }
  log(
    `${NAME}: wrote ${dir}/model.onnx (${(built.onnx.length / 1024 / 1024).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s; holdout AUC ${built.metrics.auc}`,
  );
  return 'built';
}

if (import.meta.main) {
  const COMMAND = 'node scripts/make-heavy-model.ts';
  await runMain(async () => {
    const parsed = parseCommand(
      {
        name: COMMAND,
        help: `Usage: ${COMMAND} [--write] [--models DIR]\n\nBuilds ${NAME} v${VERSION}'s model.onnx (not stored in git) if it is missing or stale.\n  --write   also rewrite model.json and fixtures/golden.json (after changing the generator)\n  --models  models folder (default: models)`,
        options: {
          write: { type: 'boolean', default: false },
          models: { type: 'string', default: 'models' },
        },
      },
      process.argv.slice(2),
    );
    if (!parsed) return 0;
    try {
      await ensureHeavyModel(parsed.values.models, { write: parsed.values.write });
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    return 0;
  });
}
