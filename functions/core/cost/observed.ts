import type { ModelVersion } from '../model/registry.ts';
import { lambdaRoute, sagemakerRoute, serverlessRoute } from './estimate.ts';
import type { PriceTable } from './price-table.ts';
import type { RouteCost } from './types.ts';

/** A version's estimated cost from the latency its traffic shows: what the dashboard prints. */
export interface ObservedCost {
  readonly version: string;
  readonly route: string;
  /** Dollars per million predictions; null before any request. */
  readonly perMillionUsd: number | null;
  readonly basis: string;
}

/**
 * Prices a version's configured route from its observed p50 per request and rows per request,
 * with no scaling (the time was taken where the version runs). An always-on endpoint is priced at
 * half its capacity, as `infera cost` does by default.
 */
export function observedCost(
  mv: ModelVersion,
  functionMemoryMb: number,
  latency: { readonly p50Ms: number; readonly requests: number; readonly rows: number },
  prices: PriceTable,
): ObservedCost {
  const rows = latency.requests > 0 ? latency.rows / latency.requests : 1;
  const t = {
    rows: Math.max(rows, 1e-9),
    p50Ms: latency.p50Ms,
    p99Ms: latency.p50Ms,
    requestBytes: 0,
    responseBytes: 0,
  };
  const a = { cpuFactor: 1, utilization: 0.5, observed: true };
  const e = mv.placement.endpoint;
  let r: RouteCost;
  if (mv.placement.target !== 'sagemaker' || !e) r = lambdaRoute(t, functionMemoryMb, 'x86_64', prices, a);
  else if (e.serverless) r = serverlessRoute(t, e.serverless.memoryMb, functionMemoryMb, prices, a);
  // The time was taken on the endpoint itself, so on its accelerator if it has one.
  else
    r = sagemakerRoute(t, e.instanceType ?? '', e.instanceCount ?? 1, functionMemoryMb, prices, a, {
      ...t,
      source: "the window's observed time on the endpoint",
    });
  const known = latency.requests > 0 && Number.isFinite(r.perMillion);
  return {
    version: mv.version,
    route: r.route,
    perMillionUsd: known ? r.perMillion : null,
    basis: r.unpriced
      ? r.unpriced
      : `${prices.region} list prices of ${prices.date}, the window's p50 (${latency.p50Ms.toFixed(2)} ms) and ${rows.toFixed(1)} rows per request${mv.placement.target === 'sagemaker' && !e?.serverless ? ', the instance 50% busy' : ''}; no data transfer or logs`,
  };
}
