/**
 * Labelled model quality on AWS: the quality log bucket (predictions and labels as JSON Lines,
 * partitioned by model and hour or day, kept for a retention period), the Glue tables Athena
 * reads them through (partition projection: no crawler, no partitions to add), an Athena
 * workgroup (its own result location, encrypted, a cap on bytes scanned per query), and the
 * quality function: it reads uploads under ground-truth/, and on a schedule runs the join for
 * every model with a quality section, keeps each report for GET .../quality, publishes the
 * figures as metrics and sends quality events. One alarm per model and threshold watches them.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import { isCeiling, QUALITY_FIGURES, type QualitySpec } from '#core/model/manifest/quality.ts';
import { GROUND_TRUTH_PREFIX, RESULTS_PREFIX } from '#core/quality/ingest.ts';
import { QUALITY_METRIC } from '#core/quality/metrics.ts';
import { accessLogsBucket } from '../lib/access-logs.ts';
import { tendNotificationsHandler } from '../lib/bucket-notifications.ts';
import { acknowledge, finding } from '../lib/nag.ts';
import { InferaFunction } from './infera-function.ts';

/** The quality function's service name: the dimension its metrics carry. */
export const QUALITY_SERVICE = 'infera-quality';

export interface ModelQualityProps {
  /** Each judged model's quality section (the live version's manifest). */
  readonly models: ReadonlyMap<string, QualitySpec>;
  /** QUALITY_MODELS for the function (core/quality/models-env.ts). */
  readonly modelsJson: string;
  readonly removalPolicy: RemovalPolicy;
  /** Days predictions, labels and ground-truth files are kept. */
  readonly retentionDays: number;
  /** Minutes between evaluations. */
  readonly scheduleMinutes: number;
  /** Athena stops a query past this many bytes scanned (workgroup cutoff). */
  readonly scanLimitBytes: number;
  readonly metricsNamespace?: string;
  readonly events?: IEventBus;
  readonly alarmTopic?: ITopic;
  readonly logRetention?: RetentionDays;
  readonly reservedConcurrency?: number;
  readonly accessLogsBucket?: IBucket;
}

