import * as z from 'zod';
import type { ModelVersion } from '#core/model/registry.ts';
import type { TrafficPolicy } from '#core/model/traffic.ts';
import { BINARY_EXTENSION } from '#core/protocol/binary.ts';
import { notLoadable, tritonModelConfig } from '#core/protocol/triton.ts';
import { instanceSchema } from '#core/tensor/features.ts';
import { createApiHandler } from '#http/api-handler.ts';
import { buildOpenApi } from '#http/openapi.ts';
import type { Handlers } from '#http/request.ts';
import { loadConfig } from '#runtime/config.ts';
import { statistics } from '#runtime/model-status.ts';
import { getMonitoring } from '#runtime/monitoring.ts';
import { getPlatform } from '#runtime/platform.ts';
import { getQuality } from '#runtime/quality.ts';
import { qualityRoutes } from '#runtime/quality-routes.ts';
import { usesStore } from '#runtime/store-mode.ts';
import pkg from '../../package.json' with { type: 'json' };

const config = loadConfig();
const { registry, scorer } = await getPlatform(config);
const monitoring = getMonitoring(config);
// A store-backed deployment lists its models from the store, and brings one in before its routes.
const storeCode = usesStore(config) ? await import('#runtime/model-store.ts') : undefined;
const catalog = await storeCode?.storeCatalog(config);
const store = (await storeCode?.storeSteps(config, registry)) ?? [];
const SERVER = {
  name: 'infera',
  version: pkg.version,
  extensions: [BINARY_EXTENSION],
};
let openapi: unknown;

/** Model discovery, metadata, health and the OpenAPI document: everything that is not scoring. */
const models: Handlers<'models'> = {
  listModels: async () => ({
    body: {
      models: catalog
        ? (await catalog.list()).map((m) => ({
            name: m.name,
            description: m.description,
            task: m.task,
            versions: [...m.versions],
            aliases: m.aliases,
            traffic: trafficOf(m.policy),
            target: 'lambda',
          }))
        : registry.list().map((m) => {
            const live = registry.resolve(m.name);
            return {
              name: m.name,
              description: live.manifest.description,
              task: live.manifest.task,
              versions: m.versions.map((v) => v.version),
              aliases: m.aliases,
              traffic: trafficOf(m.policy),
              target: live.placement.target,
            };
          }),
    },
  }),
  getModel: (req) => ({ body: modelDetail(req.params.model ?? '', req.query.version) }),
  serverMetadata: () => ({ body: SERVER }),
  serverLive: () => ({ body: { live: true } }),
  serverReady: () => {
    const { ready, reason, models } = scorer.serverReadiness();
    return {
      status: ready ? 200 : 503,
      body: { ready, ...(reason ? { reason } : {}), ...(models.length > 0 ? { models } : {}) },
    };
  },
  modelMetadata: (req) => ({ body: scorer.metadataV2(registry.resolve(req.params.model ?? '')) }),
  modelVersionMetadata: (req) => ({
    body: scorer.metadataV2(registry.resolve(req.params.model ?? '', req.params.version)),
  }),
  modelConfig: (req) => ({ body: configOf(registry.resolve(req.params.model ?? '')) }),
  modelVersionConfig: (req) => ({
    body: configOf(registry.resolve(req.params.model ?? '', req.params.version)),
  }),
  repositoryIndex: () => ({
    body: registry.allVersions().map((mv) => {
      const { ready, reason } = scorer.readiness(mv);
      return {
        name: mv.name,
        version: mv.version,
        state: ready ? 'READY' : 'UNAVAILABLE',
        reason: reason ?? '',
      };
    }),
  }),
  modelLoad: (req) => notLoadable(registry.get(req.params.model ?? '').name),
  modelUnload: (req) => notLoadable(registry.get(req.params.model ?? '').name),
  serverStats: () => ({ body: statistics(monitoring.monitor, registry.allVersions()) }),
  ...qualityRoutes({ registry, quality: getQuality(config) }),
  openapi: () => {
    openapi ??= buildOpenApi(registry, SERVER.version);
    return { body: openapi };
  },
};

/** A version's Triton configuration; image inputs are named, as they also take PNG or JPEG bytes. */
function configOf(mv: ModelVersion) {
  const m = mv.manifest;
  const images =
    m.inputs.kind === 'tensors' ? m.inputs.tensors.filter((t) => t.image).map((t) => t.name) : [];
  return tritonModelConfig(scorer.metadataV2(mv), images);
}

/** GET /v1/models/{model}: the version's manifest, placement and input schema. */
function modelDetail(name: string, version: string | undefined) {
  const entry = registry.get(name);
  const mv = registry.resolve(name, version);
  const m = mv.manifest;
  return {
    name: mv.name,
    version: mv.version,
    description: m.description,
    task: m.task,
    versions: entry.versions.map((v) => v.version),
    aliases: entry.aliases,
    traffic: trafficOf(entry.policy),
    target: m.target,
    route: {
      ...mv.placement,
      ...(mv.placement.endpoint && scorer.remote
        ? { circuit: scorer.remote.breaker(mv.placement.endpoint).state }
        : {}),
    },
    sha256: m.sha256,
    ...(mv.sizeBytes !== undefined ? { sizeBytes: mv.sizeBytes } : {}),
    inputs: m.inputs,
    outputs: m.outputs,
    inputSchema:
      m.inputs.kind === 'tabular'
        ? z.toJSONSchema(instanceSchema(m.inputs.features, m.quality?.idField), { io: 'input' })
        : {
            description: 'An object with one nested array per input tensor, without the batch dimension.',
            tensors: m.inputs.tensors,
          },
    ...(m.lineage ? { lineage: m.lineage } : {}),
    ...(m.quality ? { quality: m.quality } : {}),
    ...(m.trainingStats ? { trainingStats: m.trainingStats } : {}),
  };
}

export const handler = createApiHandler('models', models, {
  maxBodyBytes: config.MAX_BODY_BYTES,
  metrics: false,
  use: store,
});

/** A policy as the API shows it: the live split (a canary is two versions) and the shadow. */
function trafficOf(policy: TrafficPolicy): { live: { version: string; weight: number }[]; shadow?: string } {
  return {
    live: policy.live.map((w) => ({ version: w.version, weight: w.weight })),
    ...(policy.shadow ? { shadow: policy.shadow } : {}),
  };
}
