/**
 * The predict function: v1 predict and v2 infer, route → decode → score → encode. Monitoring,
 * shadows, capture and metrics run after, from the request's record (runtime/prediction-record.ts).
 * It also answers a model's readiness and monitoring report (runtime/model-status.ts).
 */
import { PayloadTooLargeError } from '#core/errors.ts';
import type { ModelVersion, Picked } from '#core/model/registry.ts';
import { decode, encode, type Incoming } from '#core/protocol/codec.ts';
import type { Served } from '#core/scoring/types.ts';
import { createApiHandler } from '#http/api-handler.ts';
import { type ApiRequest, type ApiResponse, required } from '#http/request.ts';
import { getCapture } from '#runtime/capture.ts';
import { loadConfig } from '#runtime/config.ts';
import { modelStatus } from '#runtime/model-status.ts';
import { getMonitoring } from '#runtime/monitoring.ts';
import { followModelsFolder, logPlacements } from '#runtime/placement-log.ts';
import { getPlatform } from '#runtime/platform.ts';
import { beginRecord, logPayload, recordPredictions } from '#runtime/prediction-record.ts';
import { getQuality } from '#runtime/quality.ts';
import { usesStore } from '#runtime/store-mode.ts';

const config = loadConfig();
const { registry, scorer } = await getPlatform(config);
const monitoring = getMonitoring(config);
const [capture, quality] = [getCapture(config), getQuality(config)];
// Models from the store come in per request (runtime/model-store.ts); a models folder is loaded now.
const store = usesStore(config)
  ? await (await import('#runtime/model-store.ts')).storeSteps(config, registry)
  : [];
if (config.WATCH_ALIASES && store.length === 0) followModelsFolder(registry, scorer);
logPlacements(registry);

/** Scores one request with the version its traffic policy picks, in one session.run. */
async function predict(req: ApiRequest, version: string | undefined, got: Incoming) {
  req.scope.model = req.params.model ?? '';
  const picked = registry.pickVersion(req.scope.model, version, req.headers[config.ROUTING_KEY_HEADER]);
  const { mv } = picked;
  const rec = beginRecord(req, picked, got.protocol === 'v2' ? got.body : undefined);
  const request = decode(got, mv.manifest);
  rec.request = request;
  if (request.protocol === 'v1' && request.instances.length > config.MAX_INSTANCES) {
    throw new PayloadTooLargeError(
      `Request has ${request.instances.length} instances; the limit is ${config.MAX_INSTANCES} (MAX_INSTANCES). Split it, or use batch scoring.`,
    );
  }
  logPayload(config, mv, request);
  // Image decoding stops at the deadline too: nobody waits for the answer after it.
  const result = await scorer.run(mv, request, {
    deadline: req.deadline,
    allowFallback: true,
    maxRows: config.MAX_INSTANCES,
  });
  rec.result = result;
  rec.latencyMs = performance.now() - rec.started;
  const { served } = result;
  const encoded = encode(mv, request, { ...result, fallback: fallbackOf(served) });
  const headers = answerHeaders(mv, picked, served);
  return encoded.kind === 'json'
    ? { body: encoded.body, headers }
    : { body: encoded.header, binary: encoded.chunks, headers };
}

function fallbackOf(served: Served) {
  return served.target === 'fallback'
    ? { model: served.model, version: served.version, reason: served.reason }
    : undefined;
}

/** Who answered, for the caller: the version, where it ran, and how the traffic policy chose it. */
function answerHeaders(mv: ModelVersion, picked: Picked, served: Served): Record<string, string> {
  return {
    'x-model-version': mv.version,
    'x-infera-route': served.target,
    'x-infera-traffic': picked.via,
    ...(served.target === 'fallback' ? { 'x-infera-fallback': `${served.model}@${served.version}` } : {}),
    ...(served.target === 'sagemaker' && served.provider ? { 'x-infera-provider': served.provider } : {}),
  };
}

/**
 * Where a request for this model goes, from its path and query alone: a body refused at the edge
 * still answers with `x-infera-route`, as every answer from a model's routes does.
 */
function routeOf(params: Readonly<Record<string, string>>, query: Readonly<Record<string, string>>) {
  const name = params.model;
  if (!name) return {};
  try {
    return { model: name, route: registry.resolve(name, params.version ?? query.version).placement.target };
  } catch {
    return { model: name };
  }
}

const infer = (req: ApiRequest<'infer' | 'inferVersion'>): Promise<ApiResponse> =>
  predict(req, req.params.version, { protocol: 'v2', body: required(req.body), binary: req.binary });

export const handler = createApiHandler(
  'predict',
  {
    predict: (req) =>
      predict(
        req,
        req.query.version,
        req.raw ? { protocol: 'v1', raw: req.raw } : { protocol: 'v1', body: required(req.body) },
      ),
    infer,
    inferVersion: infer,
    ...modelStatus({ registry, scorer, monitoring }),
  },
  {
    maxBodyBytes: config.MAX_BODY_BYTES,
    metrics: true,
    scopeOf: routeOf,
    use: [...store, recordPredictions({ config, scorer, monitoring, capture, quality })],
  },
);
