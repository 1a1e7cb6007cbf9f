import * as z from 'zod';
import type { HostTensor } from '../ports.ts';

/**
 * Wire schemas for the v1 API and the Open Inference Protocol v2. They validate requests at the
 * edge and generate `/openapi.json`, so the docs cannot drift from what the code accepts.
 */

/** Element issues reported per array at most: a million bad elements are one short answer. */
const MAX_ELEMENT_ISSUES = 10;

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An array checked where it lies. z.array() copies the array and allocates a result per element:
 * a 5 MB body of a million numbers cost 100 ms and about 80 MB, which stayed resident after the
 * request. This checks the length and, when asked, that each element is an
 * object, with the same issues z.array() would give; the seam checks the values against the model.
 * `json` is its JSON Schema, so /openapi.json is unchanged.
 */
function arrayInPlace<T>(opts: { min?: number; objects?: boolean; json: Record<string, unknown> }) {
  return z
    .custom<T[]>()
    .superRefine((v: unknown, ctx) => {
      if (!Array.isArray(v)) {
        ctx.addIssue({ code: 'invalid_type', expected: 'array', input: v });
        return;
      }
      if (opts.min !== undefined && v.length < opts.min) {
        ctx.addIssue({ code: 'too_small', origin: 'array', minimum: opts.min, inclusive: true, input: v });
      }
      if (!opts.objects) return;
      let issues = 0;
      for (let i = 0; i < v.length && issues < MAX_ELEMENT_ISSUES; i++) {
        if (isObject(v[i])) continue;
        ctx.addIssue({ code: 'invalid_type', expected: 'object', input: v[i], path: [i] });
        issues++;
      }
    })
    .meta(opts.json);
}

export const errorResponseSchema = z
  .object({
    error: z.string().describe('What went wrong and how to fix it.'),
    code: z.string().describe('Stable machine-readable code, e.g. invalid_request.'),
    details: z.array(z.string()).optional().describe('One line per problem, each naming the field path.'),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Error' });

export const livenessSchema = z.object({ live: z.literal(true) }).meta({ id: 'Liveness' });

/** /openapi.json: an OpenAPI 3.1 document (validated as such by the tests). */
export const openApiDocumentSchema = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: 'OpenApiDocument' });

export const readinessSchema = z
  .object({
    ready: z.boolean(),
    name: z.string().optional(),
    version: z.string().optional(),
    reason: z.string().optional().describe('Why not ready, and whether a fallback answers meanwhile.'),
    models: z
      .array(z.object({ name: z.string(), version: z.string(), ready: z.boolean(), reason: z.string() }))
      .optional()
      .describe('Server readiness: each live version that cannot answer now, and why.'),
  })
  .meta({ id: 'Readiness' });

export const predictRequestSchema = z
  .strictObject({
    instances: arrayInPlace<Record<string, unknown>>({
      min: 1,
      objects: true,
      json: {
        type: 'array',
        items: { type: 'object', properties: {}, additionalProperties: {} },
        minItems: 1,
      },
    })
      // Any object, not copied: the model's own instance schema checks the fields next.
      .describe('One object per row. Fields follow the model input schema from GET /v1/models/{model}.'),
  })
  .meta({ id: 'PredictRequest' });
export type PredictRequest = z.infer<typeof predictRequestSchema>;

export const predictionSchema = z
  .object({
    label: z.string().optional().describe('Classification: the chosen label.'),
    score: z
      .number()
      .optional()
      .describe('Binary: probability of the positive label. Multiclass: of the chosen label.'),
    probabilities: z
      .record(z.string(), z.number())
      .optional()
      .describe('Classification: probability per label.'),
    value: z
      .union([z.number(), z.array(z.number())])
      .optional()
      .describe('Regression: the predicted value(s).'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Prediction' });
export type Prediction = z.infer<typeof predictionSchema>;

export const fallbackSchema = z
  .object({
    model: z.string().describe('The light model that answered.'),
    version: z.string(),
    reason: z.string().describe('Why the requested model could not answer.'),
  })
  .meta({ id: 'Fallback' });

export const predictResponseSchema = z
  .object({
    model: z.string().describe('The model requested.'),
    version: z.string(),
    predictions: z.array(predictionSchema),
    fallback: fallbackSchema
      .optional()
      .describe("Present only when the model's endpoint was down and its configured fallback answered."),
  })
  .meta({ id: 'PredictResponse' });

const parameters = z.record(z.string(), z.unknown());

export const inferInputSchema = z
  .strictObject({
    name: z.string().min(1),
    shape: z.array(z.number().int().min(0)).describe('Dimensions of this input in this request.'),
    datatype: z
      .string()
      .min(1)
      .describe(
        'BOOL, UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64, FP16, FP32, FP64 or BYTES; as the model declares it (BYTES for categorical features). 64-bit integers beyond 2^53 may be decimal strings.',
      ),
    parameters: parameters
      .optional()
      .describe(
        'binary_data_size: this input is that many bytes of the binary part of the body (binary tensor data extension), instead of data.',
      ),
    data: arrayInPlace<unknown>({ json: { type: 'array', items: {} } })
      .optional()
      .describe(
        'Row-major, either flat or nested like the shape. Absent when parameters.binary_data_size is given.',
      ),
  })
  .meta({ id: 'InferInput' });
/** An input as the seam sees it: JSON `data`, or its bytes from the binary part of the body. */
export type InferInput = z.infer<typeof inferInputSchema> & { readonly raw?: Uint8Array };

export const inferRequestSchema = z
  .strictObject({
    id: z.string().optional(),
    parameters: parameters.optional(),
    inputs: z.array(inferInputSchema).min(1),
    outputs: z
      .array(z.strictObject({ name: z.string().min(1), parameters: parameters.optional() }))
      .optional()
      .describe('Which outputs to return; all when absent.'),
  })
  .meta({ id: 'InferRequest' });
export type InferRequest = Omit<z.infer<typeof inferRequestSchema>, 'inputs'> & {
  readonly inputs: readonly InferInput[];
};

export const inferOutputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int()),
    datatype: z.string(),
    parameters: parameters
      .optional()
      .describe('binary_data_size: the data is that many bytes of the binary part of the body, not data.'),
    data: z.array(z.unknown()).optional().describe('Absent when the output is sent as binary tensor data.'),
  })
  .meta({ id: 'InferOutput' });
