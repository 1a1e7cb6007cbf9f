/**
 * A model's status, as the predict function answers it: v2 readiness (false while its endpoint
 * is down with no fallback) and the monitoring report with the model's traffic policy and cost.
 */
import { modelFunctionMemoryMb } from '#core/cost/deployment.ts';
import { observedCost } from '#core/cost/observed.ts';
import { PRICES } from '#core/cost/prices.ts';
import type { ModelRegistry, ModelVersion } from '#core/model/registry.ts';
import type { Monitor } from '#core/monitoring/monitor.ts';
import type { InferenceStatistics } from '#core/protocol/schemas.ts';
import { inferenceStatistics } from '#core/protocol/triton.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import type { ApiRequest, ApiResponse } from '#http/request.ts';
import { platformEnv } from './config.ts';
import type { Monitoring } from './monitoring.ts';

/**
 * Triton's inference statistics for the given versions (or every version the Monitor has seen):
 * a version with no requests yet is listed with zero counts, as Triton lists a loaded model.
 */
export function statistics(monitor: Monitor, versions?: readonly ModelVersion[]): InferenceStatistics {
  const seen = new Map(monitor.totals().map((t) => [t.mv, t]));
  const zero = { lastAt: 0, requests: 0, rows: 0, failed: 0, latencySumMs: 0 };
  const list = versions ?? [...seen.keys()];
  return inferenceStatistics(
    list.map((mv) => ({ ...zero, ...seen.get(mv), name: mv.name, version: mv.version })),
  );
}

export function modelStatus(deps: {
  readonly registry: ModelRegistry;
  readonly scorer: Scorer;
  readonly monitoring: Monitoring;
}) {
  const { registry, scorer, monitoring } = deps;

  /** GET /v2/models/{model}[/versions/{v}]/ready. */
  const readiness = (req: ApiRequest): ApiResponse => {
    req.scope.model = req.params.model ?? '';
    const mv = registry.resolve(req.params.model ?? '', req.params.version);
    const { ready, reason } = scorer.readiness(mv);
    return {
      status: ready ? 200 : 503,
      body: { name: mv.name, version: mv.version, ready, ...(reason ? { reason } : {}) },
    };
  };

  /** GET /v1/models/{model}/monitoring: this process's view, with the model's traffic policy. */
  const report = (req: ApiRequest): ApiResponse => {
    const name = req.params.model ?? '';
    req.scope.model = name;
    const entry = registry.get(name);
    monitoring.evaluate();
    const body = monitoring.monitor.report(name);
    // On Lambda the function's own memory size; elsewhere the size the stack would give it.
    const memory =
      platformEnv().AWS_LAMBDA_FUNCTION_MEMORY_SIZE ??
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
  };

  /** GET /v2/models/{model}[/versions/{v}]/stats: what this instance counted, Triton's form. */
  const stats = (req: ApiRequest): ApiResponse => {
    req.scope.model = req.params.model ?? '';
    const entry = registry.get(req.scope.model);
    const versions = req.params.version ? [registry.resolve(entry.name, req.params.version)] : entry.versions;
    return { body: statistics(monitoring.monitor, versions) };
  };

  return {
    getMonitoring: report,
    modelReady: readiness,
    modelVersionReady: readiness,
    modelStats: stats,
    modelVersionStats: stats,
  };
}
