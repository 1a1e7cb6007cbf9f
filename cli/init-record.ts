/**
 * `infera init --sample`, second half: runs the sample through the drafted version exactly as
 * npm start scores v1 requests, and writes what it learnt: fixtures/golden.json (the answers any
 * deployment of this version must reproduce) and trainingStats (feature quantiles and drift bins,
 * the score's distribution, tensor inputs' moments after pre-processing).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { scoreOf } from '#core/monitoring/counters.ts';
import { inputKeys, mergeMoments, summarizeMoments } from '#core/monitoring/inputs.ts';
import type { Prediction } from '#core/protocol/schemas.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { frequencyStats, numericStats } from '../scripts/lib/training-stats.ts';
import { goldenInstances } from './init-sample.ts';

/** Golden fixtures compare numbers within this: float32 arithmetic on another CPU stays inside it. */
export const GOLDEN_TOLERANCE = 1e-4;

export interface Recorded {
  readonly golden: { description: string; tolerance: number; instances: unknown[]; expected: Prediction[] };
  readonly trainingStats: Record<string, unknown>;
  readonly rows: number;
}

/** Instances per scoring call: images are decoded four to a request, as the API allows. */
function chunkSize(mv: ModelVersion): number {
  const m = mv.manifest;
  if (m.inputs.kind === 'tensors' && m.inputs.tensors.some((t) => t.image)) return 4;
  return m.inputs.kind === 'tabular' ? 1024 : 64;
}

export async function recordSample(
  models: string,
  name: string,
  version: string,
  instances: readonly Record<string, unknown>[],
  source: string,
  progress: (done: number, total: number) => void,
): Promise<Recorded> {
  const registry = await ModelRegistry.load(models, { only: [name] });
  const mv = registry.get(name).versions.find((v) => v.version === version);
  if (!mv) throw new Error(`${name}@${version} did not load`);
  const scorer = new Scorer(
    registry,
    new OnnxRuntimeEngine(),
    { intraOpThreads: 1, interOpThreads: 1 },
    { serveAll: true },
  );
  const keys = inputKeys(mv.manifest);
  const moments = keys.map(() => new Float64Array(5));
  const scores: number[] = [];
  const size = chunkSize(mv);
  for (let i = 0; i < instances.length; i += size) {
    const chunk = instances.slice(i, i + size);
    let r: Awaited<ReturnType<Scorer['run']>>;
    try {
      r = await scorer.run(mv, { protocol: 'v1', instances: chunk });
    } catch (err) {
      throw Object.assign(err as Error, { sampleRow: i });
    }
    for (const p of r.predictions) {
      const s = scoreOf(p);
      if (s !== undefined && Number.isFinite(s)) scores.push(s);
    }
    r.inputs?.forEach((m, k) => {
      mergeMoments(moments[k] as Float64Array, m);
    });
    progress(Math.min(i + size, instances.length), instances.length);
  }

  const kept = goldenInstances(instances);
  const expected = await scorer.predict(mv, kept);
  const golden = {
    description: `Recorded by infera init from ${source}: the answers this version gave here, which every deployment of it must reproduce within the tolerance. Replace them with answers computed by your training code to check the exported graph too.`,
    tolerance: GOLDEN_TOLERANCE,
    instances: kept,
    expected,
  };

  const stats: Record<string, unknown> = { rows: instances.length, features: featureStats(mv, instances) };
  if (scores.length > 0) stats.score = withoutMissing(numericStats(scores));
  if (keys.length > 0) {
    const inputs: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      const s = summarizeMoments(moments[i] as Float64Array);
      if (s.count === 0 || s.mean === null) return;
      const key = k.channel === undefined ? k.name : `${k.name}[${k.channel}]`;
      const shape =
        k.channel === undefined && k.kind === 'values' ? shapeOf(instances[0]?.[k.name]) : undefined;
      inputs[key] = { mean: s.mean, std: s.std, min: s.min, max: s.max, ...(shape?.length ? { shape } : {}) };
    });
    if (Object.keys(inputs).length > 0) stats.inputs = inputs;
  }
  return { golden, trainingStats: stats, rows: instances.length };
}

/** A nested array's dimensions, outermost first: [] for a scalar. */
function shapeOf(v: unknown): number[] {
  const dims: number[] = [];
  for (let node = v; Array.isArray(node); node = node[0]) dims.push(node.length);
  return dims;
}

/** The score's stats carry no missing rate (every prediction has a score). */
function withoutMissing(s: ReturnType<typeof numericStats>) {
  const { missingRate: _, ...rest } = s;
  return rest;
}

/** Per tabular feature: numbers' quantiles and bins, booleans' frequencies, as training writes them. */
function featureStats(
  mv: ModelVersion,
  instances: readonly Record<string, unknown>[],
): Record<string, unknown> {
  const m = mv.manifest;
  if (m.inputs.kind !== 'tabular') return {};
  const out: Record<string, unknown> = {};
  for (const f of m.inputs.features) {
    const values = instances.map((r) => r[f.name]);
    if (f.type === 'boolean' || f.type === 'categorical') {
      const present = values.filter((v) => v !== null && v !== undefined).map(String);
      out[f.name] = {
        ...frequencyStats(present),
        missingRate: Number((1 - present.length / values.length).toPrecision(6)),
      };
    } else {
      const nums = values.map((v) => (typeof v === 'number' ? v : null));
      if (nums.every((v) => v === null)) continue;
      out[f.name] = numericStats(nums);
    }
  }
  return out;
}

/** Writes fixtures/golden.json beside model.json. */
export async function writeGolden(dir: string, golden: Recorded['golden']): Promise<string> {
  await mkdir(join(dir, 'fixtures'), { recursive: true });
  const file = join(dir, 'fixtures', 'golden.json');
  await writeFile(file, `${JSON.stringify(golden, null, 2)}\n`);
  return file;
}
