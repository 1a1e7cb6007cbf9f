import { availableParallelism } from 'node:os';
import * as z from 'zod';
import { ConfigError } from '#core/errors.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { configSchema, flag } from './config-schema.ts';

/**
 * process.env as a plain object, made once when the functions' runtime loads. Node's process.env
 * asks the C environment on every read, and Powertools reads AWS_LAMBDA_MAX_CONCURRENCY on every
 * access to its invocation store, dozens of times a request: about 3.5 µs of B1's added 34 µs.
 *
 * Reads and writes behave as before for JavaScript: every reader gets the same object, and child
 * processes copy process.env when they start. Worker threads copy the C environment unless given
 * one, so the image pool passes process.env. Native code reading the C environment (onnxruntime's
 * getenv) sees it as it was at start, which holds everything Lambda, the CDK and the shell set.
 */
if (Object.getPrototypeOf(process.env) !== Object.prototype) process.env = { ...process.env };

/** The environment as JavaScript sees it, for what starts a thread of its own (the image pool). */
export function environment(): NodeJS.ProcessEnv {
  return process.env;
}

export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/** The batch settings, or a ConfigError naming each missing variable. */
export function batchSettings(config: Config) {
  const {
    BATCH_INPUT_BUCKET: inputBucket,
    BATCH_OUTPUT_BUCKET: outputBucket,
    BATCH_QUEUE_URL: queueUrl,
    BATCH_DLQ_URL: dlqUrl,
  } = config;
  if (!inputBucket || !outputBucket || !queueUrl || !dlqUrl) {
    const missing = (
      ['BATCH_INPUT_BUCKET', 'BATCH_OUTPUT_BUCKET', 'BATCH_QUEUE_URL', 'BATCH_DLQ_URL'] as const
    ).filter((k) => !config[k]);
    throw new ConfigError(
      missing.map((k) => `${k}: is required by the batch functions (the CDK stack and npm start set it)`),
    );
  }
  return {
    inputBucket,
    outputBucket,
    queueUrl,
    dlqUrl,
    chunkRows: config.BATCH_CHUNK_ROWS,
    chunkBytes: config.BATCH_CHUNK_BYTES,
    maxAttempts: config.BATCH_MAX_ATTEMPTS,
  };
}

/** Parses the environment once; a bad value fails the cold start naming the variable and the rule. */
/**
 * The environment that points the batch functions at their buckets and queues, written by the
 * stack and by npm start under the names the schema above reads.
 */
export function batchEnvironment(r: {
  inputBucket: string;
  outputBucket: string;
  queueUrl: string;
  dlqUrl: string;
  maxAttempts?: number;
}): Record<string, string> {
  return {
    BATCH_INPUT_BUCKET: r.inputBucket,
    BATCH_OUTPUT_BUCKET: r.outputBucket,
    BATCH_QUEUE_URL: r.queueUrl,
    BATCH_DLQ_URL: r.dlqUrl,
    ...(r.maxAttempts !== undefined ? { BATCH_MAX_ATTEMPTS: String(r.maxAttempts) } : {}),
  };
}

/**
 * Environment variables read through a schema, or a ConfigError with one `NAME: problem` line per
 * variable. Every process infera runs reads its environment this way: the functions (loadConfig),
 * the serving container and the pre-traffic hook.
 */
export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env && cached) return cached;
  const config = readEnv(configSchema, env);
  if (env === process.env) cached = config;
  return config;
}

/** A variable that is set to nothing counts as unset. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/**
 * What the platform sets around the code: Lambda about the function, Powertools' settings, the
 * host's GPUs. Outside Lambda, the version is `$LATEST` and there is no memory size.
 */
export const platformEnvSchema = z.object({
  AWS_LAMBDA_FUNCTION_VERSION: z
    .string()
    .min(1)
    .default('$LATEST')
    .describe('Set by Lambda: the version running.'),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z
    .preprocess(unsetIfEmpty, z.coerce.number().int().positive().optional())
    .describe('Set by Lambda: the function memory in MB.'),
  AWS_EXECUTION_ENV: z
    .string()
    .optional()
    .describe('Set by Lambda: the runtime, e.g. AWS_Lambda_nodejs24.x.'),
  AWS_SAM_LOCAL: z.string().optional().describe('Set by SAM when it runs a function locally.'),
  POWERTOOLS_SERVICE_NAME: z
    .string()
    .min(1)
    .default('infera')
    .describe('Service name in logs, metrics, traces.'),
  POWERTOOLS_METRICS_NAMESPACE: z
    .string()
    .min(1)
    .default('infera')
    .describe('CloudWatch namespace of the metrics.'),
  POWERTOOLS_METRICS_DISABLED: z
    .string()
    .optional()
    .transform((v) => v?.toLowerCase() === 'true')
    .describe('true: write no EMF metrics (npm start sets it unless --emf).'),
  POWERTOOLS_TRACE_ENABLED: z.string().optional().describe('false turns X-Ray tracing off.'),
  NVIDIA_VISIBLE_DEVICES: z
    .string()
    .optional()
    .describe('Set by the NVIDIA container runtime: the GPUs visible.'),
});

let platform: z.output<typeof platformEnvSchema> | undefined;

/** The platform's environment, read once. */
export function platformEnv(): z.output<typeof platformEnvSchema> {
  platform ??= readEnv(platformEnvSchema);
  return platform;
}

/** The Lambda version running this code ($LATEST locally). */
export function functionVersion(): string {
  return platformEnv().AWS_LAMBDA_FUNCTION_VERSION;
}

/**
 * The serving container's settings (functions/container/serve.ts --help lists them), read with
 * the same readEnv as the functions' own.
 */
export const containerConfigSchema = z.object({
  SM_MODEL_DIR: z.string().min(1).default('/opt/ml/model'),
  SAGEMAKER_BIND_TO_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  INFERA_HOST: z.string().min(1).default('0.0.0.0'),
  INFERA_MICROBATCH: flag.default(true),
  INFERA_MAX_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).default(64),
  INFERA_MAX_DELAY_MS: z.coerce.number().min(0).max(1000).default(2),
  INFERA_MAX_INFLIGHT: z.coerce.number().int().min(1).max(64).default(1),
  INFERA_EXECUTION_PROVIDER: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  INFERA_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(100 * 1024 * 1024),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(256).default(availableParallelism()),
  INFERA_ACCESS_LOG: flag.default(false),
  INFERA_FAULT: z.string().optional(),
  INFERA_ALLOW_ORIGINS: z.string().optional(),
  INFERA_IMAGE_WORKERS: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(Math.max(1, Math.floor(availableParallelism() / 2))),
  /** Set by npm start: leave when it does (its stdin closes). */
  INFERA_EXIT_WITH_PARENT: flag,
  INFERA_IMAGE_DECODE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
});
export type ContainerConfig = z.output<typeof containerConfigSchema>;
