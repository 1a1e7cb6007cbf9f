import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LambdaDestination as LambdaFunctionDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  EventType,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { BATCH_SUFFIXES } from '#core/batch/job.ts';
import { batchEnvironment } from '#runtime/config.ts';
import { tendNotificationsHandler } from '../lib/bucket-notifications.ts';
import { BATCH_MEMORY_MB } from '../lib/layout.ts';
import { acknowledge, finding } from '../lib/nag.ts';
import { InferaFunction } from './infera-function.ts';
import type { OnnxRuntimeLayer } from './onnxruntime-layer.ts';
import type { SageMakerModelEndpoint } from './sagemaker-endpoint.ts';

export interface BatchScoringPipelineProps {
  readonly onnxRuntime: OnnxRuntimeLayer;
  /** Every model the score function may be asked for. */
  readonly models: readonly string[];
  /** name@version served by SageMaker: their weights stay out of the bundle. @default none */
  readonly remoteVersions?: readonly string[];
  /** Their endpoints: the score function may invoke these. @default none */
  readonly endpoints?: readonly SageMakerModelEndpoint[];
  /** @default <project>/models */
  readonly modelsDir?: string;
  /**
   * Score function timeout. The queue's visibility timeout is six times this, as AWS advises
   * for an SQS event source, so a slow chunk is never handed to a second worker mid-flight.
   * @default 2 minutes
   */
  readonly scoreTimeout?: Duration;
  /** @default 3008 (BATCH_MEMORY_MB.score: a new account's Lambda memory ceiling) */
  readonly scoreMemorySize?: number;
  /**
   * Score workers at most: caps what a big upload can do to a SageMaker endpoint and to your bill.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Scoring attempts per chunk before the core dead-letters it with its reason (BATCH_MAX_ATTEMPTS).
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Receives before SQS itself moves a message to the DLQ: the backstop for crashes and timeouts.
   * @default 5 (maxAttempts + 2)
   */
  readonly maxReceiveCount?: number;
  /**
   * Input files are deleted after this many days; results are kept, versioned, noncurrent
   * versions expire after `resultNoncurrentDays`.
   * @default 30
   */
  readonly inputExpirationDays?: number;
  /** @default 90 */
  readonly resultNoncurrentDays?: number;
  /** Server access logs of both buckets go here. @default a new logs bucket */
  readonly accessLogsBucket?: IBucket;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default no alarm actions */
  readonly alarmTopic?: ITopic;
  /**
   * Reserved concurrency for every function here: split 5, score `maxConcurrency`, API 10, the
   * split-failure handler 2, and CDK's bucket-notification handler 1. Needs an account quota of
   * at least 100 plus these (AWS rule lambda-unreserved-minimum); a new account's is 10.
   * @default false
   */
  readonly reservedConcurrency?: boolean;
  /** @default 'infera-batch' */
  readonly serviceName?: string;
  /** Extra environment for the three functions. @default none */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * Batch scoring on AWS: an upload to the input bucket notifies the split function, which writes
 * the job record and sends one message per chunk; score workers take chunks from the queue
 * (partial batch failure, capped concurrency) and write parts and error files to the output
 * bucket. Chunks that keep failing end in the DLQ, whose depth has an alarm.
 */
export class BatchScoringPipeline extends Construct {
  readonly inputBucket: Bucket;
  readonly outputBucket: Bucket;
  readonly accessLogsBucket: IBucket;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly splitFunction: InferaFunction;
  readonly scoreFunction: InferaFunction;
  readonly apiFunction: InferaFunction;
  /** The split function's on-failure destination: ends the job `failed` with the last error. */
  readonly splitFailedFunction: InferaFunction;
  readonly dlqAlarm: Alarm;
  readonly splitFailureAlarm: Alarm;

