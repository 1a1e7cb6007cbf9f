/**
 * A function that serves from the model store (MODEL_STORE_BUCKET and MODEL_STORE_TABLE on AWS,
 * MODEL_STORE_DIR with npm start): the store adapter, the package cache under
 * MODEL_PACKAGE_CACHE_DIR, and the step before each model route that brings the model's record
 * and packages into the registry (core/model/store/sync.ts). The AWS SDK clients are loaded only
 * here, only when the store is on AWS.
 */
import type { MiddlewareObj } from '@middy/core';
import { ConfigError } from '#core/errors.ts';
import type { ModelRegistry } from '#core/model/registry.ts';
import { PackageCache } from '#core/model/repository/package-cache.ts';
import { StoreCatalog } from '#core/model/store/catalog.ts';
import { StoreSync } from '#core/model/store/sync.ts';
import type { ModelStore } from '#core/ports.ts';
import type { ApiEvent } from '#http/request.ts';
import type { Config } from './config.ts';
import { logger } from './observability.ts';

/** The store this function reads, from its configuration. */
export async function modelStoreOf(config: Config): Promise<ModelStore> {
  if (config.MODEL_STORE_DIR) {
    const { FolderModelStore } = await import('#adapters/model-store/folder.ts');
    return new FolderModelStore(config.MODEL_STORE_DIR);
  }
  const { MODEL_STORE_BUCKET: bucket, MODEL_STORE_TABLE: table } = config;
  if (!bucket || !table)
    throw new ConfigError([
      'MODEL_STORE_BUCKET and MODEL_STORE_TABLE: set both (the stack does), or MODEL_STORE_DIR',
    ]);
  const { AwsModelStore } = await import('#adapters/model-store/aws.ts');
  return new AwsModelStore({
    bucket,
    table,
    ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
  });
}

let store: Promise<ModelStore> | undefined;
let sync: Promise<StoreSync> | undefined;

/**
 * The store sync for this process's registry: one per process, shared by every handler in it
 * (npm start runs predict and models in one process), so one package cache owns its folder.
 */
export function storeSync(config: Config, registry: ModelRegistry): Promise<StoreSync> {
  store ??= modelStoreOf(config);
  sync ??= store.then((s) => syncOf(config, s, registry));
  return sync;
}

/** The model list of the store, for GET /v1/models. */
export async function storeCatalog(config: Config): Promise<StoreCatalog> {
  store ??= modelStoreOf(config);
  return new StoreCatalog(await store, config.MODEL_POLICY_TTL_MS);
}

function syncOf(config: Config, store: ModelStore, registry: ModelRegistry): StoreSync {
  const cache = new PackageCache(
    config.MODEL_PACKAGE_CACHE_DIR,
    store,
    config.MODEL_PACKAGE_CACHE_MB * 1024 * 1024,
  );
  return new StoreSync(store, cache, registry, {
    ttlMs: config.MODEL_POLICY_TTL_MS,
    routing: {
      sizeThresholdMb: config.ROUTE_SIZE_THRESHOLD_MB,
      lambdaColdStartMs: config.ROUTE_LAMBDA_COLD_START_MS,
      overrides: config.ROUTE_OVERRIDES,
      endpointPrefix: config.ENDPOINT_PREFIX,
    },
    onStale: (model, problem) =>
      logger.warn('model store record not applied; serving the last one', { model, problem }),
  });
}

/**
 * Before a model's route runs: the model as the store has it now (within MODEL_POLICY_TTL_MS),
 * with the version the request names (?version= or /versions/{v}) fetched too.
 */
export function syncModels(sync: StoreSync): MiddlewareObj<ApiEvent> {
  return {
    before: async (request) => {
      const edge = request.event.edge;
      const model = edge?.params.model;
      if (!edge || !model) return;
      await sync.ensure(model, edge.params.version ?? edge.query.version);
    },
  };
}

/** The steps a store-backed API function runs before its handlers: its models brought in. */
export async function storeSteps(
  config: Config,
  registry: ModelRegistry,
): Promise<MiddlewareObj<ApiEvent>[]> {
  return [syncModels(await storeSync(config, registry))];
}
