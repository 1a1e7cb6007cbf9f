/**
 * What a synthesized template costs while nobody calls it: the resources billed by the hour or
 * the month, priced from a list. Requests, compute per call, storage and logs are usage, not
 * idle, and are left out. Pure: a template and the price table (core/cost/prices.ts) in, lines
 * and totals out.
 */
import { alwaysOnMonthly, HOURS_PER_MONTH } from '#core/cost/estimate.ts';
import type { PriceTable } from '#core/cost/price-table.ts';
import { PRICES } from '#core/cost/prices.ts';

export { HOURS_PER_MONTH };

type Resource = { Type: string; Properties?: Record<string, unknown> };
export interface IdleLine {
  readonly what: string;
  readonly count: number;
  readonly monthly: number;
}
export interface IdleCost {
  readonly lines: IdleLine[];
  /** Always-on compute (SageMaker instances, provisioned concurrency), per month. */
  readonly computeMonthly: number;
  readonly monthly: number;
  readonly hourly: number;
  /** Instance types with no price in the list: their cost is not in the totals. */
  readonly unpriced: string[];
}

/** Metrics an alarm reads: one, or each metric of its metric-math expression. */
function alarmMetrics(r: Resource): number {
  const metrics = r.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
  return metrics ? metrics.filter((m) => m.MetricStat).length : 1;
}

export function idleCost(
  template: { Resources?: Record<string, Resource> },
  prices: PriceTable = PRICES,
): IdleCost {
  const resources = Object.values(template.Resources ?? {});
  const of = (type: string) => resources.filter((r) => r.Type === type);
  const lines: IdleLine[] = [];
  const unpriced: string[] = [];
  let compute = 0;

  for (const r of of('AWS::SageMaker::EndpointConfig')) {
    for (const v of (r.Properties?.ProductionVariants ?? []) as Record<string, unknown>[]) {
      if (v.ServerlessConfig || typeof v.InstanceType !== 'string') continue;
      const count = Number(v.InitialInstanceCount ?? 1);
      const monthly = alwaysOnMonthly(prices, v.InstanceType, count);
      if (monthly === undefined) {
        unpriced.push(v.InstanceType);
        continue;
      }
      compute += monthly;
      lines.push({ what: `SageMaker ${v.InstanceType} instance (always on)`, count, monthly });
    }
  }
  for (const r of of('AWS::Lambda::Alias')) {
    const pc = (r.Properties?.ProvisionedConcurrencyConfig as { ProvisionedConcurrentExecutions?: number })
      ?.ProvisionedConcurrentExecutions;
    if (!pc) continue;
    const ref = (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref ?? '';
    const fn = template.Resources?.[ref];
    const memoryGb = Number(fn?.Properties?.MemorySize ?? 1024) / 1024;
    const monthly = pc * memoryGb * prices.lambda.provisionedGbSecondX86.usd * 3600 * HOURS_PER_MONTH;
    compute += monthly;
    lines.push({ what: 'Lambda provisioned concurrency', count: pc, monthly });
  }
  const alarms = of('AWS::CloudWatch::Alarm');
  const alarmMetricCount = alarms.reduce((n, r) => n + alarmMetrics(r), 0);
  if (alarms.length > 0) {
    lines.push({
      what: `CloudWatch alarms (${alarms.length}, reading ${alarmMetricCount} metrics)`,
      count: alarms.length,
      monthly: alarmMetricCount * prices.cloudwatch.alarmMetricMonth.usd,
    });
  }
  const dashboards = of('AWS::CloudWatch::Dashboard').length;
  if (dashboards > 0)
    lines.push({
      what: 'CloudWatch dashboard',
      count: dashboards,
      monthly: dashboards * prices.cloudwatch.dashboardMonth.usd,
    });
  const keys = of('AWS::KMS::Key').length;
  if (keys > 0) lines.push({ what: 'KMS key', count: keys, monthly: keys * prices.kms.keyMonth.usd });

  const monthly = lines.reduce((s, l) => s + l.monthly, 0);
  return { lines, computeMonthly: compute, monthly, hourly: monthly / HOURS_PER_MONTH, unpriced };
}
