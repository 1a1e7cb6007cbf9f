/**
 * The predict function's after-step: monitoring, shadows, capture and metrics, all read from one
 * record of the request, run once the handler has answered (or failed), and awaited within the
 * invocation. Lambda freezes the instance once the handler returns, and work still running then
 * may never finish (AWS rule lambda-freeze), so the step waits for what it started, within
 * MONITOR_FLUSH_MS and the invocation's deadline.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InferaError } from '#core/errors.ts';
import type { ModelVersion, Picked } from '#core/model/registry.ts';
import type { InferenceRequest } from '#core/protocol/codec.ts';
import { filesAsBase64 } from '#core/protocol/json.ts';
import type { InferRequest } from '#core/protocol/schemas.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import type { ScoreResult, Served } from '#core/scoring/types.ts';
import type { ApiEvent, ApiRequest } from '#http/request.ts';
import type { Capture } from './capture.ts';
import { type Config, functionVersion } from './config.ts';
import type { Monitoring } from './monitoring.ts';
import { logger, metrics, tracer } from './observability.ts';
import type { Quality } from './quality.ts';

/** One request to a model, as the handler saw it: what the after-step reads. */
export interface PredictionRecord {
  readonly mv: ModelVersion;
  readonly picked: Picked;
  /** performance.now() when scoring started. */
  readonly started: number;
  /** The v2 body as the edge validated it: a rejected request's rows are read from it. */
  readonly v2Body?: InferRequest | undefined;
  request?: InferenceRequest;
  result?: ScoreResult;
  latencyMs?: number;
}

const records = new WeakMap<ApiRequest, PredictionRecord>();

/**
 * Starts the record of a request to the version its policy picked; the after-step finds it by the
 * request. Errors from here on name the version and where it runs, as the answer would.
 */
export function beginRecord(
  req: ApiRequest,
  picked: Picked,
  v2Body: InferRequest | undefined,
): PredictionRecord {
  const { mv } = picked;
  req.scope.version = mv.version;
  req.scope.route = mv.placement.target;
  if (mv.placement.endpoint) req.scope.endpoint = mv.placement.endpoint.name;
  tracer.putAnnotation('model', mv.name);
  tracer.putAnnotation('version', mv.version);
  const record: PredictionRecord = { mv, picked, started: performance.now(), v2Body };
  records.set(req, record);
  return record;
}

export interface RecordDeps {
  readonly config: Config;
  readonly scorer: Scorer;
  readonly monitoring: Monitoring;
  readonly capture: Capture;
  readonly quality: Quality;
}

/** How the quality log names the way a request reached its version. */
const TRAFFIC = { requested: 'pinned', live: 'live', stable: 'live', canary: 'canary' } as const;

export function recordPredictions(
  deps: RecordDeps,
): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { monitoring } = deps;
  let coldStart = true;
  const flush = async (api: ApiRequest | undefined) => {
    // Most answers start no such work: no await, no extra turn of the event loop, for them.
    if (api && monitoring.pending > 0) {
      await monitoring.flush(Math.max(0, Math.min(deps.config.MONITOR_FLUSH_MS, api.deadline - Date.now())));
    }
  };
  return {
    after: async ({ event }) => {
      const api = event.edge?.api;
      const rec = api && records.get(api);
      if (api && rec?.request && rec.result) {
        observe(deps, rec, 200);
        answered(deps, api, rec, rec.request, rec.result);
        metricsOf(api, rec, rec.result, coldStart);
        coldStart = false;
      }
      await flush(api);
    },
    onError: async ({ event, error }) => {
      const api = event.edge?.api;
      const rec = api && records.get(api);
      // Every routed request counts, rejected ones too: their inputs are the data-quality signal.
      if (rec) observe(deps, rec, error instanceof InferaError ? error.status : 500);
      await flush(api);
    },
  };
}

