/**
 * Traffic for tensor and image models: v2 requests whose inputs are drawn from the model's
 * trainingStats.inputs (each element from a normal with the input's mean and spread, kept within
 * its min and max; an image channel by channel, as the pre-processed tensor the model runs on), so
 * the dashboard's input statistics sit on training until an input is drifted.
 */

import type { TensorSpec } from '#core/model/manifest/inputs.ts';
import type { Manifest } from '#core/model/manifest.ts';

type InputStats = NonNullable<NonNullable<Manifest['trainingStats']>['inputs']>[string];

const INTEGER = new Set(['INT8', 'UINT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'INT64', 'UINT64']);

/** Why a model's inputs cannot be made up, or undefined when they can. */
export function tensorTrafficProblem(m: Manifest): string | undefined {
  if (m.inputs.kind !== 'tensors') return undefined;
  if (m.inputs.text)
    return `${m.name} takes text, and the traffic generator cannot make up text; send recorded requests instead.`;
  const stats = m.trainingStats?.inputs;
  if (!stats)
    return `${m.name}'s manifest has no trainingStats.inputs, so there is no training distribution to draw tensors from. Record it from sample data: npx infera init <model.onnx> --sample <rows.jsonl|images folder> (docs/models.md).`;
  for (const t of m.inputs.tensors) {
    if (t.datatype === 'BYTES')
      return `${m.name}'s input '${t.name}' holds strings, which the traffic generator cannot make up.`;
    const own = t.image ? stats[`${t.name}[0]`] : stats[t.name];
    if (!own) return `${m.name}'s trainingStats.inputs has nothing for '${t.name}'${t.image ? '[0]' : ''}.`;
    const dynamic = t.shape.slice(1).includes(-1);
    if (!t.image && dynamic && !own.shape)
      return `${m.name}'s input '${t.name}' has dynamic dimensions ([${t.shape.join(', ')}]) and its trainingStats.inputs entry no "shape" to fill them.`;
  }
  return undefined;
}

/** One instance's dimensions for a tensor input (no batch dimension); the image's for an image input. */
function instanceDims(t: TensorSpec, stats: InputStats | undefined): number[] {
  if (t.shape.length === 0) return [];
  const inner = t.shape.slice(1);
  if (t.image) {
    // [C, H, W] or [H, W, C]; a dynamic width (fit-height) is drawn square.
    const [a = 1, b = 1, c = 1] = inner;
    return t.image.layout === 'NCHW' ? [a, b, c === -1 ? b : c] : [a, b === -1 ? a : b, c];
  }
  if (!inner.includes(-1)) return inner;
  const seen = stats?.shape ?? [];
  return inner.map((d, i) => (d === -1 ? (seen[i] ?? 1) : d));
}

/** A normal draw (Box-Muller) within [min, max]. */
function draw(s: { mean: number; std: number; min: number; max: number }, rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return Math.min(s.max, Math.max(s.min, s.mean + s.std * z));
}

/**
 * Makes v2 infer requests of `batch` instances (inputs without a batch dimension are sent once),
 * `drift.input` scaled by `drift.factor`.
 */
export function tensorRequestSampler(
  m: Manifest,
  batch: number,
  rand: () => number,
  drift?: { readonly input: string; readonly factor: number },
): () => { inputs: { name: string; datatype: string; shape: number[]; data: (number | boolean)[] }[] } {
  if (m.inputs.kind !== 'tensors') throw new Error('tensorRequestSampler takes a tensors model');
  const stats = m.trainingStats?.inputs ?? {};
  const specs = m.inputs.tensors;
  return () => ({
    inputs: specs.map((t) => {
      const dims = instanceDims(t, stats[t.name]);
      const shape =
        t.shape.length === 0
          ? []
          : t.shape[0] === -1
            ? [batch, ...dims]
            : t.shape.map((d) => (d === -1 ? 1 : d));
      const total = shape.reduce((a, b) => a * b, 1);
      const factor = drift?.input === t.name ? drift.factor : 1;
      const data: (number | boolean)[] = new Array(total);
      const channels = t.image ? (t.image.colorOrder === 'GRAY' ? 1 : 3) : 1;
      const nchw = t.image?.layout !== 'NHWC';
      const plane = t.image ? (nchw ? (dims[1] ?? 1) * (dims[2] ?? 1) : 1) : 1;
      for (let k = 0; k < total; k++) {
        const c = t.image ? (nchw ? Math.floor(k / plane) % channels : k % channels) : 0;
        const s = (t.image ? stats[`${t.name}[${c}]`] : stats[t.name]) as InputStats;
        let v = draw(s, rand) * factor;
        if (t.datatype === 'BOOL') {
          data[k] = v >= 0.5;
          continue;
        }
        if (INTEGER.has(t.datatype)) v = Math.round(v);
        data[k] = v;
      }
      return { name: t.name, datatype: t.datatype, shape, data };
    }),
  });
}
