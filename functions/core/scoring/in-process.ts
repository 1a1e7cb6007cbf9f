/**
 * A model run in this process: feeds → one `session.run` → post-process → predictions (v1) or v2
 * outputs, with a processor.ts's preprocess and postprocess around v1 instances.
 */
import { InferaError } from '../errors.ts';
import { inputMoments } from '../monitoring/inputs.ts';
import { type Postprocess, type Preprocess, type ProcessorContext, runStep } from '../processor.ts';
import type { MatrixScores } from '../protocol/class-scores.ts';
import { asInstance } from '../protocol/decode-v1.ts';
import { outputNames, toMatrixScores, toPredictions, toV2Outputs } from '../protocol/encode.ts';
import type { InferRequest } from '../protocol/schemas.ts';
import { postprocess } from '../tensor/postprocess.ts';
import { feedsV1, feedsV2 } from './feeds.ts';
import { resolveImages } from './images.ts';
import type { PreparedVersions } from './prepared.ts';
import type { Inferred, Prepared, Scored, ScoreOptions } from './types.ts';

/** v1 in this process: preprocess each instance, score them in one run, postprocess each prediction. */
export async function scoreInProcess(
  versions: PreparedVersions,
  p: Prepared,
  instances: readonly unknown[],
  opts: ScoreOptions = {},
): Promise<Scored> {
  const { mv } = p;
  const proc = await versions.processor(mv);
  const ctx: ProcessorContext = { model: mv.name, version: mv.version, manifest: mv.manifest };
  const input = proc?.preprocess
    ? await Promise.all(
        instances.map((inst, i) =>
          runStep(
            () => (proc.preprocess as Preprocess)(asInstance(inst, i), ctx),
            ctx,
            'processor preprocess',
            `instances[${i}]`,
          ),
        ),
      )
    : instances;
  const m = mv.manifest;
  const { feeds, rows } = feedsV1(mv, input, p.schema, await versions.text(mv));
  await resolveImages(feeds, versions.images, opts);
  const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
  const predictions = toPredictions(m, out, rows ? rows.length : input.length);
  const inputs = m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined;
  const answered = proc?.postprocess
    ? await Promise.all(
        predictions.map((pred, i) =>
          runStep(
            () => (proc.postprocess as Postprocess)(pred, input[i] as Record<string, unknown>, ctx),
            ctx,
            'processor postprocess',
            `predictions[${i}]`,
          ),
        ),
      )
    : predictions;
  return { predictions: answered, served: { target: 'lambda' }, ...(inputs ? { inputs } : {}) };
}

/** v2 in this process: one run, the outputs the request asked for, and what monitoring needs. */
export async function inferInProcess(
  versions: PreparedVersions,
  p: Prepared,
  req: InferRequest,
  opts: ScoreOptions,
): Promise<Inferred> {
  const { mv } = p;
  const m = mv.manifest;
  const { feeds, n, rows } = feedsV2(mv, req, p.schema, opts, await versions.text(mv));
  await resolveImages(feeds, versions.images, opts);
  const inputs = m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined;
  const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
  let outputs = toV2Outputs(m, out, n);
  if (req.outputs) {
    const wanted = new Set(req.outputs.map((o) => o.name));
    outputs = outputs.filter((o) => wanted.has(o.name));
  }
  return {
    response: {
      model_name: mv.name,
      model_version: mv.version,
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs,
    },
    served: { target: 'lambda' },
    ...(rows ? { rows } : {}),
    ...(inputs ? { inputs } : {}),
  };
}

/**
 * A tabular model's rows already checked and encoded as its input matrix (the batch worker's fast
 * path): one run, post-processing, predictions. No second validation.
 */
export async function scoreMatrix(p: Prepared, x: Float32Array, rows: number): Promise<MatrixScores> {
  const m = p.mv.manifest;
  if (m.inputs.kind !== 'tabular') throw new InferaError(`Model '${p.mv.name}' is not tabular.`);
  const feeds = {
    [m.inputs.tensor]: { type: 'float32' as const, data: x, dims: [rows, m.inputs.features.length] },
  };
  const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
  return toMatrixScores(m, out, rows);
}