function observe(deps: RecordDeps, rec: PredictionRecord, status: number): void {
  const { mv, result, request } = rec;
  rec.latencyMs ??= performance.now() - rec.started;
  // v1 instances, or a tabular v2 request's rows: a rejected v2 request still shows what it sent.
  const rows =
    result?.rows ??
    (request?.protocol === 'v1'
      ? request.instances
      : status === 400 && rec.v2Body
        ? deps.scorer.tabularRows(mv, rec.v2Body, { maxRows: deps.config.MAX_INSTANCES })
        : undefined);
  const answered = result && result.served.target !== 'fallback';
  deps.monitoring.monitor.observe(mv, {
    latencyMs: rec.latencyMs,
    status,
    ...(rows ? { instances: rows } : {}),
    ...(result ? { rows: result.count } : {}),
    ...(answered ? { predictions: result.predictions } : {}),
    ...(result?.inputs ? { inputs: result.inputs } : {}),
  });
  deps.monitoring.tick();
}

/** An answered request's shadow and capture. */
function answered(
  deps: RecordDeps,
  api: ApiRequest,
  rec: PredictionRecord,
  request: InferenceRequest,
  result: ScoreResult,
): void {
  const { mv, picked } = rec;
  const { monitoring, scorer, capture, quality } = deps;
  const own = result.served.target !== 'fallback';
  const shadow = picked.shadow && own ? picked.shadow : undefined;
  // The quality join needs each row's id and prediction; a shadow's go beside them, same ids.
  const logged = own && quality.sampled(mv);
  const instances = request.protocol === 'v1' ? request.instances : undefined;
  if (logged)
    monitoring.track(
      quality.predictions(mv, api.requestId, TRAFFIC[picked.via], instances, result.predictions),
    );
  if (shadow) {
    monitoring.track(
      monitoring.shadow(mv, shadow, result.predictions, rec.latencyMs ?? 0, async () => {
        const { predictions } = await scorer.run(shadow, request, { allowFallback: false });
        if (logged)
          monitoring.track(quality.predictions(shadow, api.requestId, 'shadow', instances, predictions));
        return predictions;
      }),
    );
  }
  if (capture.sampled()) {
    monitoring.track(
      capture.capture({
        time: new Date().toISOString(),
        requestId: api.requestId,
        model: mv.name,
        version: mv.version,
        traffic: picked.via,
        // Binary tensor bytes are not captured; their shape and size are.
        instances:
          result.rows ??
          (request.protocol === 'v2' ? request.request.inputs.map(({ raw: _raw, ...input }) => input) : []),
        predictions: result.predictions,
      }),
    );
  }
}

function metricsOf(api: ApiRequest, rec: PredictionRecord, result: ScoreResult, coldStart: boolean): void {
  const { mv, picked } = rec;
  const { served, count } = result;
  const latencyMs = rec.latencyMs ?? 0;
  metrics.addDimensions({ model: mv.name, version: mv.version });
  // The same figures by Lambda version and placement: what a canary's alarms read (the new version
  // alone, with one latency bar for in-process models and another for SageMaker-routed ones).
  metrics.addDimensions({ route: mv.placement.target, functionVersion: functionVersion() });
  if (coldStart) metrics.addMetric('ColdStart', MetricUnit.Count, 1);
  metrics.addMetric('Predictions', MetricUnit.Count, count);
  metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, latencyMs);
  if (served.target === 'fallback') metrics.addMetric('FallbackPredictions', MetricUnit.Count, count);
  const shadow = picked.shadow && served.target !== 'fallback' ? picked.shadow : undefined;
  const record = {
    requestId: api.requestId,
    operation: api.operation.id,
    instances: count,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    traffic: picked.via,
    ...(shadow ? { shadow: shadow.version } : {}),
    ...servedKeys(served),
  };
  // The request's record rides on the EMF line the metrics already write (one stdout write per
  // request, not two): CloudWatch keeps metadata as plain fields, queryable with Logs Insights.
  // Powertools types metadata as a string but stores any JSON value; the handler test pins that.
  Reflect.apply(metrics.addMetadata, metrics, ['prediction', record]);
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

/** Logs a request's instances or inputs, when LOG_PAYLOADS is on (never by default). */
export function logPayload(config: Config, mv: ModelVersion, request: InferenceRequest): void {
  if (!config.LOG_PAYLOADS) return;
  logger.info('payload', {
    model: mv.name,
    version: mv.version,
    // File bytes are logged as a JSON client would send them.
    ...(request.protocol === 'v1'
      ? { instances: JSON.parse(JSON.stringify(request.instances, filesAsBase64)) }
      : { inputs: request.request.inputs }),
  });
}