  constructor(scope: Construct, id: string, props: BatchScoringPipelineProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const scoreTimeout = props.scoreTimeout ?? Duration.minutes(2);
    const maxAttempts = props.maxAttempts ?? 3;
    const maxConcurrency = props.maxConcurrency ?? 10;
    const reserving = props.reservedConcurrency ?? false;
    const reserve = (n: number) => (reserving ? { reservedConcurrentExecutions: n } : {});

    // Every bucket here gets the same security defaults; only purpose-specific settings differ.
    const secureBucket = (id: string, extra: BucketProps) =>
      new Bucket(this, id, {
        encryption: BucketEncryption.S3_MANAGED,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        removalPolicy,
        ...extra,
      });

    if (props.accessLogsBucket) {
      this.accessLogsBucket = props.accessLogsBucket;
    } else {
      const logs = secureBucket('AccessLogs', {
        objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycleRules: [{ expiration: Duration.days(365) }],
      });
      acknowledge(logs, 'This is the access-log bucket; logging it to itself would loop.', 'AwsSolutions-S1');
      this.accessLogsBucket = logs;
    }

    this.inputBucket = secureBucket('Input', {
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'input/',
      lifecycleRules: [
        { expiration: Duration.days(props.inputExpirationDays ?? 30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.outputBucket = secureBucket('Output', {
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'output/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(props.resultNoncurrentDays ?? 90) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      'This is the dead-letter queue of the chunk queue.',
      'AwsSolutions-SQS3',
    );
    this.queue = new Queue(this, 'Chunks', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(scoreTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? maxAttempts + 2,
      },
    });

    const models = {
      ...(props.modelsDir ? { from: props.modelsDir } : {}),
      names: props.models,
      withoutWeights: props.remoteVersions ?? [],
    };
    const serviceName = props.serviceName ?? 'infera-batch';
    const environment = {
      MODELS_DIR: '/var/task/models',
      ...batchEnvironment({
        inputBucket: this.inputBucket.bucketName,
        outputBucket: this.outputBucket.bucketName,
        queueUrl: this.queue.queueUrl,
        dlqUrl: this.deadLetterQueue.queueUrl,
        maxAttempts,
      }),
      ...props.environment,
    };

    this.splitFunction = new InferaFunction(this, 'Split', {
      entry: 'functions/batch/split.ts',
      description: 'infera batch: plans an upload into chunks and queues them',
      serviceName,
      onnxRuntime: props.onnxRuntime,
      memorySize: BATCH_MEMORY_MB.split,
      timeout: Duration.minutes(5),
      ...reserve(5),
      models,
      environment,
    });
    this.splitFailedFunction = new InferaFunction(this, 'SplitFailed', {
      entry: 'functions/batch/split-failed.ts',
      description:
        'infera batch: ends a job failed, with its reason, when the split step failed on every attempt',
      serviceName,
      onnxRuntime: props.onnxRuntime,
      memorySize: 512,
      timeout: Duration.seconds(30),
      ...reserve(2),
      models,
      environment,
    });
    this.splitFunction.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new LambdaFunctionDestination(this.splitFailedFunction),
    });
    acknowledge(
      this.splitFunction.role as IConstruct,
      "Lambda delivers the on-failure record by invoking the split-failed function's versions (<arn>:*); lambda:InvokeFunction on that one function only.",
      finding(this, 'AwsSolutions-IAM5', 'Resource', `${this.splitFailedFunction.functionArn}:*`),
    );
    this.scoreFunction = new InferaFunction(this, 'Score', {
      entry: 'functions/batch/score.ts',
      description: 'infera batch: scores one chunk per message, writes its part and error file',
      serviceName,
      onnxRuntime: props.onnxRuntime,
      memorySize: props.scoreMemorySize ?? BATCH_MEMORY_MB.score,
      timeout: scoreTimeout,
      // The event source never runs more than maxConcurrency; reserving as many guarantees them.
      ...reserve(maxConcurrency),
      models,
      environment,
    });
    this.apiFunction = new InferaFunction(this, 'Api', {
      entry: 'functions/api/batch.ts',
      description: 'infera batch API: upload tickets, job status and result links',
      serviceName,
      onnxRuntime: props.onnxRuntime,
      memorySize: 512,
      timeout: Duration.seconds(10),
      ...reserve(10),
      models,
      environment,
    });

    // Named actions only: no s3:*Object* style wildcards.
    const read = (bucket: IBucket, fn: IGrantable) =>
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects('*')],
        }),
      );
    const write = (bucket: IBucket, fn: IGrantable) =>
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [bucket.arnForObjects('*')],
        }),
      );
    const list = (bucket: IBucket, fn: IGrantable) =>
      fn.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
        }),
      );
    for (const fn of [this.splitFunction, this.scoreFunction, this.apiFunction, this.splitFailedFunction]) {
      read(this.inputBucket, fn);
      read(this.outputBucket, fn);
      write(this.outputBucket, fn);
      list(this.outputBucket, fn);
    }
    write(this.inputBucket, this.apiFunction); // presigned PUT and multipart uploads are signed with its role
    this.queue.grantSendMessages(this.splitFunction);
    this.deadLetterQueue.grantSendMessages(this.scoreFunction);
    for (const endpoint of props.endpoints ?? []) endpoint.grantInvoke(this.scoreFunction);

    // Upload suffixes that start a job: the formats the split function reads.
    for (const suffix of Object.keys(BATCH_SUFFIXES)) {
      this.inputBucket.addEventNotification(
        EventType.OBJECT_CREATED,
        new LambdaDestination(this.splitFunction),
        {
          suffix,
        },
      );
    }
    tendNotificationsHandler(this, reserving);
    this.scoreFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );

    this.dlqAlarm = new Alarm(this, 'DeadLetterDepth', {
      alarmDescription:
        'Batch chunks are in the dead-letter queue: a job ended partial. Each message carries its reason; the job summary lists the chunk.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.splitFailureAlarm = new Alarm(this, 'SplitFailures', {
      alarmDescription:
        'An upload could not be split after three attempts; its job ended failed with the error as its reason (GET /v1/batch/{id}).',
      metric: this.splitFailedFunction.metricInvocations({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      for (const alarm of [this.dlqAlarm, this.splitFailureAlarm]) {
        alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      }
    }

    for (const fn of [this.splitFunction, this.scoreFunction, this.apiFunction, this.splitFailedFunction]) {
      acknowledge(
        fn.role as IConstruct,
        'Job records, parts and uploads have generated keys under <bucket>/*; the actions are named (GetObject, PutObject, AbortMultipartUpload), none is a wildcard.',
        ...[this.inputBucket, this.outputBucket].map((b) =>
          finding(fn, 'AwsSolutions-IAM5', 'Resource', b.arnForObjects('*')),
        ),
      );
    }
  }
}
