import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { batchWorkers } from '#core/batch/in-flight.ts';
import { type EndpointRef, endpointPrefixOf } from '#core/model/placement.ts';
import type { ModelEntry, ModelRegistry } from '#core/model/registry.ts';
import { qualityModelsJson } from '#core/quality/models-env.ts';
import type { DeployConfig } from '../config.ts';
import { BatchScoringPipeline } from '../constructs/batch-pipeline.ts';
import { InferaFunction } from '../constructs/infera-function.ts';
import { InferenceApi } from '../constructs/inference-api.ts';
import { LightModelFunction } from '../constructs/light-model-function.ts';
import { ModelQuality } from '../constructs/model-quality.ts';
import { ModelStore } from '../constructs/model-store.ts';
import { Observability } from '../constructs/observability.ts';
import { OnnxRuntimeLayer } from '../constructs/onnxruntime-layer.ts';
import { SageMakerModelEndpoint } from '../constructs/sagemaker-endpoint.ts';
import { modelLayout } from '../lib/layout.ts';
import { modelFunctionName, sharedModelsFunctionName } from '../lib/names.ts';

export interface InferaStackProps extends StackProps {
  /** The models, as the registry loaded and checked them from `modelsDir`. */
  readonly registry: ModelRegistry;
  readonly modelsDir: string;
  readonly config: DeployConfig;
}

/**
 * The whole platform for the models in models/: the onnxruntime layer, one function (with its
 * alias, canary and pre-traffic hook) per model, a SageMaker endpoint per heavy model version,
 * the batch pipeline, the API, and the dashboard with its alarm topic.
 */
export class InferaStack extends Stack {
  /** Unset with infera:api=false. */
  readonly api: InferenceApi | undefined;
  readonly layer: OnnxRuntimeLayer;
  /** Each model's function: its own, or the shared one. */
  readonly models: ReadonlyMap<string, LightModelFunction>;
  /** The model store, with infera:modelStore. */
  readonly store: ModelStore | undefined;
  /** The function every model shares, when the layout is shared. */
  readonly sharedModels: LightModelFunction | undefined;
  readonly endpoints: ReadonlyMap<string, SageMakerModelEndpoint>;
  readonly batch: BatchScoringPipeline | undefined;
  /** Unset with infera:dashboard=false. */
  readonly observability: Observability | undefined;
  /** Labelled quality, when a model has a quality section (or infera:quality). */
  readonly quality: ModelQuality | undefined;
  readonly modelsFunction: InferaFunction;

