import type { Manifest } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';

/**
 * Input statistics for tensor, image and text models, where there are no named features to bin:
 * per image channel, per other numeric input, and tokens per text. Fixed size per model, read
 * from at most MAX_SAMPLED elements of each tensor, so a 640x640 image costs no more than a row.
 */

/** What is tracked: an input, or one channel of an image input, or a text's token count. */
export interface InputKey {
  readonly name: string;
  readonly channel?: number;
  readonly kind: 'values' | 'tokens';
}

/** count, sum, sum of squares, min, max: enough for mean and spread, and mergeable. */
export type InputMoments = readonly [number, number, number, number, number];

/** Elements read per tracked input per request, spread evenly over it (B7 watches the cost). */
export const MAX_SAMPLED = 4096;

export function inputKeys(m: Manifest): InputKey[] {
  if (m.inputs.kind !== 'tensors') return [];
  const keys: InputKey[] = [];
  for (const t of m.inputs.tensors) {
    if (t.tokens === 'mask') keys.push({ name: m.inputs.text?.field ?? t.name, kind: 'tokens' });
    else if (t.tokens) continue;
    else if (t.image) {
      const channels = t.image.colorOrder === 'GRAY' ? 1 : 3;
      for (let c = 0; c < channels; c++) keys.push({ name: t.name, channel: c, kind: 'values' });
    } else if (t.datatype !== 'BYTES') keys.push({ name: t.name, kind: 'values' });
  }
  return keys;
}

/** One request's moments per key, from the feeds the model ran on (the pre-processed tensors). */
export function inputMoments(m: Manifest, feeds: Record<string, HostTensor>): InputMoments[] {
  if (m.inputs.kind !== 'tensors') return [];
  const specs = new Map(m.inputs.tensors.map((t) => [t.name, t]));
  return inputKeys(m).map((key) => {
    const spec = [...specs.values()].find((t) =>
      key.kind === 'tokens' ? t.tokens === 'mask' : t.name === key.name,
    );
    const t = spec ? feeds[spec.name] : undefined;
    if (!t || Array.isArray(t.data)) return [0, 0, 0, 0, 0];
    const data = t.data as ArrayLike<number | bigint>;
    if (key.kind === 'tokens') {
      const [n = 0, len = 0] = t.dims;
      const out = moments();
      for (let i = 0; i < n; i++) {
        let count = 0;
        for (let j = 0; j < len; j++) count += Number(data[i * len + j]);
        add(out, count);
      }
      return out;
    }
    const out = moments();
    const image = spec?.image;
    if (image && key.channel !== undefined) {
      const [n = 0, a = 0, b = 0, c = 0] = t.dims;
      const nchw = image.layout === 'NCHW';
      const C = nchw ? a : c;
      const plane = nchw ? b * c : a * b;
      const per = n * plane;
      const step = Math.max(1, Math.floor(per / MAX_SAMPLED));
      for (let k = 0; k < per; k += step) {
        const i = Math.floor(k / plane);
        const p = k % plane;
        const at = nchw ? (i * C + key.channel) * plane + p : (i * plane + p) * C + key.channel;
        add(out, Number(data[at]));
      }
      return out;
    }
    const step = Math.max(1, Math.floor(data.length / MAX_SAMPLED));
    for (let k = 0; k < data.length; k += step) add(out, Number(data[k]));
    return out;
  });
}

function moments(): [number, number, number, number, number] {
  return [0, 0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
}

function add(m: [number, number, number, number, number], v: number): void {
  if (!Number.isFinite(v)) return;
  m[0]++;
  m[1] += v;
  m[2] += v * v;
  if (v < m[3]) m[3] = v;
  if (v > m[4]) m[4] = v;
}

/** Adds `b` into the running moments `a` (each count, sum, sum of squares, min, max). */
export function mergeMoments(a: Float64Array, b: InputMoments | Float64Array): void {
  const [n = 0, sum = 0, squares = 0, min = 0, max = 0] = b;
  if (n === 0) return;
  const empty = a[0] === 0;
  a[0] = (a[0] ?? 0) + n;
  a[1] = (a[1] ?? 0) + sum;
  a[2] = (a[2] ?? 0) + squares;
  a[3] = empty ? min : Math.min(a[3] ?? 0, min);
  a[4] = empty ? max : Math.max(a[4] ?? 0, max);
}

export function summarizeMoments(a: ArrayLike<number>): {
  count: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
} {
  const n = a[0] ?? 0;
  if (n === 0) return { count: 0, mean: null, std: null, min: null, max: null };
  const mean = (a[1] ?? 0) / n;
  const variance = Math.max(0, (a[2] ?? 0) / n - mean * mean);
  const r = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    count: n,
    mean: r(mean),
    std: r(Math.sqrt(variance)),
    min: r(a[3] ?? 0),
    max: r(a[4] ?? 0),
  };
}
