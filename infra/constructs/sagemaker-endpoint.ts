import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import { PredefinedMetric, ScalableTarget, ServiceNamespace } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, Grant, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { defaultEndpointName, endpointPrefixOf, hardwareOf } from '#core/model/placement.ts';
import { modelTarball } from '../lib/model-tarball.ts';
import { acknowledge, finding } from '../lib/nag.ts';
import { type ImageBuild, type ServingImage, ServingImages } from './serving-image.ts';

/**
 * The SageMaker inference AMI of a GPU variant that runs infera's cuda image: NVIDIA driver 550,
 * CUDA 12.4, the CUDA version the image is built on, so no forward-compatibility libraries are
 * needed (AWS rule sagemaker-inference-ami).
 */
export const GPU_INFERENCE_AMI = 'al2-ami-sagemaker-inference-gpu-3-1';

export interface ServerlessInference {
  /** 1024-6144, in steps of 1024. */
  readonly memorySizeMb: number;
  /** 1-200. */
  readonly maxConcurrency: number;
}

export interface AsyncInference {
  /** Where SageMaker writes results. */
  readonly outputBucket: IBucket;
  /** @default 'async-results/' */
  readonly outputPrefix?: string;
  /** @default 4 */
  readonly maxConcurrentInvocationsPerInstance?: number;
}

export interface SageMakerModelEndpointProps {
  readonly modelName: string;
  readonly modelVersion: string;
  /** @default <stack name in lower case>-<model>-<version>: the name the router's route expects (ENDPOINT_PREFIX) */
  readonly endpointName?: string;
  /**
   * The model version folder, packed into model.tar.gz for the repo's serving container.
   * Required unless `imageUri` and `modelDataUrl` are both set.
   * @default none
   */
  readonly modelDir?: string;
  /**
   * A user image (e.g. a Neuron serving image for Inferentia) instead of the repo's container.
   * @default the repo's ONNX serving container, built from functions/container/Dockerfile: the
   * cuda target on GPU instances (ml.g*, ml.p*), the cpu target elsewhere
   */
  readonly imageUri?: string;
  /**
   * How the repo's container is built: in CodeBuild during the deployment (no local Docker) or
   * by the local Docker engine.
   * @default 'codebuild'
   */
  readonly imageBuild?: ImageBuild;
  /**
   * s3://bucket/key of model.tar.gz for a user image.
   * @default model.tar.gz built from `modelDir` and uploaded as an asset
   */
  readonly modelDataUrl?: string;
  /** @default 'ml.g5.xlarge' */
  readonly instanceType?: string;
  /** @default 1 */
  readonly instanceCount?: number;
  /** @default 'AllTraffic' */
  readonly variantName?: string;
  /**
   * Autoscaling ceiling. The floor is `instanceCount`; real-time instance endpoints cannot scale to zero.
   * @default instanceCount * 4
   */
  readonly maxInstanceCount?: number;
  /**
   * Target of SageMakerVariantInvocationsPerInstance (calls per instance per minute).
   * @default 300
   */
  readonly invocationsPerInstanceTarget?: number;
  /**
   * Blue/green canary: share of capacity that takes traffic first, and how long it bakes; the
   * 5xx and latency alarms roll it back. A serverless endpoint shifts all at once, then bakes.
   * `false`: no guarded update (SageMaker's plain blue/green) and no alarms.
   * @default { capacityPercent: 10, bakeMinutes: 5 }
   */
  readonly canary?: { readonly capacityPercent: number; readonly bakeMinutes: number } | false;
  /**
   * Serverless inference instead of instances: no idle cost, cold starts, CPU only, 6 GB max.
   * @default instances
   */
  readonly serverless?: ServerlessInference;
  /**
   * Asynchronous inference: requests queue, results land in S3.
   * @default real-time
   */
  readonly async?: AsyncInference;
  /**
   * KMS key for the instances' ML storage volumes. Leave unset for instance types with local
   * NVMe storage (g5, g6, inf2, p4...), which SageMaker encrypts in hardware and which reject a key.
   * @default none
   */
  readonly volumeKey?: IKey;
  /** @default no alarm actions */
  readonly alarmTopic?: ITopic;
  /**
   * Run the container with no network. Serverless Inference cannot (AWS rule
   * sagemaker-serverless-features), and cdk synth fails if it is asked to.
   * @default true on instances, false on serverless
   */
  readonly networkIsolation?: boolean;
}

/**
 * One heavy model version on a SageMaker real-time endpoint: model, endpoint config and endpoint,
 * with autoscaling on invocations per instance, blue/green canary updates that roll back when
 * the endpoint's 5xx or latency alarm fires, and an invoke grant scoped to this endpoint's ARN.
 */
