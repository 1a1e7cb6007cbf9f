/**
 * Wire schemas of Triton's HTTP extensions that tritonclient.http calls beyond the Open Inference
 * Protocol: model configuration, the repository index and inference statistics. Imported after
 * the other wire schemas (schemas.ts), so /openapi.json lists them last.
 */
import * as z from 'zod';

const tensorConfig = z.object({
  name: z.string(),
  data_type: z.string().describe("Triton's type name, e.g. TYPE_FP32, TYPE_STRING."),
  dims: z.array(z.number().int()).describe('-1 for a dimension of any size; the batch dimension included.'),
});

export const tritonModelConfigSchema = z
  .object({
    name: z.string(),
    platform: z.literal('onnxruntime_onnx'),
    backend: z.literal('onnxruntime'),
    version_policy: z.object({ specific: z.object({ versions: z.array(z.number().int()) }) }),
    max_batch_size: z.literal(0).describe('0: dims carry the batch dimension themselves.'),
    input: z.array(tensorConfig.extend({ format: z.literal('FORMAT_NONE') })),
    output: z.array(tensorConfig),
    parameters: z
      .record(z.string(), z.object({ string_value: z.string() }))
      .describe('infera_image_inputs: inputs that also take PNG or JPEG files as BYTES elements.'),
    default_model_filename: z.literal('model.onnx'),
  })
  .meta({ id: 'TritonModelConfig' });
export type TritonModelConfig = z.infer<typeof tritonModelConfigSchema>;

export const repositoryIndexSchema = z
  .array(
    z.object({
      name: z.string(),
      version: z.string(),
      state: z.enum(['READY', 'UNAVAILABLE']),
      reason: z.string(),
    }),
  )
  .meta({ id: 'RepositoryIndex' });

const duration = z.object({ count: z.number().int(), ns: z.number().int() });

export const inferenceStatisticsSchema = z
  .object({
    model_stats: z.array(
      z.object({
        name: z.string(),
        version: z.string(),
        last_inference: z
          .number()
          .int()
          .describe('Epoch milliseconds of the last request; 0 before the first.'),
        inference_count: z.number().int().describe('Rows answered.'),
        execution_count: z.number().int().describe('Requests answered.'),
        inference_stats: z.object({
          success: duration,
          fail: duration,
          queue: duration,
          compute_input: duration,
          compute_infer: duration,
          compute_output: duration,
          cache_hit: duration,
          cache_miss: duration,
        }),
        batch_stats: z.array(z.unknown()),
      }),
    ),
  })
  .meta({ id: 'InferenceStatistics' });
export type InferenceStatistics = z.infer<typeof inferenceStatisticsSchema>;
