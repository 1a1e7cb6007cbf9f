import type { Config } from './config.ts';

/**
 * Whether this function's models come from a model store (MODEL_STORE_DIR, or MODEL_STORE_BUCKET
 * and MODEL_STORE_TABLE) rather than MODELS_DIR. Its own file, so a function that never serves
 * from a store (batch, and every function of a stack without one) loads none of the store's code.
 */
export function usesStore(config: Config): boolean {
  return Boolean(config.MODEL_STORE_DIR || (config.MODEL_STORE_BUCKET && config.MODEL_STORE_TABLE));
}
