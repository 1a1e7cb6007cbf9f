/**
 * `infera cost --stack`: the times a deployed stack's traffic shows, from CloudWatch, in place of
 * a local measurement. Per model version, the predict handler's EMF metrics over the window:
 * PredictLatency (p50, p99, and its average and count) and Predictions (rows).
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import type { ModelVersion } from '#core/model/registry.ts';
import { type ModelLayout, modelServiceName, SHARED_MODELS } from '../infra/lib/layout.ts';
import { modelFunctionName } from '../infra/lib/names.ts';
import { CliError } from './common.ts';
import type { ProbeResult } from './cost-probe.ts';

export interface StackWindow {
  readonly stack: string;
  readonly hours: number;
  readonly namespace: string;
  /** How the stack lays out model functions: each version's own function, or the shared one. */
  readonly layout: ModelLayout;
  readonly region?: string;
  readonly now?: Date;
}

const BASE = { avg: 'Average', n: 'SampleCount' } as const;
const PERCENTILES = { p50: 'p50', p99: 'p99' } as const;

/** One result per version, in the order given; a version with no traffic in the window says so. */
export async function cloudWatchTimes(
  versions: readonly ModelVersion[],
  w: StackWindow,
): Promise<ProbeResult[]> {
  const client = new CloudWatchClient(w.region ? { region: w.region } : {});
  // The query's times travel in whole seconds: end on the next one, or a point written this
  // second (a run straight after traffic) falls outside the window.
  const end = w.now ?? new Date(Math.ceil(Date.now() / 1000) * 1000);
  const start = new Date(end.getTime() - w.hours * 3_600_000);
  // One data point over the whole window: the period is the window, in whole minutes.
  const period = Math.max(60, Math.ceil((w.hours * 3600) / 60) * 60);
  const base: MetricDataQuery[] = [];
  const percentiles: MetricDataQuery[] = [];
  versions.forEach((mv, i) => {
    const dims = [
      { Name: 'service', Value: modelServiceName(mv.name, w.layout) },
      { Name: 'model', Value: mv.name },
      { Name: 'version', Value: mv.version },
    ];
    const q = (id: string, metric: string, stat: string): MetricDataQuery => ({
      Id: `v${i}_${id}`,
      MetricStat: {
        Metric: { Namespace: w.namespace, MetricName: metric, Dimensions: dims },
        Period: period,
        Stat: stat,
      },
    });
    for (const [id, stat] of Object.entries(BASE)) base.push(q(id, 'PredictLatency', stat));
    base.push(q('rows', 'Predictions', 'Sum'));
    for (const [id, stat] of Object.entries(PERCENTILES)) percentiles.push(q(id, 'PredictLatency', stat));
  });
  const fetchAll = async (queries: MetricDataQuery[]): Promise<MetricDataResult[]> => {
    const out: MetricDataResult[] = [];
    // GetMetricData takes 500 queries a call.
    for (let i = 0; i < queries.length; i += 500) {
      let token: string | undefined;
      do {
        const r = await client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries.slice(i, i + 500),
            StartTime: start,
            EndTime: end,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        out.push(...(r.MetricDataResults ?? []));
        token = r.NextToken;
      } while (token);
    }
    return out;
  };
  let results: MetricDataResult[];
  try {
    results = await fetchAll(base);
  } catch (err) {
    const e = err as Error & { name?: string };
    throw new CliError(
      `CloudWatch GetMetricData failed for stack ${w.stack}: ${e.name ?? 'Error'}: ${e.message}`,
      [
        'It needs cloudwatch:GetMetricData, AWS credentials and a region (AWS_REGION, AWS_PROFILE or --region).',
      ],
    );
  }
  // Percentiles are asked for apart: a metric sent as statistic sets, or an emulator, may have none.
  let percentileProblem: string | undefined;
  try {
    results.push(...(await fetchAll(percentiles)));
  } catch (err) {
    percentileProblem = `CloudWatch answered no percentiles (${(err as Error).name ?? 'Error'})`;
  }
  const value = (id: string): number | undefined => {
    const vals = results.filter((r) => r.Id === id).flatMap((r) => r.Values ?? []);
    return vals.length > 0 && Number.isFinite(vals[0]) ? (vals[0] as number) : undefined;
  };
  return versions.map((mv, i) => {
    const get = (id: string) => value(`v${i}_${id}`);
    const requests = get('n');
    const own = w.layout === 'shared' ? SHARED_MODELS : mv.name;
    const fn = modelFunctionName(w.stack, own) ?? `${w.stack}-${own}`;
    const where = `CloudWatch ${w.namespace}/PredictLatency of ${fn}, model ${mv.name}, version ${mv.version}, the last ${w.hours} h`;
    if (!requests) {
      return { model: mv.name, version: mv.version, problems: [`no traffic in ${where}`] };
    }
    const problems: string[] = [];
    let p50 = get('p50');
    let p99 = get('p99');
    if (p50 === undefined || p99 === undefined) {
      problems.push(
        `${percentileProblem ?? `${where} has no percentiles`}; the average stands for p50 and p99`,
      );
      p50 ??= get('avg');
      p99 ??= get('avg');
    }
    const rows = get('rows') ?? requests;
    const t = {
      rows: rows / requests,
      p50Ms: p50 ?? 0,
      p99Ms: p99 ?? 0,
      requestBytes: 0,
      responseBytes: 0,
    };
    return {
      model: mv.name,
      version: mv.version,
      single: t,
      batched: t,
      problems: [`observed: ${where}: ${requests} requests, ${rows} predictions`, ...problems],
    };
  });
}
