import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { SageMakerInvoker, sagemakerClient } from '#adapters/sagemaker.ts';
import { ModelRegistry } from '#core/registry.ts';
import { RemoteEndpoints } from '#core/remote.ts';
import { Scorer } from '#core/scoring.ts';
import type { Config } from './config.ts';

export interface Platform {
  readonly registry: ModelRegistry;
  readonly scorer: Scorer;
}

let platform: Promise<Platform> | undefined;
let registry: Promise<ModelRegistry> | undefined;

/** The model registry alone, for functions that resolve versions but never score (split, batch API). */
export function getRegistry(config: Config): Promise<ModelRegistry> {
  registry ??= ModelRegistry.load(config.MODELS_DIR, {
    ...(config.MODEL_NAMES ? { only: config.MODEL_NAMES } : {}),
    routing: {
      sizeThresholdMb: config.ROUTE_SIZE_THRESHOLD_MB,
      lambdaColdStartMs: config.ROUTE_LAMBDA_COLD_START_MS,
      overrides: config.ROUTE_OVERRIDES,
    },
  });
  return registry;
}

/** The endpoints client, with the retry and breaker policy from the configuration. */
export function remoteEndpoints(config: Config): RemoteEndpoints {
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

/**
 * The registry and the scorer, built once per process and shared by every handler in it, so
 * there is one InferenceSession per model version per process, and one circuit breaker per
 * endpoint. Fails at cold start, never mid-request.
 */
export function getPlatform(config: Config): Promise<Platform> {
  platform ??= (async () => {
    const registry = await getRegistry(config);
    const heavy = registry.allVersions().some((mv) => mv.route.target === 'sagemaker');
    const scorer = new Scorer(
      registry,
      new OnnxRuntimeEngine(),
      { intraOpThreads: config.ORT_INTRA_OP_THREADS, interOpThreads: config.ORT_INTER_OP_THREADS },
      { ...(heavy ? { remote: remoteEndpoints(config) } : {}), remoteMaxRows: config.SAGEMAKER_MAX_ROWS },
    );
    await scorer.warmup();
    return { registry, scorer };
  })();
  return platform;
}
