import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PayloadTooLargeError } from '#core/errors.ts';
import type { InferRequest, PredictRequest } from '#core/protocol.ts';
import { loadConfig } from '#shared/config.ts';
import { type ApiRequest, type ApiResponse, createApiHandler } from '#shared/http.ts';
import { logger, metrics, tracer } from '#shared/observability.ts';
import { getPlatform } from '#shared/platform.ts';

const config = loadConfig();
const { registry, scorer } = await getPlatform(config);
let coldStart = true;

/** v1 predict and v2 infer: resolve the version, score in one session.run, record what happened. */
async function predict(req: ApiRequest): Promise<ApiResponse> {
  const name = req.params.model ?? '';
  req.scope.model = name;
  const v1 = req.operation.id === 'predict';
  const mv = registry.resolve(name, (v1 ? req.query.version : req.params.version) ?? undefined);
  req.scope.version = mv.version;
  logger.appendKeys({ model: mv.name, version: mv.version });
  tracer.putAnnotation('model', mv.name);
  tracer.putAnnotation('version', mv.version);

  const started = performance.now();
  let body: unknown;
  let count: number;
  if (v1) {
    const { instances } = req.body as PredictRequest;
    if (instances.length > config.MAX_INSTANCES) {
      throw new PayloadTooLargeError(
        `Request has ${instances.length} instances; the limit is ${config.MAX_INSTANCES} (MAX_INSTANCES). Split it, or use batch scoring.`,
      );
    }
    if (config.LOG_PAYLOADS) logger.info('payload', { instances });
    const predictions = await scorer.predict(mv, instances);
    count = predictions.length;
    body = { model: mv.name, version: mv.version, predictions };
  } else {
    const request = req.body as InferRequest;
    if (config.LOG_PAYLOADS) logger.info('payload', { inputs: request.inputs });
    const response = await scorer.infer(mv, request);
    count = response.outputs[0]?.shape[0] ?? 0;
    body = response;
  }
  const latencyMs = performance.now() - started;

  metrics.addDimensions({ model: mv.name, version: mv.version });
  if (coldStart) {
    metrics.addMetric('ColdStart', MetricUnit.Count, 1);
    coldStart = false;
  }
  metrics.addMetric('Predictions', MetricUnit.Count, count);
  metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, latencyMs);
  logger.info('prediction', {
    operation: req.operation.id,
    instances: count,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  });
  return { body, headers: { 'x-model-version': mv.version } };
}

export const handler = createApiHandler('predict', predict, {
  maxBodyBytes: config.MAX_BODY_BYTES,
  metrics: true,
});
