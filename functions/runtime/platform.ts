import * as z from 'zod';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { RemoteEndpoints } from '#core/endpoint/remote.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { type Config, environment, platformEnv } from './config.ts';
import { usesStore } from './store-mode.ts';

export interface Platform {
  readonly registry: ModelRegistry;
  readonly scorer: Scorer;
}

let platform: Promise<Platform> | undefined;
let registry: Promise<ModelRegistry> | undefined;

/** The model registry alone, for functions that resolve versions but never score (split, batch API). */
export function getRegistry(config: Config): Promise<ModelRegistry> {
  // A function serving from the model store starts empty: each model comes in on its first request.
  if (usesStore(config))
    registry ??= Promise.resolve(ModelRegistry.empty(config.MODEL_STORE_DIR ?? 'model-store'));
  registry ??= withoutZodJit(() =>
    ModelRegistry.load(config.MODELS_DIR, {
      ...(config.MODEL_NAMES ? { only: config.MODEL_NAMES } : {}),
      // Lazy sessions: each model file is hashed when its session first reads it, not at start.
      ...(config.MODEL_WARMUP === 'lazy' ? { hashes: 'use' as const } : {}),
      routing: {
        sizeThresholdMb: config.ROUTE_SIZE_THRESHOLD_MB,
        lambdaColdStartMs: config.ROUTE_LAMBDA_COLD_START_MS,
        overrides: config.ROUTE_OVERRIDES,
        endpointPrefix: config.ENDPOINT_PREFIX,
      },
    }),
  );
  return registry;
}

/**
 * Runs start-up work with zod's JIT off. Manifests are parsed once per process: compiling their
 * schemas to code first costs more than it saves (about 6 ms of each cold start, `npm run bench`
 * B4). Request schemas, parsed on every call, are compiled as usual once this returns.
 */
async function withoutZodJit<T>(work: () => Promise<T>): Promise<T> {
  const { jitless } = z.config();
  z.config({ jitless: true });
  try {
    return await work();
  } finally {
    z.config({ jitless: jitless ?? false });
  }
}

/**
 * The endpoints client, with the retry and breaker policy from the configuration. The AWS SDK
 * client is loaded here, not at import: a function whose models all run in-process never
 * evaluates it, which keeps its cold start short (`npm run bench`, B4).
 */
export async function remoteEndpoints(config: Config): Promise<RemoteEndpoints> {
  const { SageMakerInvoker, sagemakerClient } = await import('#adapters/sagemaker.ts');
  const client = sagemakerClient({
    ...(config.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
      ? { endpoint: config.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME }
      : {}),
    timeoutMs: config.SAGEMAKER_TIMEOUT_MS,
  });
  return new RemoteEndpoints(new SageMakerInvoker(client), {
    timeoutMs: config.SAGEMAKER_TIMEOUT_MS,
    maxAttempts: config.SAGEMAKER_MAX_ATTEMPTS,
    baseDelayMs: 100,
    maxDelayMs: 2000,
    breaker: {
      failureThreshold: config.SAGEMAKER_BREAKER_FAILURES,
      cooldownMs: config.SAGEMAKER_BREAKER_COOLDOWN_MS,
    },
  });
}

/** The session cache's budget: MODEL_CACHE_MB, else half the Lambda function's memory, else 2048. */
export function sessionCacheMb(
  config: Config,
  lambdaMb: number | undefined = platformEnv().AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
): number {
  if (config.MODEL_CACHE_MB !== undefined) return config.MODEL_CACHE_MB;
  return lambdaMb !== undefined ? Math.floor(lambdaMb / 2) : 2048;
}

/**
 * The registry and the scorer, built once per process and shared by every handler in it, so
 * there is one InferenceSession per model version per process, and one circuit breaker per
 * endpoint. Fails at cold start, never mid-request.
 */
export function getPlatform(config: Config): Promise<Platform> {
  platform ??= (async () => {
    const registry = await getRegistry(config);
    const heavy = registry.allVersions().some((mv) => mv.placement.target === 'sagemaker');
    const scorer = new Scorer(
      registry,
      new OnnxRuntimeEngine(),
      { intraOpThreads: config.ORT_INTRA_OP_THREADS, interOpThreads: config.ORT_INTER_OP_THREADS },
      {
        ...(heavy ? { remote: await remoteEndpoints(config) } : {}),
        remoteMaxRows: config.SAGEMAKER_MAX_ROWS,
        ...(config.IMAGE_WORKERS > 0 ? { images: await imagePool(config) } : {}),
        sessions: { maxBytes: sessionCacheMb(config) * 1024 * 1024, lazy: config.MODEL_WARMUP === 'lazy' },
      },
    );
    await scorer.warmup();
    return { registry, scorer };
  })();
  return platform;
}

/** The image pool a process answering many callers decodes in (npm start); loaded only then. */
async function imagePool(config: Config) {
  const { PooledImageWork } = await import('#adapters/image-pool.ts');
  return new PooledImageWork({
    threads: config.IMAGE_WORKERS,
    timeoutMs: config.IMAGE_DECODE_TIMEOUT_MS,
    // What JavaScript set after start-up too (process.env is a plain object: see config.ts).
    env: environment(),
  });
}