  constructor(scope: Construct, id: string, props: InferaStackProps) {
    super(scope, id, props);
    const { registry, config, modelsDir } = props;
    const retention = config.logRetentionDays as RetentionDays;
    const reserve = (n: number) => (config.reservedConcurrency ? n : undefined);

    this.observability = config.dashboard
      ? new Observability(this, 'Observability', {
          dashboardName: `${this.stackName}-infera`,
          ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
        })
      : undefined;
    const alarmTopic = this.observability?.alarmTopic;
    this.layer = new OnnxRuntimeLayer(this, 'OnnxRuntime', {
      architecture: config.architecture === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
    });

    const servedBySageMaker = (m: ModelEntry) => m.versions.some((v) => v.placement.target === 'sagemaker');
    const deployed = registry.list().filter((m) => config.sagemaker !== 'off' || !servedBySageMaker(m));
    const leftOut = registry.list().filter((m) => !deployed.includes(m));
    if (leftOut.length > 0) {
      Annotations.of(this).addInfo(
        `infera:sagemaker=off leaves out the models served by SageMaker: ${leftOut.map((m) => m.name).join(', ')}`,
      );
    }
    const remote = deployed.flatMap((m) => m.versions).filter((mv) => mv.placement.target === 'sagemaker');
    const remoteKeys = remote.map((mv) => `${mv.name}@${mv.version}`);
    // Pin the synth-time route in the functions, so "auto" decides the same way without the weights.
    // Drift events go to the account's default bus, where a rule on source infera.monitoring can
    // start a retraining pipeline. The model functions may put events there and nowhere else.
    const driftEvents = EventBus.fromEventBusName(this, 'DriftEvents', 'default');
    const routeEnv: Record<string, string> = remote.length
      ? {
          ROUTE_OVERRIDES: remoteKeys.map((k) => `${k}=sagemaker`).join(','),
          ENDPOINT_PREFIX: endpointPrefixOf(this.stackName),
        }
      : {};

    const endpoints = new Map<string, SageMakerModelEndpoint>();
    for (const mv of remote) {
      const ep = mv.placement.endpoint;
      if (!ep) continue;
      const serverless = endpointCapacity(`${mv.name}@${mv.version}`, ep, config.sagemaker);
      const endpoint = new SageMakerModelEndpoint(this, `Endpoint-${mv.name}-${mv.version}`, {
        modelName: mv.name,
        modelVersion: mv.version,
        endpointName: ep.name,
        variantName: ep.variant,
        ...(serverless
          ? { serverless }
          : {
              ...(ep.instanceType ? { instanceType: ep.instanceType } : {}),
              ...(ep.instanceCount ? { instanceCount: ep.instanceCount } : {}),
            }),
        ...(ep.image ? { imageUri: ep.image } : { imageBuild: config.imageBuild }),
        ...(ep.networkIsolation !== undefined ? { networkIsolation: ep.networkIsolation } : {}),
        ...(ep.modelDataUrl ? { modelDataUrl: ep.modelDataUrl } : { modelDir: mv.dir }),
        ...(config.canary ? {} : { canary: false as const }),
        ...(alarmTopic ? { alarmTopic } : {}),
      });
      endpoints.set(`${mv.name}@${mv.version}`, endpoint);
      this.observability?.addEndpoint(endpoint);
    }
    this.endpoints = endpoints;

    const models = new Map<string, LightModelFunction>();
    const layout = config.modelStore ? 'shared' : modelLayout(config.modelFunctions, deployed.length);
    // Model packages and policies outside the code: one model releases without a deploy.
    const store = config.modelStore
      ? new ModelStore(this, 'ModelStore', {
          removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        })
      : undefined;
    if (store && remote.length > 0) {
      Annotations.of(this).addError(
        `infera:modelStore serves in-process models, and ${remoteKeys.join(', ')} run on SageMaker: deploy those from a stack without infera:modelStore, or leave them out with -c infera:sagemaker=off.`,
      );
    }
    this.store = store;
    // What every model function gets, in either layout.
    const functionProps = {
      modelsDir,
      onnxRuntime: this.layer,
      trafficShift: config.trafficShift,
      canary: config.canary,
      alarms: config.canary || config.dashboard,
      ...(config.provisionedConcurrency > 0 ? { provisionedConcurrency: config.provisionedConcurrency } : {}),
      ...(alarmTopic ? { alarmTopic } : {}),
      environment: routeEnv,
      driftEvents,
      logRetention: retention,
    };
    this.sharedModels = undefined;
    if (layout === 'shared' && deployed.length > 0) {
      const fn = new LightModelFunction(this, 'SharedModels', {
        ...functionProps,
        model: deployed,
        ...(store ? { store: { construct: store, packageCacheMb: config.packageCacheMb } } : {}),
        ...(config.reservedConcurrency ? { reservedConcurrency: config.sharedConcurrency } : {}),
        functionName: sharedModelsFunctionName(this.stackName),
      });
      for (const ep of endpoints.values()) fn.routesTo(ep);
      for (const entry of deployed) models.set(entry.name, fn);
      this.sharedModels = fn;
      this.observability?.addModel(fn);
      Annotations.of(this).addInfo(
        `${deployed.length} models share one function (infera:modelFunctions=${config.modelFunctions}); see docs/many-models.md`,
      );
      new CfnOutput(this, 'SharedModelsFunction', {
        value: fn.function.functionName,
        description: `Lambda function serving all ${deployed.length} models; its "live" alias is what the API calls.`,
      });
    }
    for (const entry of layout === 'shared' ? [] : deployed) {
      const fallbacks = [
        ...new Set(entry.versions.flatMap((v) => (v.placement.fallback ? [v.placement.fallback.model] : []))),
      ];
      const fn = new LightModelFunction(this, `Model-${entry.name}`, {
        ...functionProps,
        model: entry,
        alsoServe: fallbacks,
        ...(config.reservedConcurrency ? { reservedConcurrency: config.modelConcurrency } : {}),
        functionName: modelFunctionName(this.stackName, entry.name),
      });
      for (const v of entry.versions) {
        const ep = endpoints.get(`${v.name}@${v.version}`);
        if (ep) fn.routesTo(ep);
      }
      models.set(entry.name, fn);
      this.observability?.addModel(fn);
      new CfnOutput(this, `Function-${entry.name}`, {
        value: fn.function.functionName,
        description: `Lambda function serving ${entry.name}; its "live" alias is what the API calls.`,
      });
    }
    this.models = models;

    // Labelled quality: on when a deployed model's live version has a quality section.
    const live = deployed.flatMap((m) =>
      m.versions.filter((v) => v.version === m.aliases.live).map((v) => v.manifest),
    );
    const judged = new Map(live.flatMap((m) => (m.quality ? [[m.name, m.quality] as const] : [])));
    this.quality =
      (config.quality ?? judged.size > 0)
        ? new ModelQuality(this, 'Quality', {
            models: judged,
            modelsJson: qualityModelsJson(live),
            removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
            retentionDays: config.qualityRetentionDays,
            scheduleMinutes: config.qualityScheduleMinutes,
            scanLimitBytes: Math.round(config.qualityScanLimitGb * 1024 ** 3),
            events: driftEvents,
            ...(alarmTopic ? { alarmTopic } : {}),
            logRetention: retention,
            ...(config.reservedConcurrency ? { reservedConcurrency: 1 } : {}),
          })
        : undefined;
    if (this.quality) {
      for (const fn of new Set(models.values())) this.quality.logPredictionsFrom(fn.function);
      new CfnOutput(this, 'QualityBucket', {
        value: this.quality.bucket.bucketName,
        description:
          'Upload ground truth to ground-truth/<model>/<file>.jsonl|.csv (or infera feedback submit); reports under reports/.',
      });
    }

    const allNames = deployed.map((m) => m.name);
    this.modelsFunction = new InferaFunction(this, 'ModelsApi', {
      entry: 'functions/api/models.ts',
      description: 'infera: model list and metadata, health, OpenAPI',
      serviceName: 'infera-models',
      onnxRuntime: this.layer,
      memorySize: 1024,
      reservedConcurrentExecutions: reserve(10),
      ...(store
        ? { modelStore: true }
        : { models: { from: modelsDir, names: allNames, withoutWeights: remoteKeys } }),
      environment: {
        ...(store ? store.environment : { MODELS_DIR: '/var/task/models' }),
        ...routeEnv,
        ...this.quality?.environment,
      },
      logRetention: retention,
    });
    this.quality?.grantLabelsAndReports(this.modelsFunction);
    if (store) {
      store.grantRead(this.modelsFunction);
      new CfnOutput(this, 'ModelStoreBucket', {
        value: store.bucket.bucketName,
        description: 'Model packages (infera publish uploads them; objects are named by sha256).',
      });
      new CfnOutput(this, 'ModelStoreTable', {
        value: store.table.tableName,
        description:
          'One record per model: its published versions and traffic policy, with every revision kept.',
      });
    }

    if (config.batch) {
      // A serverless endpoint throttles calls beyond its MaxConcurrency: batch stays under it.
      const workers = batchWorkers(
        config.batchMaxConcurrency,
        [...endpoints].flatMap(([key, ep]) =>
          ep.serverless ? [{ key, maxConcurrency: ep.serverless.maxConcurrency }] : [],
        ),
      );
      if (workers.limitedBy) {
        Annotations.of(this).addInfo(
          `batch scoring runs at most ${workers.workers} workers (infera:batchMaxConcurrency ${config.batchMaxConcurrency}), held under ${workers.limitedBy}`,
        );
      }
      this.batch = new BatchScoringPipeline(this, 'Batch', {
        onnxRuntime: this.layer,
        models: allNames,
        remoteVersions: remoteKeys,
        endpoints: [...endpoints.values()],
        modelsDir,
        maxConcurrency: workers.workers,
        scoreMemorySize: config.batchScoreMemoryMb,
        reservedConcurrency: config.reservedConcurrency,
        ...(alarmTopic ? { alarmTopic } : {}),
        removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        environment: { ...routeEnv, ...(config.batchSharedView ? { BATCH_SHARED_VIEW: 'true' } : {}) },
      });
      this.observability?.addBatch(this.batch);
      this.quality?.logPredictionsFrom(this.batch.scoreFunction);
      new CfnOutput(this, 'BatchInputBucket', { value: this.batch.inputBucket.bucketName });
      new CfnOutput(this, 'BatchOutputBucket', { value: this.batch.outputBucket.bucketName });
    }

    this.api = config.api ? this.#api(config, models) : undefined;
    this.observability?.addAlarmSummary();

    if (this.api) {
      new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the inference API.' });
    }
    if (this.observability) {
      new CfnOutput(this, 'AlarmTopicArn', {
        value: this.observability.alarmTopic.topicArn,
        description: 'Subscribe to this SNS topic to hear about alarms.',
      });
      new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    }
  }

