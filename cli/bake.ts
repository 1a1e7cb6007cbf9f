/**
 * Baking a canary: after `infera release --canary`, watch that model's new version alone for the
 * bake time, then promote it, or roll it back at once when its own alarm fires. On AWS the judge
 * is two CloudWatch alarms made for this release (errors and p99 latency of the model and
 * version, each silent below a minimum request count) and deleted after; locally it is the
 * running platform's monitoring report of the same version. The loop is the same for both.
 */
import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { storeLimitOf } from '#core/aws/store-rules.ts';
import { messageOf } from '#core/errors.ts';
import { isCeiling } from '#core/model/manifest/quality.ts';
import type { QualityReport } from '#core/quality/report-schema.ts';
import { api, CliError } from './common.ts';

export interface BakeLimits {
  readonly bakeMs: number;
  readonly pollMs: number;
  /** Requests the canary must have served for a verdict; below it, no alarm fires and nothing is promoted. */
  readonly minRequests: number;
  /** Server errors, percent of the canary's requests. */
  readonly maxErrorPct: number;
  readonly maxP99Ms: number;
}

/** What watches one model version during a bake. */
export interface CanaryJudge {
  /** What it watches, for messages. */
  readonly name: string;
  start(): Promise<void>;
  /** The alarm that fired, if one has. */
  alarm(): Promise<string | undefined>;
  /** Requests the version served since start. */
  requests(): Promise<number>;
  stop(): Promise<void>;
}

export type BakeVerdict =
  | { readonly verdict: 'promote'; readonly requests: number }
  | { readonly verdict: 'rollback'; readonly alarm: string }
  | { readonly verdict: 'undecided'; readonly requests: number };

/** Watches until the bake time is over or an alarm fires; the judge is always stopped. */
export async function bake(
  judge: CanaryJudge,
  limits: BakeLimits,
  log: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<BakeVerdict> {
  await judge.start();
  try {
    const end = Date.now() + limits.bakeMs;
    for (;;) {
      const fired = await judge.alarm();
      if (fired) return { verdict: 'rollback', alarm: fired };
      const left = end - Date.now();
      if (left <= 0) break;
      log(`baking ${judge.name}: ${Math.ceil(left / 1000)} s left, no alarm`);
      await sleep(Math.min(limits.pollMs, left));
    }
    const requests = await judge.requests();
    return requests >= limits.minRequests
      ? { verdict: 'promote', requests }
      : { verdict: 'undecided', requests };
  } finally {
    await judge.stop();
  }
}

/** The two CloudWatch alarms of one canary, on the metrics the function writes per model and version. */
export function cloudWatchJudge(opts: {
  readonly client: CloudWatchClient;
  readonly namespace: string;
  readonly service: string;
  readonly fn: string;
  readonly model: string;
  readonly version: string;
  readonly limits: BakeLimits;
}): CanaryJudge {
  const { client, namespace, service, fn, model, version, limits } = opts;
  const dims = [
    { Name: 'service', Value: service },
    { Name: 'model', Value: model },
    { Name: 'version', Value: version },
  ];
  const stat = (id: string, metric: string, s: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: metric, Dimensions: dims },
      Period: 60,
      Stat: s,
    },
  });
  // Alarm names are at most 255 characters (rule cloudwatch-alarm-name).
  const base = `${fn}-${model}-v${version}-canary`.slice(
    0,
    storeLimitOf('cloudwatch-alarm-name') - '-errors'.length,
  );
  const names = [`${base}-errors`, `${base}-p99`];
  const started = new Date();
  const common = {
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    ComparisonOperator: 'GreaterThanThreshold' as const,
    TreatMissingData: 'notBreaching' as const,
    ActionsEnabled: false,
  };
  return {
    name: `${model} version ${version}`,
    start: async () => {
      await client.send(
        new PutMetricAlarmCommand({
          ...common,
          AlarmName: names[0],
          AlarmDescription: `infera canary of ${model} version ${version}: server errors above ${limits.maxErrorPct}% once it has served ${limits.minRequests} requests a minute`,
          Threshold: limits.maxErrorPct,
          Metrics: [
            stat('e', 'ServerErrors', 'Sum'),
            stat('n', 'PredictLatency', 'SampleCount'),
            {
              Id: 'rate',
              Expression: `IF((n + e) >= ${limits.minRequests}, 100 * e / (n + e), 0)`,
              Label: 'error rate %',
              ReturnData: true,
            },
          ],
        }),
      );
      await client.send(
        new PutMetricAlarmCommand({
          ...common,
          AlarmName: names[1],
          AlarmDescription: `infera canary of ${model} version ${version}: p99 latency above ${limits.maxP99Ms} ms once it has served ${limits.minRequests} requests a minute`,
          Threshold: limits.maxP99Ms,
          Metrics: [
            stat('q', 'PredictLatency', 'p99'),
            stat('n', 'PredictLatency', 'SampleCount'),
            {
              Id: 'p99',
              Expression: `IF(n >= ${limits.minRequests}, q, 0)`,
              Label: 'p99 ms',
              ReturnData: true,
            },
          ],
        }),
      );
    },
    alarm: async () => {
      const out = await client.send(new DescribeAlarmsCommand({ AlarmNames: names }));
      const fired = (out.MetricAlarms ?? []).find((a) => a.StateValue === 'ALARM');
      return fired ? `${fired.AlarmName} (${fired.StateReason ?? 'ALARM'})` : undefined;
    },
    requests: async () => {
      const end = new Date();
      const out = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(started.getTime() - 60_000),
          EndTime: end,
          MetricDataQueries: [{ ...stat('n', 'PredictLatency', 'SampleCount'), ReturnData: true }],
        }),
      );
      return (out.MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
    },
    stop: async () => {
      await client.send(new DeleteAlarmsCommand({ AlarmNames: names })).catch((err) => {
        console.error(`warning: could not delete the canary alarms ${names.join(', ')}: ${messageOf(err)}`);
      });
    },
  };
}