/**
 * An output as the codec holds it: its JSON `data`, or, for one the caller asked for as binary
 * data, the engine's tensor itself, typed until encode() writes its bytes.
 */
export type InferOutput = z.infer<typeof inferOutputSchema> & { readonly tensor?: HostTensor };

export const inferResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: parameters.optional(),
    outputs: z.array(inferOutputSchema),
  })
  .meta({ id: 'InferResponse' });
export type InferResponse = Omit<z.infer<typeof inferResponseSchema>, 'outputs'> & { outputs: InferOutput[] };

const tensorMetadata = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
  parameters: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe(
      'An image input also takes files: image_datatype "BYTES" and image_formats "png,jpeg" (one file per element, shape [N]).',
    ),
});
export const v2ModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(tensorMetadata),
    outputs: z.array(tensorMetadata),
  })
  .meta({ id: 'V2ModelMetadata' });
export type V2ModelMetadata = z.infer<typeof v2ModelMetadataSchema>;

export const v2ServerMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'V2ServerMetadata' });

/** The live traffic policy: one version, or a canary split, and a shadow if any. */
export const trafficSchema = z
  .object({
    live: z
      .array(z.object({ version: z.string(), weight: z.number() }))
      .describe('The versions that answer live requests and their share; two during a canary.'),
    shadow: z.string().optional().describe('The version that also scores each request, unseen by callers.'),
  })
  .meta({ id: 'Traffic' });

export const modelSummarySchema = z
  .object({
    name: z.string(),
    description: z.string(),
    task: z.string(),
    versions: z.array(z.string()),
    aliases: z.record(z.string(), z.string()),
    traffic: trafficSchema,
    target: z.string().describe('Where the live version runs: lambda or sagemaker.'),
  })
  .meta({ id: 'ModelSummary' });

export const routeSchema = z
  .object({
    target: z.enum(['lambda', 'sagemaker']),
    declared: z.string().describe('The manifest target: lambda, sagemaker or auto.'),
    reason: z.string().describe('Which rule decided, with the numbers it used.'),
    overridden: z.boolean().describe('Whether ROUTE_OVERRIDES changed the decision.'),
    endpoint: z
      .object({
        name: z.string(),
        variant: z.string(),
        instanceType: z.string().optional().describe('Unset for a serverless endpoint.'),
        instanceCount: z.number().int().optional(),
        serverless: z
          .object({ memoryMb: z.number().int(), maxConcurrency: z.number().int() })
          .optional()
          .describe('SageMaker Serverless Inference: memory and concurrency; no instances.'),
        image: z.string().optional(),
        modelDataUrl: z.string().optional(),
      })
      .optional(),
    fallback: z.object({ model: z.string(), version: z.string() }).optional(),
    circuit: z
      .enum(['closed', 'open', 'half-open'])
      .optional()
      .describe("The endpoint's circuit breaker in the process that answered."),
  })
  .meta({ id: 'Route' });

export const modelListSchema = z.object({ models: z.array(modelSummarySchema) }).meta({ id: 'ModelList' });

export const modelDetailSchema = z
  .object({
    name: z.string(),
    version: z.string().describe('The version described: the one the requested alias or number resolves to.'),
    description: z.string(),
    task: z.string(),
    versions: z.array(z.string()),
    aliases: z.record(z.string(), z.string()),
    traffic: trafficSchema,
    target: z.record(z.string(), z.unknown()).describe('The manifest target, as written.'),
    route: routeSchema,
    sha256: z.string(),
    sizeBytes: z.number().int().optional().describe('Size of model.onnx, when this function has it.'),
    inputs: z.record(z.string(), z.unknown()),
    outputs: z.record(z.string(), z.unknown()),
    inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of one instance for .../predict.'),
    lineage: z.record(z.string(), z.unknown()).optional(),
    quality: z.record(z.string(), z.unknown()).optional().describe('How labels are joined and judged.'),
    trainingStats: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Training distribution of each feature and of the score: what monitoring compares against.'),
  })
  .meta({ id: 'ModelDetail' });
