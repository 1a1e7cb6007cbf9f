/**
 * A model run in this process: feeds → one `session.run` → post-process → predictions (v1) or v2
 * outputs. A processor.ts's postprocess runs for both protocols: the fields it adds to a
 * prediction become output tensors of their own in a v2 answer. Its preprocess turns what a v1
 * client sends into the model's declared inputs; a v2 request already comes as those inputs (the
 * ones its metadata lists), so it starts after the preprocess.
 */
import { InferaError } from '../errors.ts';
import { inputMoments } from '../monitoring/inputs.ts';
import { type ProcessorContext, runStep } from '../processor.ts';
import { binaryOutputNames } from '../protocol/binary-outputs.ts';
import type { MatrixScores } from '../protocol/class-scores.ts';
import { type InferenceRequest, scorePredictions } from '../protocol/codec.ts';
import { asInstance } from '../protocol/decode-v1.ts';
import { outputNames, toMatrixScores, toPredictions, toV2Outputs } from '../protocol/encode.ts';
import { processorOutputs } from '../protocol/processor-outputs.ts';
import type { InferRequest, Prediction } from '../protocol/schemas.ts';
import { postprocess } from '../tensor/postprocess.ts';
import { checkRequestedOutputs, feedsV1, feedsV2 } from './feeds.ts';
import { resolveImages } from './images.ts';
import type { PreparedVersions } from './prepared.ts';
import type { Prepared, ScoreOptions, ScoreResult } from './types.ts';

/** A decoded request, scored here. */
export function runInProcess(
  versions: PreparedVersions,
  p: Prepared,
  request: InferenceRequest,
  opts: ScoreOptions = {},
): Promise<ScoreResult> {
  if (request.protocol === 'v1') return scoreV1(versions, p, request.instances, opts);
  return inferV2(versions, p, request.request, opts);
}

const contextOf = (p: Prepared): ProcessorContext => ({
  model: p.mv.name,
  version: p.mv.version,
  manifest: p.mv.manifest,
});

/** Each instance through the processor's preprocess, when it has one. */
async function preprocessed(
  p: Prepared,
  instances: readonly unknown[],
): Promise<readonly Record<string, unknown>[]> {
  const pre = p.processor?.preprocess;
  const rows = instances.map((inst, i) => asInstance(inst, i));
  if (!pre) return rows;
  const ctx = contextOf(p);
  return Promise.all(
    rows.map((inst, i) => runStep(() => pre(inst, ctx), ctx, 'processor preprocess', `instances[${i}]`)),
  );
}

/** Each prediction through the processor's postprocess, with the instance it answers. */
async function postprocessed(
  p: Prepared,
  predictions: readonly Prediction[],
  instances: readonly Record<string, unknown>[] | undefined,
): Promise<Prediction[]> {
  const post = p.processor?.postprocess;
  if (!post) return [...predictions];
  const ctx = contextOf(p);
  return Promise.all(
    predictions.map((pred, i) =>
      runStep(() => post(pred, instances?.[i] ?? {}, ctx), ctx, 'processor postprocess', `predictions[${i}]`),
    ),
  );
}

/** v1 in this process: preprocess each instance, score them in one run, postprocess each prediction. */
async function scoreV1(
  versions: PreparedVersions,
  p: Prepared,
  instances: readonly unknown[],
  opts: ScoreOptions,
): Promise<ScoreResult> {
  const m = p.mv.manifest;
  const input = p.processor?.preprocess ? await preprocessed(p, instances) : instances;
  const { feeds, rows } = feedsV1(p.mv, input, p.schema, p.text);
  await resolveImages(feeds, versions.images, opts);
  const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
  const predictions = toPredictions(m, out, rows ? rows.length : input.length);
  const inputs = m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined;
  const answered = p.processor?.postprocess
    ? await postprocessed(
        p,
        predictions,
        input.map((x, i) => asInstance(x, i)),
      )
    : predictions;
  return {
    predictions: answered,
    served: { target: 'lambda' },
    inputs,
    rows: instances,
    count: answered.length,
  };
}

/** v2 in this process: one run, the outputs the request asked for, and what monitoring needs. */
async function inferV2(
  versions: PreparedVersions,
  p: Prepared,
  req: InferRequest,
  opts: ScoreOptions,
): Promise<ScoreResult> {
  const { mv } = p;
  const m = mv.manifest;
  const { feeds, n, rows } = feedsV2(mv, req, p.schema, opts, p.text);
  await resolveImages(feeds, versions.images, opts);
  const inputs = m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined;
  const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
  // Outputs the caller wants as binary data stay the engine's typed tensors until their bytes.
  let outputs = toV2Outputs(m, out, n, binaryOutputNames(req, outputNames(m)));
  if (p.processor?.postprocess) {
    const predictions = toPredictions(m, out, n);
    outputs = [...outputs, ...processorOutputs(predictions, await postprocessed(p, predictions, rows))];
  }
  if (req.outputs) {
    checkRequestedOutputs(
      req,
      outputs.map((o) => o.name),
    );
    const wanted = new Set(req.outputs.map((o) => o.name));
    outputs = outputs.filter((o) => wanted.has(o.name));
  }
  const response = {
    model_name: mv.name,
    model_version: mv.version,
    ...(req.id !== undefined ? { id: req.id } : {}),
    outputs,
  };
  return {
    response,
    predictions: scorePredictions(response),
    served: { target: 'lambda' },
    rows,
    inputs,
    count: response.outputs[0]?.shape[0] ?? 0,
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
