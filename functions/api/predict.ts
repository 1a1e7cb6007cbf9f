import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { modelFunctionMemoryMb } from '#core/cost/deployment.ts';
import { observedCost } from '#core/cost/observed.ts';
import { PRICES } from '#core/cost/prices.ts';
import { InferaError, PayloadTooLargeError } from '#core/errors.ts';
import { binaryOutputNames, encodeBinaryOutputs } from '#core/protocol/binary.ts';
import { rawInstance } from '#core/protocol/raw.ts';
import type { InferRequest, InferResponse, Prediction, PredictRequest } from '#core/protocol/schemas.ts';
import type { Inferred, Served } from '#core/scoring/types.ts';
import { type ApiRequest, type ApiResponse, createApiHandler } from '#http/edge.ts';
import { watchAliases } from '#runtime/alias-watcher.ts';
import { loadConfig } from '#runtime/config.ts';
import { getCapture, getMonitoring } from '#runtime/monitoring.ts';
import { logger, metrics, tracer } from '#runtime/observability.ts';
import { getPlatform } from '#runtime/platform.ts';

const config = loadConfig();
const { registry, scorer } = await getPlatform(config);
const monitoring = getMonitoring(config);
const capture = getCapture(config);
let coldStart = true;
/** The Lambda version running this code ($LATEST locally). */
const FUNCTION_VERSION = process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST';
if (config.WATCH_ALIASES) {
  // Locally, `infera release/rollback/shadow` rewrite aliases.json; the change applies at once.
  watchAliases(registry, (model, r) => {
    if (r.problems.length > 0)
      logger.error('aliases.json not applied; the previous traffic policy stays', {
        model,
        problems: r.problems,
      });
    else if (r.changed) logger.info('traffic policy changed', { model, policy: registry.get(model).policy });
  });
}
// Where each model runs and why, once per cold start: the first thing to read when a route surprises.
// A function serving many models logs the count per target, and each version not run here.
const ROUTES_LOGGED = 20;
const versions = registry.allVersions();
if (versions.length > ROUTES_LOGGED) {
  const byTarget: Record<string, number> = {};
  for (const mv of versions) byTarget[mv.placement.target] = (byTarget[mv.placement.target] ?? 0) + 1;
  logger.info('routes', { versions: versions.length, ...byTarget, each: 'GET /v1/models/{model}' });
}
for (const mv of versions) {
  if (versions.length > ROUTES_LOGGED && mv.placement.target === 'lambda') continue;
  logger.info('route', {
    model: mv.name,
    version: mv.version,
    target: mv.placement.target,
    reason: mv.placement.reason,
    ...(mv.placement.endpoint ? { endpoint: mv.placement.endpoint.name } : {}),
    ...(mv.placement.fallback
      ? { fallback: `${mv.placement.fallback.model}@${mv.placement.fallback.version}` }
      : {}),
  });
}

/**
 * Every answer waits for the work it started (drift events, capture, shadow) within
 * MONITOR_FLUSH_MS and the invocation's deadline: Lambda freezes the instance once the handler
 * returns, and work still running then may never finish (AWS rule lambda-freeze).
 */
async function predict(req: ApiRequest): Promise<ApiResponse> {
  try {
    return await answer(req);
  } finally {
    // Most answers start no such work: no await, no extra turn of the event loop, for them.
    if (monitoring.pending > 0) {
      await monitoring.flush(Math.max(0, Math.min(config.MONITOR_FLUSH_MS, req.deadline - Date.now())));
    }
  }
}

