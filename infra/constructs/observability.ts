import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  LegendPosition,
  MathExpression,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { BatchScoringPipeline } from './batch-pipeline.ts';
import type { LightModelFunction } from './light-model-function.ts';
import type { SageMakerModelEndpoint } from './sagemaker-endpoint.ts';

export interface ObservabilityProps {
  /** @default 'infera' */
  readonly dashboardName?: string;
  /**
   * Subscribe this address to the alarm topic (SNS asks it to confirm).
   * @default no subscription: subscribe to the AlarmTopic output yourself
   */
  readonly alarmEmail?: string;
  /** @default 'infera' */
  readonly metricsNamespace?: string;
}

const minute = Duration.minutes(1);

/** A model function's live alias: invocations, Lambda errors, handled 5xx and throttles. */
function callsAndErrors(m: LightModelFunction, title: string): GraphWidget {
  return new GraphWidget({
    title: `${title}: calls and errors (live alias)`,
    left: [
      m.alias.metricInvocations({ period: minute, statistic: 'Sum', label: 'invocations' }),
      m.alias.metricErrors({ period: minute, statistic: 'Sum', label: 'Lambda errors' }),
      m.metricServerErrors({ label: '5xx answers' }),
      m.alias.metricThrottles({ period: minute, statistic: 'Sum', label: 'throttles' }),
    ],
    width: 8,
  });
}

/**
 * One dashboard per deployment and one SNS topic for every alarm. Capabilities add their own
 * rows: per model and version, calls, errors, p50/p90/p99 latency and cold starts; for batch,
 * rows scored and rejected and the DLQ depth; per endpoint, SageMaker invocations and latency.
 */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarmTopic: Topic;
  readonly topicKey: Key;
  readonly alarms: Alarm[] = [];
  readonly #namespace: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps = {}) {
    super(scope, id);
    this.#namespace = props.metricsNamespace ?? 'infera';
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic gets its own.
    this.topicKey = new Key(this, 'TopicKey', {
      description: 'infera alarm topic encryption',
      enableKeyRotation: true,
    });
    // Only for this account's alarms: a confused-deputy guard on the service principal.
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'infera alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'infera',
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# infera\nPer model: calls to the `live` alias, errors (Lambda errors and 5xx answers), latency by model version, cold starts. Then batch and SageMaker. Alarms go to the AlarmTopic SNS topic.',
        width: 24,
        height: 2,
      }),
    );
  }

  /** A model's row: calls and errors of its alias, latency and cold starts per version. */
  addModel(m: LightModelFunction): void {
    if (m.shared) {
      this.#addShared(m);
      return;
    }
    const perVersion = (metricName: string, statistic: string, label: (v: string) => string): IMetric[] =>
      m.modelVersions.map((v) => m.metricForVersion(metricName, v, { statistic, label: label(v) }));
    this.dashboard.addWidgets(
      callsAndErrors(m, m.modelName),
      new GraphWidget({
        title: `${m.modelName}: predict latency by version (ms)`,
        left: [
          ...perVersion('PredictLatency', 'p50', (v) => `v${v} p50`),
          ...perVersion('PredictLatency', 'p90', (v) => `v${v} p90`),
          ...perVersion('PredictLatency', 'p99', (v) => `v${v} p99`),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: `${m.modelName}: cold starts and predictions by version`,
        left: perVersion('ColdStart', 'Sum', (v) => `v${v} cold starts`),
        right: perVersion('Predictions', 'Sum', (v) => `v${v} predictions`),
        width: 8,
      }),
    );
    this.#trackModel(m);
  }

  /**
   * A shared model function: the alias's calls and errors, and per model and version the latency
   * and predictions, by CloudWatch search. Three widgets whatever the number of models (a widget
   * per model would outgrow the dashboard); the local dashboard and `infera compare` go per model.
   */
  #addShared(m: LightModelFunction): void {
    const service = m.function.serviceName;
    const search = (metricName: string, statistic: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${m.function.metricsNamespace},service,model,version} MetricName="${metricName}" service="${service}"', '${statistic}', 60)`,
        usingMetrics: {},
        label,
        period: minute,
      });
    this.dashboard.addWidgets(
      callsAndErrors(m, `shared model function (${m.modelNames.length} models)`),
      new GraphWidget({
        title: 'p99 predict latency by model and version (ms)',
        left: [search('PredictLatency', 'p99', '')],
        legendPosition: LegendPosition.HIDDEN,
        width: 8,
      }),
      new GraphWidget({
        title: 'predictions by model and version',
        left: [search('Predictions', 'Sum', '')],
        legendPosition: LegendPosition.HIDDEN,
        width: 8,
      }),
    );
    this.#trackModel(m);
  }

  /** A model function's alarms, as many as it has, on the alarm summary. */
  #trackModel(m: LightModelFunction): void {
    this.#track(...[m.errorRateAlarm, ...m.latencyAlarms, m.modelErrorsAlarm].filter((a) => a !== undefined));
  }

  /** Batch: rows scored and rejected, chunks, the queue and the DLQ. */
  addBatch(b: BatchScoringPipeline): void {
    const service = b.scoreFunction.serviceName;
    const count = (metricName: string, label: string) =>
      new Metric({
        namespace: this.#namespace,
        metricName,
        dimensionsMap: { service },
        period: minute,
        statistic: 'Sum',
        label,
      });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'batch: rows',
        left: [count('BatchRowsScored', 'rows scored'), count('BatchRowsRejected', 'rows rejected')],
        right: [
          count('BatchChunksScored', 'chunks scored'),
          count('BatchChunksDeadLettered', 'chunks dead-lettered'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'batch: queue and dead-letter depth',
        left: [
          b.queue.metricApproximateNumberOfMessagesVisible({ period: minute, label: 'chunks waiting' }),
          b.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, label: 'DLQ depth' }),
        ],
        right: [b.queue.metricApproximateAgeOfOldestMessage({ period: minute, label: 'oldest chunk (s)' })],
        width: 12,
      }),
    );
    this.#track(b.dlqAlarm);
  }

  /** A SageMaker endpoint: invocations, errors, model latency. */
  addEndpoint(e: SageMakerModelEndpoint): void {
    const dims = { EndpointName: e.endpointName, VariantName: e.variantName };
    const sm = (metricName: string, statistic: string, label: string) =>
      new Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: dims,
        period: minute,
        statistic,
        label,
      });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${e.endpointName}: invocations`,
        left: [
          sm('Invocations', 'Sum', 'invocations'),
          sm('Invocation4XXErrors', 'Sum', '4xx'),
          sm('Invocation5XXErrors', 'Sum', '5xx'),
        ],
        right: [sm('InvocationsPerInstance', 'Sum', 'per instance')],
        width: 12,
      }),
      new GraphWidget({
        title: `${e.endpointName}: model latency (µs)`,
        left: [
          sm('ModelLatency', 'p50', 'p50'),
          sm('ModelLatency', 'p90', 'p90'),
          sm('ModelLatency', 'p99', 'p99'),
          sm('OverheadLatency', 'p99', 'overhead p99'),
        ],
        width: 12,
      }),
    );
    this.#track(...[e.errorAlarm, e.latencyAlarm].filter((a) => a !== undefined));
  }

  /** The alarm status of everything added so far, as the dashboard's last row. */
  addAlarmSummary(): void {
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'alarms', alarms: this.alarms, width: 24 }));
  }

  #track(...alarms: Alarm[]): void {
    this.alarms.push(...alarms);
  }
}