/** The running platform's own figures for one version (GET /v1/models/<model>/monitoring). */
export function monitoringJudge(opts: {
  readonly url: string;
  readonly model: string;
  readonly version: string;
  readonly limits: BakeLimits;
}): CanaryJudge {
  const { url, model, version, limits } = opts;
  type Figures = { requests: number; errorRate: number; latencyMs: { p99: number | null } };
  const figures = async (): Promise<Figures | undefined> => {
    const report = (await api(url, `/v1/models/${encodeURIComponent(model)}/monitoring`)) as {
      versions: { version: string; total: Figures }[];
    };
    return report.versions.find((v) => v.version === version)?.total;
  };
  let baseline = 0;
  const served = async () => ((await figures())?.requests ?? 0) - baseline;
  return {
    name: `${model} version ${version}`,
    start: async () => {
      baseline = (await figures())?.requests ?? 0;
    },
    alarm: async () => {
      const f = await figures();
      if (!f || f.requests - baseline < limits.minRequests) return undefined;
      if (f.errorRate * 100 > limits.maxErrorPct)
        return `error rate ${Math.round(f.errorRate * 1000) / 10}% over ${limits.maxErrorPct}%`;
      if ((f.latencyMs.p99 ?? 0) > limits.maxP99Ms)
        return `p99 ${f.latencyMs.p99} ms over ${limits.maxP99Ms} ms`;
      return undefined;
    },
    requests: served,
    stop: async () => {},
  };
}

/**
 * A judge that also fires on labelled quality: the canary version's alarms in the model's quality
 * report (the manifest's thresholds, silent below its minLabels). `report` reads it: the API
 * locally, the quality function's last report in S3 on AWS; undefined when there is none.
 */
export function withQualityAlarm(
  inner: CanaryJudge,
  version: string,
  report: () => Promise<QualityReport | undefined>,
): CanaryJudge {
  return {
    ...inner,
    alarm: async () => {
      const fired = await inner.alarm();
      if (fired) return fired;
      const v = (await report())?.versions.find((x) => x.version === version);
      const a = v?.alarms.find((x) => x.state === 'alarm');
      if (!v || !a) return undefined;
      const way = isCeiling(a.figure) ? 'above' : 'below';
      return `labelled ${a.figure} ${a.value} ${way} ${a.threshold} on ${v.labelled} labelled predictions`;
    },
  };
}

/** The quality report of a model from the API, or undefined when the model takes no labels. */
export function qualityFromApi(url: string, model: string): () => Promise<QualityReport | undefined> {
  return async () => {
    try {
      return (await api(url, `/v1/models/${encodeURIComponent(model)}/quality`)) as QualityReport;
    } catch (err) {
      if (err instanceof CliError && /^(404|501):/.test(err.message)) return undefined;
      throw err;
    }
  };
}

/** "5m", "30s", "250ms", "0": a duration in milliseconds, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}