  #api(config: DeployConfig, models: ReadonlyMap<string, LightModelFunction>): InferenceApi {
    return new InferenceApi(this, 'Api', {
      models: this.sharedModels
        ? []
        : [...models.values()].map((m) => ({ name: m.modelName, handler: m.alias })),
      ...(this.sharedModels ? { sharedHandler: this.sharedModels.alias } : {}),
      modelsHandler: this.modelsFunction,
      ...(this.batch ? { batchHandler: this.batch.apiFunction } : {}),
      auth:
        config.auth === 'jwt'
          ? { type: 'jwt', issuer: config.jwtIssuer as string, audience: config.jwtAudience ?? [] }
          : { type: 'iam' },
      publicHealth: config.publicHealth,
      publicPaths: config.publicPaths,
      corsOrigins: config.corsOrigins,
      throttleRateLimit: config.throttleRate,
      throttleBurstLimit: config.throttleBurst,
    });
  }
}

/** The default size of an endpoint that infera:sagemaker=serverless makes serverless. */
export const DEFAULT_SERVERLESS = { memorySizeMb: 2048, maxConcurrency: 5 } as const;

/**
 * Serverless settings for an endpoint, or undefined for instances: the manifest decides, unless
 * infera:sagemaker=serverless makes every endpoint serverless (a Neuron image cannot be).
 */
function endpointCapacity(
  key: string,
  ep: EndpointRef,
  mode: DeployConfig['sagemaker'],
): { memorySizeMb: number; maxConcurrency: number } | undefined {
  if (ep.serverless)
    return { memorySizeMb: ep.serverless.memoryMb, maxConcurrency: ep.serverless.maxConcurrency };
  if (mode !== 'serverless') return undefined;
  if (ep.instanceType?.startsWith('ml.inf')) {
    throw new Error(
      `${key} runs on Inferentia (${ep.instanceType}), which SageMaker Serverless cannot; deploy with -c infera:sagemaker=manifest, or leave it out with -c infera:sagemaker=off`,
    );
  }
  return { ...DEFAULT_SERVERLESS };
}
