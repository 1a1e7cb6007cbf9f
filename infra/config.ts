import * as z from 'zod';
import { qualityLimitOf } from '#core/aws/quality-rules.ts';
import { limitOf } from '#core/aws/rules.ts';
import { storeLimitOf } from '#core/aws/store-rules.ts';
import { BATCH_MEMORY_MB, MODEL_FUNCTIONS, PER_MODEL_MAX } from './lib/layout.ts';

export { PER_MODEL_MAX };

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

/**
 * Every deployment setting, read from CDK context (cdk.json, or `-c infera:<key>=<value>`).
 * One schema, so a typo fails synth naming the key and the allowed values.
 */
export const deployConfigSchema = z
  .strictObject({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
      .default('Infera'),
    models: z.string().min(1).default('models').describe('Folder of model packages.'),
    architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
    auth: z.enum(['iam', 'jwt']).default('iam'),
    jwtIssuer: z.url().optional(),
    jwtAudience: list.optional(),
    publicHealth: bool.default(true),
    publicPaths: list.default([]),
    corsOrigins: list.default([]),
    throttleRate: z.coerce.number().positive().default(100),
    throttleBurst: z.coerce.number().int().positive().default(200),
    api: bool.default(true).describe('The HTTP API in front of the functions.'),
    batch: bool.default(true).describe('The S3 → SQS → Lambda batch pipeline and its buckets.'),
    sagemaker: z
      .enum(['manifest', 'serverless', 'off'])
      .default('manifest')
      .describe(
        'SageMaker endpoints for heavy models: as each manifest declares, all serverless, or none (heavy models are left out).',
      ),
    imageBuild: z
      .enum(['codebuild', 'docker'])
      .default('codebuild')
      .describe(
        'How cdk deploy builds the SageMaker serving images: in AWS CodeBuild during the deployment (no Docker engine needed on this machine), or with the local Docker engine (CDK image assets).',
      ),
    canary: bool
      .default(true)
      .describe(
        'CodeDeploy releases (trafficShift, golden-fixture hook, alarm rollback) and blue/green endpoint updates with alarm rollback.',
      ),
    dashboard: bool.default(true).describe('The CloudWatch dashboard and the encrypted SNS alarm topic.'),
    trafficShift: z.enum(['canary', 'linear', 'all-at-once']).default('canary'),
    provisionedConcurrency: z.coerce.number().int().min(0).default(0),
    reservedConcurrency: bool
      .default(false)
      .describe(
        'Give every function reserved concurrency. Off by default: a new account (quota 10) can reserve none. Turn on with infera:accountConcurrency set to your quota (npx infera preflight reads it).',
      ),
    accountConcurrency: z.coerce
      .number()
      .int()
      .min(1)
      .default(limitOf('lambda-concurrency-new-account'))
      .describe(
        "The account's Lambda concurrency quota; synth refuses reservations that would leave fewer than 100 unreserved.",
      ),
    lambdaMemoryCapMb: z.coerce
      .number()
      .int()
      .min(128)
      .max(limitOf('lambda-memory'))
      .default(limitOf('lambda-memory-new-account'))
      .describe("The account's Lambda memory ceiling: 3008 MB on a new account until the quota is raised."),
    batchScoreMemoryMb: z.coerce
      .number()
      .int()
      .min(128)
      .max(limitOf('lambda-memory'))
      .default(BATCH_MEMORY_MB.score)
      .describe('Memory of the batch score function.'),
    modelConcurrency: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Reserved concurrency of each model function.'),
    modelFunctions: z
      .enum(MODEL_FUNCTIONS)
      .default('auto')
      .describe(
        `per-model: a function (alias, canary, alarms, hook, routes) per model; shared: one function serves every model, loading sessions on demand; auto: per-model up to ${PER_MODEL_MAX} models, shared beyond.`,
      ),
    modelStore: bool
      .default(false)
      .describe(
        "Keep model packages and traffic policies in a model store (S3 and DynamoDB) instead of the shared function's code: infera publish, then release and roll back one model without a deploy. Needs the shared layout.",
      ),
    packageCacheMb: z.coerce
      .number()
      .int()
      .min(16)
      .max(storeLimitOf('lambda-ephemeral-storage') - 112)
      .default(400)
      .describe("With modelStore: the shared function's budget for fetched packages in /tmp."),
    sharedConcurrency: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('Reserved concurrency of the shared model function.'),
    alarmEmail: z.email().optional(),
    batchMaxConcurrency: z.coerce.number().int().min(2).max(1000).default(10),
    batchSharedView: bool
      .default(false)
      .describe(
        'Every caller of the batch API sees every job and its results. Off: a job is seen only by the principal that started it.',
      ),
    retainData: bool.default(true),
    logRetentionDays: z.coerce.number().int().positive().default(30),
    quality: bool
      .optional()
      .describe(
        'Labelled quality (the quality log, Athena tables, the quality function and its alarms). Default: on when a deployed model has a "quality" section in its model.json.',
      ),
    qualityRetentionDays: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(90)
      .describe(
        'Days prediction ids, labels and ground-truth files are kept in the quality bucket (a lifecycle rule).',
      ),
    qualityScheduleMinutes: z.coerce
      .number()
      .int()
      .min(5)
      .max(1440)
      .default(60)
      .describe('Minutes between runs of the quality join (each run is one Athena query per judged model).'),
    qualityScanLimitGb: z.coerce
      .number()
      // Athena's smallest cutoff (AWS rule athena-scan-cutoff), in GiB.
      .min(qualityLimitOf('athena-scan-cutoff') / 1024 ** 3)
      .max(1000)
      .default(10)
      .describe(
        "The Athena workgroup's cutoff: a query that would scan more is cancelled (and costs at most this).",
      ),
  })
  .superRefine((c, ctx) => {
    if (c.modelStore && c.modelFunctions === 'per-model') {
      ctx.addIssue({
        code: 'custom',
        path: ['modelStore'],
        message:
          'a model store serves one shared function; set infera:modelFunctions=shared (or auto), or turn infera:modelStore off',
      });
    }
    if (c.alarmEmail && !c.dashboard) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarmEmail'],
        message: 'alarm email needs the alarm topic; set infera:dashboard=true or remove infera:alarmEmail',
      });
    }
    if (
      c.provisionedConcurrency > 0 &&
      c.reservedConcurrency &&
      c.provisionedConcurrency > c.modelConcurrency
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['provisionedConcurrency'],
        message: `provisioned concurrency (${c.provisionedConcurrency}) cannot exceed the reserved concurrency infera:modelConcurrency (${c.modelConcurrency}); raise modelConcurrency`,
      });
    }
    if (c.auth === 'jwt' && (!c.jwtIssuer || !c.jwtAudience?.length)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwtIssuer'],
        message:
          'auth "jwt" needs infera:jwtIssuer (the token issuer URL) and infera:jwtAudience (client ids)',
      });
    }
  });
export type DeployConfig = z.infer<typeof deployConfigSchema>;

export const CONTEXT_PREFIX = 'infera:';

/** Reads infera:* context keys; an unknown key or a bad value is an error naming it. */
export function readDeployConfig(get: (key: string) => unknown, keys: readonly string[]): DeployConfig {
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    if (key.startsWith(CONTEXT_PREFIX)) raw[key.slice(CONTEXT_PREFIX.length)] = get(key);
  }
  const parsed = deployConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const known = Object.keys(deployConfigSchema.shape).map((k) => CONTEXT_PREFIX + k);
    const lines = parsed.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => `  ${CONTEXT_PREFIX}${k}: not a setting; the settings are ${known.join(', ')}`)
        : [`  ${CONTEXT_PREFIX}${i.path.join('.')}: ${i.message}`],
    );
    throw new Error(
      `Invalid deployment settings (cdk.json "context", or -c ${CONTEXT_PREFIX}<key>=<value>):\n${lines.join('\n')}\nSee docs/deploy.md.`,
    );
  }
  return parsed.data;
}
