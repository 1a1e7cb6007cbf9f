/** Where a version runs: in Lambda, on a SageMaker endpoint (instances or serverless), or chosen by size. */
import * as z from 'zod';
import { cite, ECR_IMAGE, limitOf, MODEL_TARBALL } from '../../aws/rules.ts';

const lambdaTarget = z.strictObject({
  type: z.literal('lambda'),
  memoryMb: z.number().int().min(128).max(limitOf('lambda-memory')).optional(),
  timeoutSeconds: z.number().int().min(1).max(limitOf('lambda-timeout')).optional(),
});
export const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const endpointName = z
  .string()
  .regex(ENDPOINT_NAME, 'must be 1-63 letters, digits and single hyphens, as SageMaker names endpoints');
const instanceType = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as "ml.g5.xlarge"');

/** SageMaker Serverless memory when the manifest gives none. */
export const DEFAULT_SERVERLESS_MEMORY_MB = 2048;

/** SageMaker Serverless Inference: CPU, scales to zero, billed per request. */
export const serverlessSchema = z
  .strictObject({
    memoryMb: z
      .number()
      .int()
      .refine((v) => v >= 1024 && v <= limitOf('sagemaker-serverless-memory') && v % 1024 === 0, {
        message: 'must be 1024, 2048, 3072, 4096, 5120 or 6144 (SageMaker Serverless memory sizes)',
      })
      .default(DEFAULT_SERVERLESS_MEMORY_MB),
    maxConcurrency: z.number().int().min(1).max(limitOf('sagemaker-serverless-concurrency')).default(5),
  })
  .describe(
    'Serve from a SageMaker Serverless endpoint (CPU, no idle cost, cold starts) instead of instances.',
  );
export type ServerlessConfig = z.infer<typeof serverlessSchema>;

const sagemakerTarget = z
  .strictObject({
    type: z.literal('sagemaker'),
    serverless: serverlessSchema.optional(),
    endpointName: endpointName
      .optional()
      .describe('Defaults to infera-<model>-<version>, the name the CDK stack gives the endpoint.'),
    instanceType: instanceType
      .optional()
      .describe('Defaults to ml.g5.xlarge (ml.inf2.xlarge for Inferentia); not with serverless.'),
    instanceCount: z.number().int().min(1).max(100).optional(),
    variant: endpointName.optional().describe('Production variant; defaults to AllTraffic.'),
    accelerator: z.enum(['none', 'gpu', 'inferentia']).optional(),
    image: z
      .string()
      .regex(
        ECR_IMAGE,
        `must be an Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>); push the image to ECR first. ${cite('sagemaker-image-registry')}`,
      )
      .optional()
      .describe(
        'A container image URI to serve this model instead of the infera ONNX container, e.g. a Neuron image for Inferentia.',
      ),
    modelDataUrl: z
      .string()
      .regex(
        MODEL_TARBALL,
        `must be the s3://bucket/key.tar.gz URL of one gzip-compressed tar archive. ${cite('sagemaker-model-data')}`,
      )
      .optional()
      .describe('Model artifacts for a user-supplied image (e.g. a Neuron-compiled model).'),
    networkIsolation: z
      .boolean()
      .optional()
      .describe(
        'Run the container with no network. Defaults to true on instances; serverless endpoints cannot have it.',
      ),
  })
  .superRefine((t, ctx) => {
    if (t.serverless && t.networkIsolation) {
      ctx.addIssue({
        code: 'custom',
        path: ['networkIsolation'],
        message: `SageMaker Serverless Inference does not support network isolation, so the endpoint would fail to create on AWS. Remove networkIsolation, or serve the model on instances (target.instanceType instead of target.serverless). ${cite('sagemaker-serverless-features')}`,
      });
    }
  });
const autoTarget = z.strictObject({
  type: z.literal('auto'),
  sizeThresholdMb: z.number().positive().optional(),
  accelerator: z.enum(['none', 'gpu', 'inferentia']).optional(),
  latencyBudgetMs: z.number().positive().optional(),
  serverless: serverlessSchema.optional(),
  endpointName: endpointName.optional(),
  instanceType: instanceType.optional(),
  instanceCount: z.number().int().min(1).max(100).optional(),
  variant: endpointName.optional(),
});
export const targetSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.discriminatedUnion('type', [lambdaTarget, sagemakerTarget, autoTarget]),
);
export type Target = z.infer<typeof targetSchema>;
