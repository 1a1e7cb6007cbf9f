import { z } from 'zod';

/**
 * Wire schemas for the v1 API and the Open Inference Protocol v2. They validate requests at the
 * edge and generate `/openapi.json`, so the docs cannot drift from what the code accepts.
 */

export const errorResponseSchema = z
  .object({
    error: z.string().describe('What went wrong and how to fix it.'),
    code: z.string().describe('Stable machine-readable code, e.g. invalid_request.'),
    details: z.array(z.string()).optional().describe('One line per problem, each naming the field path.'),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Error' });

export const predictRequestSchema = z
  .strictObject({
    instances: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
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

export const predictResponseSchema = z
  .object({
    model: z.string(),
    version: z.string(),
    predictions: z.array(predictionSchema),
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
      .describe('FP32, FP64, INT32, INT64, BOOL, or BYTES for categorical features.'),
    parameters: parameters.optional(),
    data: z.array(z.unknown()).describe('Row-major, either flat or nested like the shape.'),
  })
  .meta({ id: 'InferInput' });

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
export type InferRequest = z.infer<typeof inferRequestSchema>;

export const inferOutputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int()),
    datatype: z.string(),
    parameters: parameters.optional(),
    data: z.array(z.unknown()),
  })
  .meta({ id: 'InferOutput' });
export type InferOutput = z.infer<typeof inferOutputSchema>;

export const inferResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: parameters.optional(),
    outputs: z.array(inferOutputSchema),
  })
  .meta({ id: 'InferResponse' });
export type InferResponse = z.infer<typeof inferResponseSchema>;

const tensorMetadata = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) });
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

export const modelSummarySchema = z
  .object({
    name: z.string(),
    description: z.string(),
    task: z.string(),
    versions: z.array(z.string()),
    aliases: z.record(z.string(), z.string()),
    target: z.string(),
  })
  .meta({ id: 'ModelSummary' });

export const modelListSchema = z.object({ models: z.array(modelSummarySchema) }).meta({ id: 'ModelList' });

export const modelDetailSchema = z
  .object({
    name: z.string(),
    version: z.string().describe('The version described: the one the requested alias or number resolves to.'),
    description: z.string(),
    task: z.string(),
    versions: z.array(z.string()),
    aliases: z.record(z.string(), z.string()),
    target: z.record(z.string(), z.unknown()),
    sha256: z.string(),
    sizeBytes: z.number().int(),
    inputs: z.record(z.string(), z.unknown()),
    outputs: z.record(z.string(), z.unknown()),
    inputSchema: z
      .record(z.string(), z.unknown())
      .describe('JSON Schema of one instance for POST .../predict.'),
    lineage: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'ModelDetail' });
