/**
 * Minimal, deterministic training code for the shipped demo models: a seeded PRNG, standardisation,
 * binary logistic regression, a one-hidden-layer MLP and multinomial logistic regression, all trained
 * with Adam on float64, plus the metrics written into manifests. No randomness outside the seed.
 */

/** mulberry32: tiny, fast, good enough for data generation and shuffles; same seed, same stream. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export interface Standardiser {
  mean: number[];
  std: number[];
}

/** Column means and standard deviations; columns listed in `keep` are left as they are (one-hot). */
export function fitStandardiser(x: number[][], keep: ReadonlySet<number> = new Set()): Standardiser {
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const row of x)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (row[j] as number) / x.length;
  for (const row of x)
    for (let j = 0; j < d; j++)
      std[j] = (std[j] as number) + ((row[j] as number) - (mean[j] as number)) ** 2 / x.length;
  for (let j = 0; j < d; j++) {
    if (keep.has(j)) {
      mean[j] = 0;
      std[j] = 1;
    } else {
      std[j] = Math.sqrt(std[j] as number) || 1;
    }
  }
  return { mean, std };
}

export function standardise(row: readonly number[], s: Standardiser): number[] {
  return row.map((v, j) => (v - (s.mean[j] as number)) / (s.std[j] as number));
}

/** Adam state for one flat parameter vector. */
class Adam {
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly lr: number;
  t = 0;
  constructor(n: number, lr: number) {
    this.lr = lr;
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }
  step(params: Float64Array, grad: Float64Array): void {
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i] as number;
      this.m[i] = b1 * (this.m[i] as number) + (1 - b1) * g;
      this.v[i] = b2 * (this.v[i] as number) + (1 - b2) * g * g;
      params[i] =
        (params[i] as number) -
        (this.lr * ((this.m[i] as number) / c1)) / (Math.sqrt((this.v[i] as number) / c2) + 1e-8);
    }
  }
}

export interface TrainOptions {
  epochs: number;
  batch: number;
  lr: number;
  l2: number;
  seed: number;
}

/**
 * The training loop every model here shares: shuffled mini-batches, the batch's mean gradient
 * plus L2 on the weights (the parameters before index `decayed`; biases are not decayed), one
 * Adam step per batch. `accumulate` adds one row's gradient to `grad`.
 */
function minibatchAdam(
  params: Float64Array,
  rows: number,
  decayed: number,
  o: TrainOptions,
  rand: () => number,
  accumulate: (row: number, grad: Float64Array) => void,
): void {
  const grad = new Float64Array(params.length);
  const opt = new Adam(params.length, o.lr);
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let e = 0; e < o.epochs; e++) {
    shuffle(order, rand);
    for (let s = 0; s < order.length; s += o.batch) {
      grad.fill(0);
      const end = Math.min(s + o.batch, order.length);
      for (let q = s; q < end; q++) accumulate(order[q] as number, grad);
      const n = end - s;
      for (let j = 0; j < params.length; j++)
        grad[j] = (grad[j] as number) / n + (j < decayed ? o.l2 * (params[j] as number) : 0);
      opt.step(params, grad);
    }
  }
}

/** Binary logistic regression on standardised inputs. Returns weights [d] and bias. */
export function trainLogistic(x: number[][], y: number[], o: TrainOptions): { w: number[]; b: number } {
  const d = x[0]?.length ?? 0;
  const params = new Float64Array(d + 1);
  minibatchAdam(params, x.length, d, o, rng(o.seed), (i, grad) => {
    const row = x[i] as number[];
    let z = params[d] as number;
    for (let j = 0; j < d; j++) z += (params[j] as number) * (row[j] as number);
    const err = sigmoid(z) - (y[i] as number);
    for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + err * (row[j] as number);
    grad[d] = (grad[d] as number) + err;
  });
  return { w: Array.from(params.subarray(0, d)), b: params[d] as number };
}

export interface Mlp {
  w1: number[][]; // [d][h]
  b1: number[];
  w2: number[]; // [h]
  b2: number;
}

export function mlpForward(m: Mlp, row: readonly number[]): { h: number[]; p: number } {
  const hidden = m.b1.length;
  const h = new Array<number>(hidden);
  for (let k = 0; k < hidden; k++) {
    let a = m.b1[k] as number;
    for (let j = 0; j < row.length; j++) a += (row[j] as number) * ((m.w1[j] as number[])[k] as number);
    h[k] = Math.max(a, 0);
  }
  let z = m.b2;
  for (let k = 0; k < hidden; k++) z += (h[k] as number) * (m.w2[k] as number);
  return { h, p: sigmoid(z) };
}

