/**
 * Every setting a function reads, as one zod schema over process.env. docs/configuration.md is
 * checked against it, and a bad value fails the cold start naming the variable and the rule.
 */
import { availableParallelism } from 'node:os';
import * as z from 'zod';
import { limitOf } from '#core/aws/rules.ts';
import { parseRouteOverrides } from '#core/model/placement.ts';
import { QUALITY_CONFIG } from './config-quality.ts';

export const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** A comma-separated list, trimmed, empty items dropped. */
const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Every setting a handler reads, parsed once from process.env at cold start. */
export const configSchema = z.object({
  MODELS_DIR: z.string().min(1).default('models').describe('Folder holding <name>/<version>/model.json.'),
  MODEL_NAMES: commaList
    .transform((names) => (names.length > 0 ? names : undefined))
    .describe('Comma-separated models this function serves; all when unset.'),
  MODEL_CACHE_MB: z.coerce
    .number()
    .int()
    .min(16)
    .max(1_000_000)
    .optional()
    .describe(
      'Estimated memory loaded sessions may hold (2x each model file, plus 0.5 MB); the least recently used are released beyond it. Default: half the Lambda function memory, 2048 elsewhere.',
    ),
  MODEL_WARMUP: z
    .enum(['all', 'lazy'])
    .default('all')
    .describe(
      'all: load and check every graph at start (released again beyond MODEL_CACHE_MB); lazy: load each on its first request (a shared model function, whose pre-traffic hook checks them).',
    ),
  MODEL_STORE_BUCKET: z.string().min(3).optional().describe('Model store: S3 bucket of packages.'),
  MODEL_STORE_TABLE: z.string().min(3).optional().describe('Model store: DynamoDB table of records.'),
  MODEL_STORE_DIR: z.string().min(1).optional().describe('Model store folder (npm start --store).'),
  MODEL_POLICY_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(5000)
    .describe('Record read lifetime.'),
  MODEL_PACKAGE_CACHE_DIR: z.string().min(1).default('/tmp/infera-packages').describe('Fetched packages.'),
  MODEL_PACKAGE_CACHE_MB: z.coerce.number().int().min(16).max(10_240).default(400).describe('Package cache.'),
  MAX_INSTANCES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .describe('Instances per predict request.'),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(limitOf('lambda-sync-request'))
    .default(5 * 1024 * 1024)
    .describe('Request body limit; leaves room for the event envelope inside Lambda 6 MB payload limit.'),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(Math.min(availableParallelism(), 4)),
  ORT_INTER_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  IMAGE_WORKERS: z.coerce
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe(
      'Worker threads that decode image files, off the thread that answers requests; 0 decodes in it (Lambda: one request at a time). npm start sets half the cores.',
    ),
  IMAGE_DECODE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(10_000)
    .describe(
      'With IMAGE_WORKERS: longest one file may take to decode and resize before it is stopped (400).',
    ),
  LOG_PAYLOADS: flag.describe('Log request instances. Off by default: payloads can be personal data.'),
  AWS_ENDPOINT_URL: z
    .url()
    .optional()
    .describe('S3 and SQS endpoint override: the local emulator. Unset on AWS.'),
  BATCH_INPUT_BUCKET: z.string().min(3).optional().describe('Bucket users upload batch files to.'),
  BATCH_OUTPUT_BUCKET: z.string().min(3).optional().describe('Bucket results, errors and job records go to.'),
  BATCH_QUEUE_URL: z.url().optional().describe('SQS queue of chunk messages.'),
  BATCH_DLQ_URL: z.url().optional().describe('Dead-letter queue for chunks that keep failing.'),
  BATCH_CHUNK_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(5000).describe('Rows per chunk.'),
  BATCH_CHUNK_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(8 * 1024 * 1024)
    .describe('A chunk also ends at this many bytes.'),
  BATCH_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe('Attempts per chunk before it goes to the dead-letter queue with its reason.'),
  BATCH_URL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600)
    .describe('Lifetime of presigned upload and download URLs.'),
  BATCH_SHARED_VIEW: flag.describe(
    'Every caller sees every batch job. Off by default: a job is seen only by the principal that started it.',
  ),
  AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: z
    .url()
    .optional()
    .describe('SageMaker runtime endpoint override: the local runtime npm start serves. Unset on AWS.'),
  SAGEMAKER_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(28_000)
    .default(25_000)
    .describe("Budget for one endpoint call, retries included; under API Gateway's 30 s."),
  SAGEMAKER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  SAGEMAKER_BREAKER_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(5)
    .describe("Consecutive failures that open an endpoint's circuit."),
  SAGEMAKER_BREAKER_COOLDOWN_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(10_000)
    .describe('How long an open circuit fails fast before one probe call.'),
  SAGEMAKER_MAX_ROWS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .describe('Rows per endpoint call; batch chunks go in several calls.'),
  ROUTE_SIZE_THRESHOLD_MB: z.coerce
    .number()
    .positive()
    .max(100_000)
    .default(200)
    .describe('target "auto": a larger model.onnx goes to SageMaker.'),
  ROUTE_LAMBDA_COLD_START_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe('target "auto": a smaller latencyBudgetMs goes to SageMaker.'),
  ROUTE_OVERRIDES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const { overrides, problems } = parseRouteOverrides(v);
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return overrides;
    })
    .describe('name[@version]=lambda|sagemaker, comma-separated; wins over manifests.'),
  ENDPOINT_PREFIX: z
    .string()
    .regex(/^[a-z0-9](-?[a-z0-9]){0,39}$/, 'must be 1-40 lower-case letters, digits and single hyphens')
    .default('infera')
    .describe(
      'SageMaker endpoint names are <prefix>-<model>-<version>; the stack sets its own name, so two stacks never share an endpoint.',
    ),
  WATCH_ALIASES: flag.describe(
    'Follow models/: apply aliases.json edits, and model folders added, changed or removed, once they pass the start-up checks (npm start sets it; a deployed version is immutable).',
  ),
  ROUTING_KEY_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a lowercase header name such as x-infera-routing-key')
    .default('x-infera-routing-key')
    .describe('Request header whose value keeps a caller on one side of a canary split (sticky routing).'),
  MONITOR_FLUSH_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(2000)
    .describe(
      'How long a predict invocation waits, before it returns, for its drift events, capture and shadow to finish: Lambda freezes the instance once the handler returns.',
    ),
  SHADOW_MAX_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(8)
    .describe('Shadow scorings running at once; more are skipped and counted, never queued.'),
  MONITOR_WINDOW_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1440)
    .default(5)
    .describe('Monitoring window: drift, rates and latency over the last N minutes.'),
  MONITOR_BUCKET_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(10)
    .describe('Time resolution of the monitoring window and the dashboard series.'),
  DRIFT_PSI_THRESHOLD: z.coerce
    .number()
    .positive()
    .max(10)
    .default(0.2)
    .describe('PSI at or above which a feature drifts (0.1 is a moderate shift, 0.2 a significant one).'),
  DRIFT_MIN_SAMPLES: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(500)
    .describe('Values of a feature the window needs before its drift is judged.'),
  LOW_CONFIDENCE: z.coerce
    .number()
    .gt(0)
    .lt(1)
    .default(0.6)
    .describe('A prediction whose chosen label has a lower probability is counted as low-confidence.'),
  MONITOR_EMIT_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(60)
    .describe('How often DriftPSI, OutOfRange and Missing are published as EMF metrics; 0 turns them off.'),
  DRIFT_EVENT_BUS: z
    .string()
    .min(1)
    .optional()
    .describe('EventBridge bus (name or ARN) that drift events go to. The CDK stack sets it.'),
  DRIFT_WEBHOOK_URL: z
    .url()
    .optional()
    .describe('URL each drift event is POSTed to as JSON (local or any HTTP receiver).'),
  CAPTURE_SAMPLE_RATE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      'Share of answered requests whose inputs and predictions are captured; 0 (the default) is off.',
    ),
  CAPTURE_DESTINATION: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Where captures go: s3://bucket/prefix (one object per request) or a local folder (JSON lines per day).',
    ),
  CAPTURE_REDACT: commaList.describe(
    'Comma-separated field names replaced by "[redacted]" in captured instances.',
  ),
  ...QUALITY_CONFIG,
});