/** v1 predict and v2 infer: pick the version, score in one session.run, record what happened. */
async function answer(req: ApiRequest): Promise<ApiResponse> {
  if (req.operation.id === 'getMonitoring') return report(req);
  if (req.operation.id === 'modelReady' || req.operation.id === 'modelVersionReady') return readiness(req);
  const name = req.params.model ?? '';
  req.scope.model = name;
  const v1 = req.operation.id === 'predict';
  const routingKey = req.headers[config.ROUTING_KEY_HEADER];
  const routed = registry.pickVersion(
    name,
    (v1 ? req.query.version : req.params.version) ?? undefined,
    routingKey,
  );
  const { mv } = routed;
  req.scope.version = mv.version;
  req.scope.route = mv.placement.target;
  if (mv.placement.endpoint) req.scope.endpoint = mv.placement.endpoint.name;
  tracer.putAnnotation('model', mv.name);
  tracer.putAnnotation('version', mv.version);

  const started = performance.now();
  // Image decoding stops at the deadline too: nobody waits for the answer after it.
  const opts = { deadline: req.deadline, allowFallback: true, maxRows: config.MAX_INSTANCES };
  let body: unknown;
  let count = 0;
  let served: Served | undefined;
  let status = 200;
  let predictions: readonly Prediction[] | undefined;
  let binary: Uint8Array[] | undefined;
  let latencyMs = 0;
  let inputs: Inferred['inputs'];
  // v1 instances, or a tabular v2 request's rows: monitoring and capture read the same form.
  let instances: readonly unknown[] | undefined;
  try {
    if (v1)
      instances = req.raw ? [rawInstance(mv.manifest, req.raw)] : (req.body as PredictRequest).instances;
    if (instances) {
      if (instances.length > config.MAX_INSTANCES) {
        throw new PayloadTooLargeError(
          `Request has ${instances.length} instances; the limit is ${config.MAX_INSTANCES} (MAX_INSTANCES). Split it, or use batch scoring.`,
        );
      }
      if (config.LOG_PAYLOADS) logger.info('payload', { model: mv.name, version: mv.version, instances });
      const r = await scorer.score(mv, instances, opts);
      served = r.served;
      inputs = r.inputs;
      predictions = r.predictions;
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
      inputs = r.inputs;
      instances = r.rows;
      count = r.response.outputs[0]?.shape[0] ?? 0;
      predictions = v2Predictions(r.response);
      body = r.response;
      const asBinary = binaryOutputNames(
        request,
        r.response.outputs.map((o) => o.name),
      );
      if (asBinary.size > 0) ({ header: body, chunks: binary } = encodeBinaryOutputs(r.response, asBinary));
    }
  } catch (err) {
    status = err instanceof InferaError ? err.status : 500;
    // A rejected v2 request still shows what it sent: its rows count as missing or out of range.
    if (!v1 && status === 400 && !instances)
      instances = scorer.tabularRows(mv, req.body as InferRequest, opts);
    throw err;
  } finally {
    // Every routed request counts, rejected ones too: their inputs are the data-quality signal.
    const answered = served && served.target !== 'fallback';
    latencyMs = performance.now() - started;
    monitoring.monitor.observe(mv, {
      latencyMs,
      status,
      ...(instances ? { instances } : {}),
      ...(answered && predictions ? { predictions } : {}),
      ...(inputs ? { inputs } : {}),
    });
    monitoring.tick();
  }
  const shadow = routed.shadow && served?.target !== 'fallback' ? routed.shadow : undefined;
  if (shadow && predictions) {
    const request = req.body;
    monitoring.track(
      monitoring.shadow(mv, shadow, predictions, latencyMs, async () =>
        v1 && instances
          ? (await scorer.score(shadow, instances, { allowFallback: false })).predictions
          : v2Predictions(
              (await scorer.inferRouted(shadow, request as InferRequest, { allowFallback: false })).response,
            ),
      ),
    );
  }
  served ??= { target: 'lambda' };
  if (capture.sampled() && predictions) {
    monitoring.track(
      capture.capture({
        time: new Date().toISOString(),
        requestId: req.requestId,
        model: mv.name,
        version: mv.version,
        traffic: routed.via,
        // Binary tensor bytes are not captured; their shape and size are.
        instances: instances ?? (req.body as InferRequest).inputs.map(({ raw: _raw, ...input }) => input),
        predictions,
      }),
    );
  }

  metrics.addDimensions({ model: mv.name, version: mv.version });
  // The same figures by Lambda version and route: what a canary's alarms read (the new version
  // alone, with one latency bar for in-process models and another for SageMaker-routed ones).
  metrics.addDimensions({ route: mv.placement.target, functionVersion: FUNCTION_VERSION });
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
    traffic: routed.via,
    ...(shadow ? { shadow: shadow.version } : {}),
    ...servedKeys(served),
  };
  metrics.addMetadata('prediction', record as unknown as string);
  const headers: Record<string, string> = {
    'x-model-version': mv.version,
    'x-infera-route': served.target,
    'x-infera-traffic': routed.via,
  };
  if (served.target === 'fallback') headers['x-infera-fallback'] = `${served.model}@${served.version}`;
  if (served.target === 'sagemaker' && served.provider) headers['x-infera-provider'] = served.provider;
  return { body, headers, ...(binary ? { binary } : {}) };
}

/** GET /v2/models/{model}[/versions/{v}]/ready: false while its endpoint is down with no fallback. */
function readiness(req: ApiRequest): ApiResponse {
  req.scope.model = req.params.model ?? '';
  const mv = registry.resolve(req.params.model ?? '', req.params.version);
  const { ready, reason } = scorer.readiness(mv);
  return {
    status: ready ? 200 : 503,
    body: { name: mv.name, version: mv.version, ready, ...(reason ? { reason } : {}) },
  };
}

/** GET /v1/models/{model}/monitoring: this process's view, with the model's traffic policy. */
async function report(req: ApiRequest): Promise<ApiResponse> {
  const name = req.params.model ?? '';
  req.scope.model = name;
  const entry = registry.get(name);
  monitoring.evaluate();
  const body = monitoring.monitor.report(name);
  // On Lambda the function's own memory size; elsewhere the size the stack would give it.
  const memory =
    Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) ||
    modelFunctionMemoryMb(entry.versions.map((v) => v.manifest));
  const costs = body.versions.flatMap((v) => {
    const mv = entry.versions.find((x) => x.version === v.version);
    if (!mv) return [];
    const w = v.window;
    return [
      observedCost(mv, memory, { p50Ms: w.latencyMs.p50, requests: w.requests, rows: w.instances }, PRICES),
    ];
  });
  return {
    body: {
      ...body,
      policy: { live: entry.policy.live, shadow: entry.policy.shadow ?? null, aliases: entry.aliases },
      costs,
    },
  };
}

/** The v2 `score` output as predictions, so v2 traffic feeds score drift and shadow deltas too. */
function v2Predictions(response: InferResponse): Prediction[] {
  const scores = response.outputs.find((o) => o.name === 'score');
  if (!scores) return [];
  return (scores.data as unknown[]).map((s) => ({ score: Number(s) }));
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
        ...(served.provider ? { provider: served.provider } : {}),
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

export const handler = createApiHandler('predict', predict, {
  maxBodyBytes: config.MAX_BODY_BYTES,
  metrics: true,
  scopeOf: routeOf,
});
