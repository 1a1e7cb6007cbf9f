import { InferaError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { numbersOf } from './to-json.ts';

/**
 * Post-processing declared in the manifest, applied to the graph's outputs before they become
 * predictions: softmax or sigmoid over a classifier's logits, and an embedder's pooling (mean over
 * the attention mask, or the first token) with optional L2 normalization.
 */

/** The outputs with the manifest's activation and pooling applied to `outputs.tensor`. */
export function postprocess(
  m: Manifest,
  out: Record<string, HostTensor>,
  feeds: Record<string, HostTensor>,
): Record<string, HostTensor> {
  const name = m.outputs.tensor;
  const o = m.outputs;
  if (!name || (!o.activation && m.task !== 'embedding')) return out;
  const t = out[name];
  if (!t) throw new InferaError(`Model produced no output '${name}'.`);
  let result: HostTensor = t;
  if (m.task === 'embedding') result = pool(t, maskOf(m, feeds), o.pooling ?? 'none', o.normalize ?? false);
  if (o.activation === 'softmax') result = softmaxRows(result);
  else if (o.activation === 'sigmoid') result = sigmoid(result);
  return { ...out, [name]: result };
}

function maskOf(m: Manifest, feeds: Record<string, HostTensor>): HostTensor | undefined {
  if (m.inputs.kind !== 'tensors') return undefined;
  const spec = m.inputs.tensors.find((s) => s.tokens === 'mask');
  return spec ? feeds[spec.name] : undefined;
}

/** Softmax over the last dimension, computed in float64 and stable for large logits. */
export function softmaxRows(t: HostTensor): HostTensor {
  const d = numbersOf(t);
  const k = t.dims[t.dims.length - 1] ?? 1;
  const out = new Float32Array(d.length);
  for (let r = 0; r < d.length; r += k) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) max = Math.max(max, d[r + c] ?? 0);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp((d[r + c] ?? 0) - max);
    for (let c = 0; c < k; c++) out[r + c] = Math.exp((d[r + c] ?? 0) - max) / sum;
  }
  return { type: 'float32', data: out, dims: t.dims };
}

export function sigmoid(t: HostTensor): HostTensor {
  const d = numbersOf(t);
  return { type: 'float32', data: Float32Array.from(d, (v) => 1 / (1 + Math.exp(-v))), dims: t.dims };
}

/**
 * [N, L, D] token states to [N, D]: the mean over the tokens the mask keeps (all tokens without a
 * mask), or the first token (CLS). An [N, D] output is taken as it is. Then optionally L2-normalized.
 */
export function pool(
  t: HostTensor,
  mask: HostTensor | undefined,
  pooling: 'mean' | 'cls' | 'none',
  normalize: boolean,
): HostTensor {
  const d = numbersOf(t);
  let n: number;
  let dim: number;
  let out: Float32Array;
  if (t.dims.length === 3 && pooling !== 'none') {
    const [N, L, D] = t.dims as [number, number, number];
    // Masks are INT64 or INT32 token tensors: read them as plain numbers.
    const keep = mask ? Array.from(mask.data as ArrayLike<number | bigint>, Number) : undefined;
    n = N;
    dim = D;
    out = new Float32Array(N * D);
    for (let i = 0; i < N; i++) {
      if (pooling === 'cls') {
        for (let k = 0; k < D; k++) out[i * D + k] = d[i * L * D + k] ?? 0;
        continue;
      }
      let count = 0;
      const sum = new Float64Array(D);
      for (let j = 0; j < L; j++) {
        const w = keep ? (keep[i * L + j] ?? 0) : 1;
        if (w === 0) continue;
        count += w;
        for (let k = 0; k < D; k++) sum[k] = (sum[k] ?? 0) + w * (d[(i * L + j) * D + k] ?? 0);
      }
      for (let k = 0; k < D; k++) out[i * D + k] = count > 0 ? (sum[k] ?? 0) / count : 0;
    }
  } else if (t.dims.length === 2) {
    [n, dim] = t.dims as [number, number];
    out = Float32Array.from(d);
  } else {
    throw new InferaError(
      `Embedding output has shape [${t.dims.join(', ')}]; expected [N, D], or [N, L, D] with pooling "mean" or "cls".`,
    );
  }
  if (normalize) {
    for (let i = 0; i < n; i++) {
      let norm = 0;
      for (let k = 0; k < dim; k++) norm += (out[i * dim + k] ?? 0) ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let k = 0; k < dim; k++) out[i * dim + k] = (out[i * dim + k] ?? 0) / norm;
    }
  }
  return { type: 'float32', data: out, dims: [n, dim] };
}

/** The k most probable labels of one row, best first. */
export function topK(
  probabilities: ArrayLike<number>,
  labels: readonly string[],
  k: number,
): { label: string; score: number }[] {
  return Array.from(probabilities, (score, c) => ({ label: labels[c] ?? '', score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
