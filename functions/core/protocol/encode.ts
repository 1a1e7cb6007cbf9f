import { InferaError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { topK } from '../tensor/postprocess.ts';
import { TYPE_TO_DATATYPE } from '../tensor/tensors.ts';
import { nest, numbersOf, tensorToJson } from '../tensor/to-json.ts';
import { ClassScores, type MatrixScores } from './class-scores.ts';
import type { InferOutput, Prediction } from './schemas.ts';

/** Encode: a graph's outputs, post-processed, as v1 predictions or v2 outputs, as the manifest maps them. */
export function outputNames(m: Manifest): string[] {
  return m.task === 'tensor' ? (m.outputs.tensors ?? []).map((t) => t.name) : [m.outputs.tensor];
}

function requireOutput(out: Record<string, HostTensor>, name: string): HostTensor {
  const t = out[name];
  if (!t) throw new InferaError(`Model produced no output '${name}'.`);
  return t;
}

/** Column count per row of a [N, K] (or [N]) score tensor, checked against the labels. */
function columns(m: Manifest, t: HostTensor, n: number): number {
  const k = n === 0 ? 0 : t.data.length / n;
  const labels = m.outputs.labels;
  if (m.task === 'multiclass-classification' && labels && k !== labels.length) {
    throw new InferaError(
      `Model output '${m.outputs.tensor}' has ${k} columns but the manifest lists ${labels.length} labels.`,
    );
  }
  if (m.task === 'binary-classification' && k !== 1 && k !== 2) {
    throw new InferaError(`Binary model output '${m.outputs.tensor}' must have 1 or 2 columns, has ${k}.`);
  }
  return k;
}

/** Maps raw outputs to v1 predictions: label, score and probabilities, or a value, or raw tensors. */
export function toPredictions(m: Manifest, out: Record<string, HostTensor>, n: number): Prediction[] {
  const preds: Prediction[] = new Array(n);
  if (m.task === 'tensor') {
    const specs = m.outputs.tensors ?? [];
    const flat = specs.map((s) => {
      const t = requireOutput(out, s.name);
      return { name: s.name, t, json: tensorToJson(t) };
    });
    for (let i = 0; i < n; i++) {
      const p: Prediction = {};
      for (const { name, t, json } of flat) {
        const per = json.length / n;
        p[name] = nest(json.slice(i * per, (i + 1) * per), t.dims.slice(1));
      }
      preds[i] = p;
    }
    return preds;
  }
  const t = requireOutput(out, m.outputs.tensor);
  const d = numbersOf(t);
  if (m.task === 'embedding') {
    const dim = t.dims[1] ?? 0;
    for (let i = 0; i < n; i++) preds[i] = { embedding: Array.from(d.subarray(i * dim, (i + 1) * dim)) };
    return preds;
  }
  const k = columns(m, t, n);
  if (m.task === 'regression') {
    for (let i = 0; i < n; i++)
      preds[i] = { value: k === 1 ? (d[i] ?? 0) : Array.from(d.subarray(i * k, (i + 1) * k)) };
    return preds;
  }
  const cs = new ClassScores(m, d, n, k);
  const labels = cs.labels;
  const width = m.task === 'binary-classification' ? 2 : k;
  const top = m.task === 'multiclass-classification' ? m.outputs.topK : undefined;
  for (let i = 0; i < n; i++) {
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < width; c++) probabilities[labels[c] ?? ''] = cs.probability(i, c);
    const p: Prediction = { label: cs.label(i), score: cs.score(i), probabilities };
    if (top) p.top = topK(d.subarray(i * k, (i + 1) * k), labels, top);
    preds[i] = p;
  }
  return preds;
}

/** Outputs of a matrix of rows: predictions on demand, and a classifier's answers in place. */
export function toMatrixScores(m: Manifest, out: Record<string, HostTensor>, n: number): MatrixScores {
  const predictions = () => toPredictions(m, out, n);
  if (m.task !== 'binary-classification' && m.task !== 'multiclass-classification')
    return { rows: n, predictions };
  const t = requireOutput(out, m.outputs.tensor);
  return { rows: n, classes: new ClassScores(m, numbersOf(t), n, columns(m, t, n)), predictions };
}

/**
 * The graph's outputs as v2 outputs. An output named in `binary` that is a graph tensor as it is
 * (task "tensor", an FP32 embedding) keeps that tensor, typed, for the binary encode; the rest
 * carry JSON data.
 */
export function toV2Outputs(
  m: Manifest,
  out: Record<string, HostTensor>,
  n: number,
  binary: ReadonlySet<string> = new Set(),
): InferOutput[] {
  const direct = (name: string, t: HostTensor, datatype: string): InferOutput =>
    binary.has(name) && TYPE_TO_DATATYPE[t.type] === datatype
      ? { name, datatype, shape: [...t.dims], tensor: t }
      : { name, datatype, shape: [...t.dims], data: tensorToJson(t) };
  if (m.task === 'tensor') {
    return m.outputs.tensors.map((s) => {
      const t = requireOutput(out, s.name);
      return direct(s.name, t, TYPE_TO_DATATYPE[t.type]);
    });
  }
  const t = requireOutput(out, m.outputs.tensor);
  if (m.task === 'embedding') return [direct('embedding', t, 'FP32')];
  const k = columns(m, t, n);
  const values = tensorToJson(t) as number[];
  if (m.task === 'regression') {
    return [{ name: 'value', datatype: 'FP32', shape: k === 1 ? [n] : [n, k], data: values }];
  }
  const preds = toPredictions(m, out, n);
  const labels = m.outputs.labels ?? [];
  const probabilities =
    m.task === 'binary-classification' && k === 1 ? values.flatMap((p) => [1 - p, p]) : values;
  return [
    {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [n, labels.length],
      parameters: { labels },
      data: probabilities,
    },
    { name: 'label', datatype: 'BYTES', shape: [n], data: preds.map((p) => p.label) },
    { name: 'score', datatype: 'FP32', shape: [n], data: preds.map((p) => p.score) },
  ];
}

export function v2OutputMetadata(m: Manifest): { name: string; datatype: string; shape: number[] }[] {
  if (m.task === 'tensor')
    return (m.outputs.tensors ?? []).map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
  if (m.task === 'regression') return [{ name: 'value', datatype: 'FP32', shape: [-1] }];
  if (m.task === 'embedding') return [{ name: 'embedding', datatype: 'FP32', shape: [-1, -1] }];
  return [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, m.outputs.labels?.length ?? -1] },
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'score', datatype: 'FP32', shape: [-1] },
  ];
}