export class SageMakerModelEndpoint extends Construct {
  readonly endpointName: string;
  readonly variantName: string;
  readonly endpoint: CfnEndpoint;
  readonly endpointConfig: CfnEndpointConfig;
  readonly model: CfnModel;
  readonly role: Role;
  readonly endpointArn: string;
  /** Unset when `canary` is false. */
  readonly errorAlarm: Alarm | undefined;
  readonly latencyAlarm: Alarm | undefined;
  readonly scaling: ScalableTarget | undefined;
  readonly isAsync: boolean;
  /** Set for a serverless endpoint. */
  readonly serverless: ServerlessInference | undefined;
  /** The accelerator its instances carry; serverless endpoints are CPU. */
  readonly hardware: 'gpu' | 'neuron' | 'cpu';
  /** The repo's serving image it runs; unset with a user image. */
  readonly image: ServingImage | undefined;

  constructor(scope: Construct, id: string, props: SageMakerModelEndpointProps) {
    super(scope, id);
    this.endpointName =
      props.endpointName ??
      defaultEndpointName(props.modelName, props.modelVersion, endpointPrefixOf(Stack.of(this).stackName));
    this.serverless = props.serverless;
    this.variantName = props.variantName ?? 'AllTraffic';
    this.isAsync = props.async !== undefined;
    if (props.serverless && props.async) {
      throw new Error(`${this.node.path}: choose serverless or async inference, not both.`);
    }
    if (props.imageUri && !props.modelDataUrl && !props.modelDir) {
      throw new Error(
        `${this.node.path}: a user image needs modelDataUrl (s3://.../model.tar.gz) or modelDir.`,
      );
    }
    this.endpointArn = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: this.endpointName.toLowerCase(),
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker execution role of ${this.endpointName}: its image, its model data, its logs and metrics.`,
    });
    const logGroupArn = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${this.endpointName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [logGroupArn],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': ['/aws/sagemaker/Endpoints', 'infera'] } },
      }),
    );

    const instanceType = props.instanceType ?? 'ml.g5.xlarge';
    const instanceCount = props.instanceCount ?? 1;
    this.hardware = props.serverless ? 'cpu' : hardwareOf(instanceType);
    if (this.hardware === 'neuron' && !props.imageUri) {
      throw new Error(
        `${this.node.path}: ${instanceType} carries AWS Inferentia or Trainium chips, which run Neuron-compiled models, not ONNX; set imageUri to a Neuron serving image and modelDataUrl to the compiled model.tar.gz (docs/heavy-models.md), or pick a GPU type such as ml.g5.xlarge.`,
      );
    }
    let image: string;
    if (props.imageUri) {
      image = props.imageUri;
      this.image = undefined;
    } else {
      this.image = ServingImages.of(this, props.imageBuild ?? 'codebuild').image(
        this.hardware === 'gpu' ? 'cuda' : 'cpu',
      );
      this.image.grantPull(this.role);
      image = this.image.imageUri;
    }
    let modelDataUrl = props.modelDataUrl;
    if (!modelDataUrl) {
      if (!props.modelDir) throw new Error(`${this.node.path}: set modelDir (the model version folder).`);
      const tarball = modelTarball(props.modelDir, join(tmpdir(), 'infera-model-tarballs'));
      const data = new Asset(this, 'ModelData', { path: tarball.path });
      // This one object, not the whole staging bucket that grantRead would open.
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject'],
          resources: [`arn:${Aws.PARTITION}:s3:::${data.s3BucketName}/${data.s3ObjectKey}`],
        }),
      );
      modelDataUrl = data.s3ObjectUrl;
    }

    const isolated = props.networkIsolation ?? !props.serverless;
    this.model = new CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image,
        modelDataUrl,
        environment: {
          POWERTOOLS_SERVICE_NAME: this.endpointName,
          // The image's flavour names its provider (cpu or cuda); the cuda image serves on the GPU
          // or fails its health check, and never falls back to CPU.
          ...(this.image ? { INFERA_EXECUTION_PROVIDER: this.image.flavour } : {}),
        },
      },
      // Serverless Inference refuses network isolation (AWS rule sagemaker-serverless-features):
      // the endpoint would fail to create and the stack roll back.
      enableNetworkIsolation: isolated,
    });
    this.model.node.addDependency(this.role);

    this.endpointConfig = new CfnEndpointConfig(this, 'Config', {
      productionVariants: [
        {
          variantName: this.variantName,
          modelName: this.model.attrModelName,
          initialVariantWeight: 1,
          ...(props.serverless
            ? {
                serverlessConfig: {
                  memorySizeInMb: props.serverless.memorySizeMb,
                  maxConcurrency: props.serverless.maxConcurrency,
                },
              }
            : {
                instanceType,
                initialInstanceCount: instanceCount,
                ...(this.image?.flavour === 'cuda' ? { inferenceAmiVersion: GPU_INFERENCE_AMI } : {}),
              }),
        },
      ],
      ...(props.volumeKey ? { kmsKeyId: props.volumeKey.keyArn } : {}),
      ...(props.async
        ? {
            asyncInferenceConfig: {
              outputConfig: {
                s3OutputPath: props.async.outputBucket.s3UrlForObject(
                  props.async.outputPrefix ?? 'async-results/',
                ),
              },
              clientConfig: {
                maxConcurrentInvocationsPerInstance: props.async.maxConcurrentInvocationsPerInstance ?? 4,
              },
            },
          }
        : {}),
    });
    if (props.async) {
      this.role.addToPolicy(
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [
            props.async.outputBucket.arnForObjects(`${props.async.outputPrefix ?? 'async-results/'}*`),
          ],
        }),
      );
    }

    const canary = props.canary ?? { capacityPercent: 10, bakeMinutes: 5 };
    const alarms = canary ? this.#rollbackAlarms(props.alarmTopic) : undefined;
    this.errorAlarm = alarms?.[0];
    this.latencyAlarm = alarms?.[1];
    this.endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      ...(canary && alarms
        ? {
            deploymentConfig: {
              blueGreenUpdatePolicy: {
                trafficRoutingConfiguration: props.serverless
                  ? { type: 'ALL_AT_ONCE', waitIntervalInSeconds: canary.bakeMinutes * 60 }
                  : {
                      type: 'CANARY',
                      canarySize: { type: 'CAPACITY_PERCENT', value: canary.capacityPercent },
                      waitIntervalInSeconds: canary.bakeMinutes * 60,
                    },
                terminationWaitInSeconds: 600,
                maximumExecutionTimeoutInSeconds: 3600,
              },
              autoRollbackConfiguration: { alarms: alarms.map((a) => ({ alarmName: a.alarmName })) },
            },
          }
        : {}),
    });

    if (!props.serverless) {
      this.scaling = new ScalableTarget(this, 'Scaling', {
        serviceNamespace: ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.endpointName}/variant/${this.variantName}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity: instanceCount,
        maxCapacity: props.maxInstanceCount ?? instanceCount * 4,
      });
      this.scaling.node.addDependency(this.endpoint);
      this.scaling.scaleToTrackMetric('InvocationsPerInstance', {
        predefinedMetric: PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        targetValue: props.invocationsPerInstanceTarget ?? 300,
        scaleInCooldown: Duration.minutes(10),
        scaleOutCooldown: Duration.minutes(2),
      });
    }

    acknowledge(
      this.role,
      'cloudwatch:PutMetricData has no resource-level permissions (a namespace condition limits it), ecr:GetAuthorizationToken is account-wide by design, and the log group ARN ends in :* to cover its streams.',
      'AwsSolutions-IAM5[Resource::*]',
      finding(this, 'AwsSolutions-IAM5', 'Resource', logGroupArn),
    );
    acknowledge(
      this.model,
      !isolated
        ? 'This model runs without network isolation: SageMaker Serverless Inference supports neither it nor VPC configuration (AWS rule sagemaker-serverless-features), or its manifest turned it off. The container has no inbound network, and its role can read only its own model data and write its own logs.'
        : 'The model runs with network isolation (no inbound or outbound network from the container), so a VPC adds cost (NAT, endpoints) without reducing exposure. Put it in a VPC with vpcConfig if your policy requires.',
      'AwsSolutions-SM1',
    );
    if (!props.volumeKey) {
      acknowledge(
        this.endpointConfig,
        'GPU and Inferentia instances (g5, g6, inf2) carry NVMe instance storage that SageMaker encrypts in hardware and that rejects KmsKeyId, and serverless endpoints take no volume key; pass volumeKey for instance types with EBS volumes.',
        'AwsSolutions-SM2',
      );
    }
  }

  /** The 5xx and p99 ModelLatency alarms that roll a guarded update back. */
  #rollbackAlarms(topic: ITopic | undefined): [Alarm, Alarm] {
    const minute = Duration.minutes(1);
    const dims = { EndpointName: this.endpointName, VariantName: this.variantName };
    const errorAlarm = new Alarm(this, 'Errors5xx', {
      alarmDescription: `${this.endpointName}: the model container answered 5xx. During an endpoint update this rolls it back to the old fleet.`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'Invocation5XXErrors',
        dimensionsMap: dims,
        period: minute,
        statistic: 'Sum',
      }),
      threshold: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const latencyAlarm = new Alarm(this, 'ModelLatencyP99', {
      alarmDescription: `${this.endpointName}: p99 ModelLatency above 5 s. During an endpoint update this rolls it back.`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLatency',
        dimensionsMap: dims,
        period: minute,
        statistic: 'p99',
      }),
      threshold: 5_000_000, // ModelLatency is in microseconds.
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (topic) for (const alarm of [errorAlarm, latencyAlarm]) alarm.addAlarmAction(new SnsAction(topic));
    return [errorAlarm, latencyAlarm];
  }

  /** sagemaker:InvokeEndpoint (and InvokeEndpointAsync for async endpoints) on this endpoint only. */
  grantInvoke(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: this.isAsync
        ? ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync']
        : ['sagemaker:InvokeEndpoint'],
      resourceArns: [this.endpointArn],
    });
  }
}
