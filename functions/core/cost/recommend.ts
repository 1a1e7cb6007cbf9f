import { nth } from '../checked.ts';
import type { RouteCost } from './types.ts';

/** Where a version should run: the cheapest real-time route that meets its latency budget. */

export interface RecommendOptions {
  /** The manifest's latencyBudgetMs, when it sets one. */
  readonly latencyBudgetMs?: number;
  /** A route that can cold start meets a budget only if the budget also covers a cold start. */
  readonly coldStartMs: number;
  /** Predictions a month: an always-on instance costs at least its idle cost whatever the volume. */
  readonly volumePerMonth: number;
}

export interface Recommendation {
  readonly route: RouteCost;
  readonly monthly: number;
  /** One sentence, with the numbers it used. */
  readonly reason: string;
}

/** What a real-time route costs a month at a volume: usage, but never less than its idle cost. */
export function monthlyCost(r: RouteCost, volumePerMonth: number): number {
  const usage = (volumePerMonth / 1e6) * r.perMillion;
  return r.kind === 'sagemaker' ? Math.max(r.idleMonthly, usage) : r.idleMonthly + usage;
}

function meets(r: RouteCost, o: RecommendOptions): boolean {
  if (o.latencyBudgetMs === undefined) return true;
  if ((r.p99Ms ?? Number.POSITIVE_INFINITY) > o.latencyBudgetMs) return false;
  return !r.coldStarts || o.latencyBudgetMs >= o.coldStartMs;
}

const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
const volume = (n: number) => n.toLocaleString('en-US');

export function recommend(routes: readonly RouteCost[], o: RecommendOptions): Recommendation | undefined {
  const candidates = routes.filter((r) => r.kind !== 'batch' && !r.unpriced && Number.isFinite(r.perMillion));
  if (candidates.length === 0) return undefined;
  const byCost = (a: RouteCost, b: RouteCost) =>
    monthlyCost(a, o.volumePerMonth) - monthlyCost(b, o.volumePerMonth);
  const fitting = candidates.filter((r) => meets(r, o)).sort(byCost);
  const best = fitting[0];
  if (best) {
    const monthly = monthlyCost(best, o.volumePerMonth);
    const why =
      o.latencyBudgetMs === undefined
        ? `no latencyBudgetMs is set, so it is the cheapest of ${candidates.length} routes`
        : `it is the cheapest of the ${fitting.length} of ${candidates.length} routes whose p99 (${ms(best.p99Ms ?? 0)} here) fits the ${ms(o.latencyBudgetMs)} budget${best.coldStarts ? '' : ' without a cold start'}`;
    return {
      route: best,
      monthly,
      reason: `${best.route}: ${usd(monthly)} a month at ${volume(o.volumePerMonth)} predictions; ${why}.`,
    };
  }
  const warm = candidates.filter((r) => !r.coldStarts);
  const pool = warm.length > 0 ? warm : candidates;
  const fastest = nth(
    [...pool].sort((a, b) => (a.p99Ms ?? 0) - (b.p99Ms ?? 0)),
    0,
  );
  const monthly = monthlyCost(fastest, o.volumePerMonth);
  return {
    route: fastest,
    monthly,
    reason: `${fastest.route}: no route meets the ${ms(o.latencyBudgetMs ?? 0)} budget (routes that can cold start need a budget of ${ms(o.coldStartMs)} or more), so this is the fastest${warm.length > 0 ? ' that never cold starts' : ''}, at p99 ${ms(fastest.p99Ms ?? 0)} and ${usd(monthly)} a month at ${volume(o.volumePerMonth)} predictions.`,
  };
}