export class ModelQuality extends Construct {
  readonly bucket: Bucket;
  readonly workGroup: CfnWorkGroup;
  readonly database: CfnDatabase;
  readonly function: InferaFunction;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ModelQualityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logs = props.accessLogsBucket ?? accessLogsBucket(this, props.removalPolicy);
    const keep = Duration.days(props.retentionDays);
    this.bucket = new Bucket(this, 'Log', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'quality/',
      removalPolicy: props.removalPolicy,
      // Retention is the setting: predictions, labels and uploads go after it; results after a week.
      lifecycleRules: [
        ...['predictions/', 'labels/', GROUND_TRUTH_PREFIX, RESULTS_PREFIX].map((prefix) => ({
          prefix,
          expiration: keep,
        })),
        { prefix: 'athena-results/', expiration: Duration.days(7) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    const location = (folder: string) => `s3://${this.bucket.bucketName}/${folder}/`;

    this.database = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: `${stack.stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_quality`.slice(0, 255),
        description: 'infera: prediction ids and outputs, and the labels sent for them.',
      },
    });
    const dbName = this.database.ref;
    const json = {
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      serdeInfo: {
        serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        // A torn or foreign line is skipped, not a failed query.
        parameters: { 'ignore.malformed.json': 'true' },
      },
    };
    const col = (name: string, type: string) => ({ name, type });
    // One table per folder, partitioned by model (injected: the query names one model, no list to
    // keep) and by a date projected over the retention, so a window prunes to its own folders.
    const table = (
      id: string,
      name: string,
      date: { key: string; format: string; unit: 'HOURS' | 'DAYS' },
      columns: { name: string; type: string }[],
    ) => {
      // databaseName is a Ref to the database: CloudFormation creates the database first.
      new CfnTable(this, id, {
        catalogId: stack.account,
        databaseName: dbName,
        tableInput: {
          name,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [col('model', 'string'), col(date.key, 'string')],
          storageDescriptor: { ...json, location: location(name), columns },
          parameters: {
            classification: 'json',
            'projection.enabled': 'true',
            'projection.model.type': 'injected',
            [`projection.${date.key}.type`]: 'date',
            [`projection.${date.key}.format`]: date.format,
            [`projection.${date.key}.range`]: `NOW-${props.retentionDays}DAYS,NOW+1${date.unit}`,
            [`projection.${date.key}.interval`]: '1',
            [`projection.${date.key}.interval.unit`]: date.unit,
            'storage.location.template': `${location(name)}model=\${model}/${date.key}=\${${date.key}}`,
          },
        },
      });
    };
    table('Predictions', 'predictions', { key: 'hour', format: 'yyyy-MM-dd-HH', unit: 'HOURS' }, [
      col('id', 'string'),
      col('request', 'string'),
      col('version', 'string'),
      col('ts', 'bigint'),
      col('traffic', 'string'),
      col('label', 'string'),
      col('score', 'double'),
      col('confidence', 'double'),
      col('value', 'double'),
    ]);
    table('Labels', 'labels', { key: 'day', format: 'yyyy-MM-dd', unit: 'DAYS' }, [
      col('id', 'string'),
      col('label', 'string'),
      col('value', 'double'),
      col('at_ms', 'bigint'),
      col('received_ms', 'bigint'),
      col('source', 'string'),
    ]);

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: `${stack.stackName}-quality`.slice(0, 128),
      description: 'infera: the quality join (docs/releases-and-monitoring.md).',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.scanLimitBytes,
        resultConfiguration: {
          outputLocation: location('athena-results'),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    this.function = new InferaFunction(this, 'Function', {
      entry: 'functions/quality/handler.ts',
      description: 'infera: ground-truth uploads in; the quality join on a schedule',
      serviceName: QUALITY_SERVICE,
      ...(props.metricsNamespace ? { metricsNamespace: props.metricsNamespace } : {}),
      memorySize: 512,
      // Athena queries queue and run for minutes; the function waits for them.
      timeout: Duration.minutes(10),
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        QUALITY_DESTINATION: `s3://${this.bucket.bucketName}`,
        QUALITY_ATHENA_WORKGROUP: this.workGroup.ref,
        QUALITY_ATHENA_DATABASE: dbName,
        QUALITY_MODELS: props.modelsJson,
        ...(props.events ? { DRIFT_EVENT_BUS: props.events.eventBusName } : {}),
      },
    });
    const fn = this.function;
    props.events?.grantPutEventsTo(fn);
    const objects = (prefix: string) => this.bucket.arnForObjects(`${prefix}*`);
    const allow = (actions: string[], resources: string[]) =>
      fn.addToRolePolicy(new PolicyStatement({ actions, resources }));
    const reads = [GROUND_TRUTH_PREFIX, 'predictions/', 'labels/', 'reports/', 'athena-results/'];
    const writes = ['labels/', 'reports/', RESULTS_PREFIX, 'athena-results/'];
    allow(['s3:GetObject'], reads.map(objects));
    allow(['s3:PutObject'], writes.map(objects));
    // Athena lists the partitions' folders and checks the result location.
    allow(['s3:ListBucket', 's3:GetBucketLocation'], [this.bucket.bucketArn]);
    allow(
      [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:GetWorkGroup',
      ],
      [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroup.ref })],
    );
    allow(
      ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
      [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: dbName }),
        stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${dbName}/*` }),
      ],
    );
    acknowledge(
      fn.role ?? fn,
      'The quality function reads and writes its own prefixes of its own bucket (objects are named by model, hour and request), and the tables of its own database.',
      ...[...new Set([...reads, ...writes])].map((p) =>
        finding(fn, 'AwsSolutions-IAM5', 'Resource', objects(p)),
      ),
      finding(
        fn,
        'AwsSolutions-IAM5',
        'Resource',
        stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${dbName}/*` }),
      ),
    );

    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(fn), {
      prefix: GROUND_TRUTH_PREFIX,
    });
    tendNotificationsHandler(this, props.reservedConcurrency !== undefined);
    new Rule(this, 'Schedule', {
      description: 'infera: the quality join for every model with a quality section.',
      schedule: Schedule.rate(Duration.minutes(props.scheduleMinutes)),
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })],
    });

    for (const [model, spec] of props.models) this.#alarms(model, spec, props);
  }

  /** One alarm per threshold of a model: the worst serving version's figure, once it has minLabels labels. */
  #alarms(model: string, spec: QualitySpec, props: ModelQualityProps): void {
    const period = Duration.minutes(Math.max(props.scheduleMinutes, 1));
    const metric = (name: string, statistic: string) =>
      new Metric({
        namespace: props.metricsNamespace ?? 'infera',
        metricName: name,
        dimensionsMap: { service: QUALITY_SERVICE, model },
        period,
        statistic,
      });
    for (const figure of QUALITY_FIGURES) {
      const threshold = spec.alarms[figure];
      if (threshold === undefined) continue;
      const ceiling = isCeiling(figure);
      const quiet = ceiling ? 0 : 1;
      const alarm = new Alarm(this, `Alarm-${model}-${figure}`, {
        alarmDescription: `${model}: labelled ${figure} ${ceiling ? 'above' : 'below'} ${threshold} (its manifest's quality.alarms), judged once a version has ${spec.minLabels} labelled predictions. See infera quality ${model}.`,
        metric: new MathExpression({
          expression: `IF(n >= ${spec.minLabels}, f, ${quiet})`,
          usingMetrics: {
            f: metric(QUALITY_METRIC[figure], 'Minimum'),
            n: metric('QualityLabelled', 'Maximum'),
          },
          label: `${model} ${figure}`,
          period,
        }),
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ceiling
          ? ComparisonOperator.GREATER_THAN_THRESHOLD
          : ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(alarm);
    }
  }

  /** What a function that logs predictions (or takes labels) needs in its environment. */
  get environment(): Record<string, string> {
    return { QUALITY_DESTINATION: `s3://${this.bucket.bucketName}` };
  }

  /** A serving or batch function: told where the log is, it writes prediction lines, and nothing else. */
  logPredictionsFrom(fn: InferaFunction): void {
    this.#grant(
      fn,
      ['s3:PutObject'],
      'predictions/',
      'It writes one object per logged request under predictions/, named by model, hour and request id.',
    );
    for (const [k, v] of Object.entries(this.environment)) fn.addEnvironment(k, v);
  }

  /** The models function: it stores labels (POST .../feedback) and reads reports (GET .../quality). */
  grantLabelsAndReports(grantee: IGrantable & IConstruct): void {
    this.#grant(
      grantee,
      ['s3:PutObject'],
      'labels/',
      'It writes one object per feedback request under labels/.',
    );
    this.#grant(
      grantee,
      ['s3:GetObject'],
      'reports/',
      "It reads the quality function's reports under reports/.",
    );
  }

  #grant(grantee: IGrantable & IConstruct, actions: string[], prefix: string, why: string): void {
    const objects = this.bucket.arnForObjects(`${prefix}*`);
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [objects] }));
    const role = Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : grantee;
    acknowledge(role, why, finding(grantee, 'AwsSolutions-IAM5', 'Resource', objects));
  }
}
