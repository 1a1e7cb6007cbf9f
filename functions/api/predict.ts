import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PayloadTooLargeError } from '#core/errors.ts';
import type { InferRequest, PredictRequest } from '#core/protocol.ts';
import type { Served } from '#core/scoring.ts';
import { loadConfig } from '#shared/config.ts';
import { type ApiRequest, type ApiResponse, createApiHandler } from '#shared/http.ts';
import { logger, metrics, tracer } from '#shared/observability.ts';
import { getPlatform } from '#shared/platform.ts';

const config = loadConfig();
const { registry, scorer } = await getPlatform(config);
let coldStart = true;
// Where each model runs and why, once per cold start: the first thing to read when a route surprises.
for (const mv of registry.allVersions()) {
  logger.info('route', {
    model: mv.name,
    version: mv.version,
    target: mv.route.target,
    reason: mv.route.reason,
    ...(mv.route.endpoint ? { endpoint: mv.route.endpoint.name } : {}),
    ...(mv.route.fallback ? { fallback: `${mv.route.fallback.model}@${mv.route.fallback.version}` } : {}),
  });
}

/** v1 predict and v2 infer: resolve the version, score in one session.run, record what happened. */
async function predict(req: ApiRequest): Promise<ApiResponse> {
  const name = req.params.model ?? '';
  req.scope.model = name;
  const v1 = req.operation.id === 'predict';
  const mv = registry.resolve(name, (v1 ? req.query.version : req.params.version) ?? undefined);
  req.scope.version = mv.version;
  req.scope.route = mv.route.target;
  if (mv.route.endpoint) req.scope.endpoint = mv.route.endpoint.name;
  tracer.putAnnotation('model', mv.name);
  tracer.putAnnotation('version', mv.version);

  const started = performance.now();
  const opts = { deadline: req.deadline, allowFallback: true };
  let body: unknown;
  let count: number;
  let served: Served;
  if (v1) {
    const { instances } = req.body as PredictRequest;
    if (instances.length > config.MAX_INSTANCES) {
      throw new PayloadTooLargeError(
        `Request has ${instances.length} instances; the limit is ${config.MAX_INSTANCES} (MAX_INSTANCES). Split it, or use batch scoring.`,
      );
    }
    if (config.LOG_PAYLOADS) logger.info('payload', { model: mv.name, version: mv.version, instances });
    const r = await scorer.score(mv, instances, opts);
    served = r.served;
    count = r.predictions.length;
    body = {
      model: mv.name,
      version: mv.version,
      predictions: r.predictions,
      ...(served.target === 'fallback'
        ? { fallback: { model: served.model, version: served.version, reason: served.reason } }
        : {}),
    };
  } else {
    const request = req.body as InferRequest;
    if (config.LOG_PAYLOADS)
      logger.info('payload', { model: mv.name, version: mv.version, inputs: request.inputs });
    const r = await scorer.inferRouted(mv, request, opts);
    served = r.served;
    count = r.response.outputs[0]?.shape[0] ?? 0;
    body = r.response;
  }
  const latencyMs = performance.now() - started;

  metrics.addDimensions({ model: mv.name, version: mv.version });
  if (coldStart) {
    metrics.addMetric('ColdStart', MetricUnit.Count, 1);
    coldStart = false;
  }
  metrics.addMetric('Predictions', MetricUnit.Count, count);
  metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, latencyMs);
  if (served.target === 'fallback') metrics.addMetric('FallbackPredictions', MetricUnit.Count, count);
  // The request's record rides on the EMF line the metrics already write (one stdout write per
  // request, not two): CloudWatch keeps metadata as plain fields, queryable with Logs Insights.
  // Powertools types metadata as a string but stores any JSON value; the handler test pins that.
  const record = {
    requestId: req.requestId,
    operation: req.operation.id,
    instances: count,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    ...servedKeys(served),
  };
  metrics.addMetadata('prediction', record as unknown as string);
  const headers: Record<string, string> = { 'x-model-version': mv.version, 'x-infera-route': served.target };
  if (served.target === 'fallback') headers['x-infera-fallback'] = `${served.model}@${served.version}`;
  return { body, headers };
}

/** What the access log says about who answered. */
function servedKeys(served: Served): Record<string, unknown> {
  switch (served.target) {
    case 'lambda':
      return { servedBy: 'lambda' };
    case 'sagemaker':
      return {
        servedBy: 'sagemaker',
        endpoint: served.endpoint,
        attempts: served.attempts,
        calls: served.calls,
      };
    case 'fallback':
      return {
        servedBy: 'fallback',
        endpoint: served.endpoint,
        fallback: `${served.model}@${served.version}`,
        reason: served.reason,
      };
  }
}

export const handler = createApiHandler('predict', predict, {
  maxBodyBytes: config.MAX_BODY_BYTES,
  metrics: true,
});
