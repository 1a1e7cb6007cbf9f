import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/registry.ts';
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
  registry ??= ModelRegistry.load(config.MODELS_DIR, config.MODEL_NAMES ? { only: config.MODEL_NAMES } : {});
  return registry;
}

/**
 * The registry and the scorer, built once per process and shared by every handler in it, so
 * there is one InferenceSession per model version per process. Fails at cold start, never mid-request.
 */
export function getPlatform(config: Config): Promise<Platform> {
  platform ??= (async () => {
    const registry = await getRegistry(config);
    const scorer = new Scorer(registry, new OnnxRuntimeEngine(), {
      intraOpThreads: config.ORT_INTRA_OP_THREADS,
      interOpThreads: config.ORT_INTER_OP_THREADS,
    });
    await scorer.warmup();
    return { registry, scorer };
  })();
  return platform;
}