/** One-hidden-layer ReLU MLP with a sigmoid output, He-initialised from the seed. */
export function trainMlp(x: number[][], y: number[], hidden: number, o: TrainOptions): Mlp {
  const d = x[0]?.length ?? 0;
  const rand = rng(o.seed);
  const n1 = d * hidden;
  const size = n1 + hidden + hidden + 1;
  const params = new Float64Array(size);
  for (let i = 0; i < n1; i++) params[i] = normal(rand) * Math.sqrt(2 / d);
  for (let i = 0; i < hidden; i++) params[n1 + hidden + i] = normal(rand) * Math.sqrt(2 / hidden);
  const h = new Float64Array(hidden);
  minibatchAdam(params, x.length, n1, o, rand, (i, grad) => {
    const row = x[i] as number[];
    for (let k = 0; k < hidden; k++) {
      let a = params[n1 + k] as number;
      for (let j = 0; j < d; j++) a += (row[j] as number) * (params[j * hidden + k] as number);
      h[k] = Math.max(a, 0);
    }
    let z = params[size - 1] as number;
    for (let k = 0; k < hidden; k++) z += (h[k] as number) * (params[n1 + hidden + k] as number);
    const err = sigmoid(z) - (y[i] as number);
    grad[size - 1] = (grad[size - 1] as number) + err;
    for (let k = 0; k < hidden; k++) {
      const w2 = params[n1 + hidden + k] as number;
      grad[n1 + hidden + k] = (grad[n1 + hidden + k] as number) + err * (h[k] as number);
      if ((h[k] as number) <= 0) continue;
      const dh = err * w2;
      grad[n1 + k] = (grad[n1 + k] as number) + dh;
      for (let j = 0; j < d; j++)
        grad[j * hidden + k] = (grad[j * hidden + k] as number) + dh * (row[j] as number);
    }
  });
  const w1: number[][] = [];
  for (let j = 0; j < d; j++) w1.push(Array.from(params.subarray(j * hidden, (j + 1) * hidden)));
  return {
    w1,
    b1: Array.from(params.subarray(n1, n1 + hidden)),
    w2: Array.from(params.subarray(n1 + hidden, n1 + 2 * hidden)),
    b2: params[size - 1] as number,
  };
}

export function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Multinomial logistic regression. Returns weights [d][k] and biases [k]. */
export function trainSoftmax(
  x: number[][],
  y: number[],
  k: number,
  o: TrainOptions,
): { w: number[][]; b: number[] } {
  const d = x[0]?.length ?? 0;
  const size = d * k + k;
  const params = new Float64Array(size);
  minibatchAdam(params, x.length, d * k, o, rng(o.seed), (i, grad) => {
    const row = x[i] as number[];
    const z = new Array<number>(k);
    for (let c = 0; c < k; c++) {
      let a = params[d * k + c] as number;
      for (let j = 0; j < d; j++) a += (row[j] as number) * (params[j * k + c] as number);
      z[c] = a;
    }
    const p = softmax(z);
    for (let c = 0; c < k; c++) {
      const err = (p[c] as number) - (y[i] === c ? 1 : 0);
      grad[d * k + c] = (grad[d * k + c] as number) + err;
      for (let j = 0; j < d; j++) grad[j * k + c] = (grad[j * k + c] as number) + err * (row[j] as number);
    }
  });
  const w: number[][] = [];
  for (let j = 0; j < d; j++) w.push(Array.from(params.subarray(j * k, (j + 1) * k)));
  return { w, b: Array.from(params.subarray(d * k)) };
}

/** Area under the ROC curve by the rank-sum method (ties get average ranks). */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const r = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[idx[t] as number] = r;
    i = j + 1;
  }
  let pos = 0;
  let sum = 0;
  labels.forEach((l, i) => {
    if (l === 1) {
      pos++;
      sum += ranks[i] as number;
    }
  });
  const neg = labels.length - pos;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function logLoss(p: readonly number[], y: readonly number[]): number {
  let s = 0;
  p.forEach((v, i) => {
    const q = Math.min(Math.max(v, 1e-15), 1 - 1e-15);
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  });
  return s / p.length;
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** Rounds for manifests: stable text, no float noise in diffs. */
export function round(v: number, digits = 6): number {
  return Number(v.toPrecision(digits));
}
