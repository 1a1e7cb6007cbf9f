/**
 * Triton's HTTP extensions beyond the Open Inference Protocol, built from what infera already
 * knows: a version's configuration from its v2 metadata, the repository index from readiness, and
 * inference statistics from the Monitor's counts. tritonclient.http reads each with its own calls.
 */
import { InferaError } from '../errors.ts';
import type { InferenceStatistics, TritonModelConfig, V2ModelMetadata } from './schemas.ts';

/** Open Inference Protocol datatypes as Triton's configuration names them. */
const TRITON_TYPES: Readonly<Record<string, string>> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
};

const tritonType = (datatype: string) => TRITON_TYPES[datatype] ?? `TYPE_${datatype}`;

/** A version's configuration in Triton's JSON form (config.pbtxt), from its v2 metadata. */
export function tritonModelConfig(meta: V2ModelMetadata, imageInputs: readonly string[]): TritonModelConfig {
  return {
    name: meta.name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { specific: { versions: meta.versions.map(Number) } },
    max_batch_size: 0,
    input: meta.inputs.map((i) => ({
      name: i.name,
      data_type: tritonType(i.datatype),
      format: 'FORMAT_NONE',
      dims: [...i.shape],
    })),
    output: meta.outputs.map((o) => ({
      name: o.name,
      data_type: tritonType(o.datatype),
      dims: [...o.shape],
    })),
    parameters:
      imageInputs.length > 0 ? { infera_image_inputs: { string_value: imageInputs.join(',') } } : {},
    default_model_filename: 'model.onnx',
  };
}

/** One version's counts since its process started, as the Monitor keeps them. */
export interface VersionTotals {
  readonly name: string;
  readonly version: string;
  readonly lastAt: number;
  readonly requests: number;
  readonly rows: number;
  readonly failed: number;
  readonly latencySumMs: number;
}

const NS_PER_MS = 1e6;

/**
 * Triton's inference statistics from the Monitor's counts. infera times a request whole, so
 * success and compute_infer carry the same total; queue, input and output times are not split out.
 */
export function inferenceStatistics(totals: readonly VersionTotals[]): InferenceStatistics {
  return {
    model_stats: totals.map((t) => {
      const ok = t.requests - t.failed;
      const ns = Math.round(t.latencySumMs * NS_PER_MS);
      const none = { count: 0, ns: 0 };
      return {
        name: t.name,
        version: t.version,
        last_inference: t.lastAt,
        inference_count: t.rows,
        execution_count: ok,
        inference_stats: {
          success: { count: ok, ns },
          fail: { count: t.failed, ns: 0 },
          queue: none,
          compute_input: none,
          compute_infer: { count: ok, ns },
          compute_output: none,
          cache_hit: none,
          cache_miss: none,
        },
        batch_stats: [],
      };
    }),
  };
}

/**
 * Triton's load and unload: infera's models are deployed with the stack, not at run time. A 400,
 * as Triton answers an unsupported request, not a 5xx: nothing failed on the server.
 */
export function notLoadable(model: string): never {
  throw new InferaError(
    `Model '${model}' is deployed with the stack: load and unload are not supported. Release a version with \`infera release ${model} <version>\`, or add or remove its folder in models/ and deploy.`,
    { status: 400, code: 'unsupported' },
  );
}
