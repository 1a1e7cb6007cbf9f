import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { GoldenCase } from '#core/model/golden.ts';
import { readCheckedManifest } from '#core/model/repository/checked-manifest.ts';
import { buildApp } from '../../infra/app.ts';
import { bundleBytes, stagedPath } from '../../infra/constructs/onnxruntime-layer.ts';
import { AwsSolutionsChecks } from '../../infra/lib/nag.ts';
import { startGraph } from '../../infra/lib/split-bundle.ts';
import type { InferaStack } from '../../infra/stacks/infera-stack.ts';
import { LAMBDA_UNZIPPED_LIMIT_BYTES } from '../../layers/onnxruntime/build.ts';
import { copyModelsSync, MODELS, run } from '../helpers.ts';
import { type LambdaApi, startLambdaApi } from '../support/lambda-api.ts';
import { LAMBDA_TEST_ENV, lambdaLike } from '../support/lambda-task.ts';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

let outdir: string;
let models: string;
let stack: InferaStack;
let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const props = (r: Resource) => r.Properties ?? {};
/** The logical id of a construct's CloudFormation resource. */
const lid = (c: { node: { defaultChild?: unknown } } | undefined) => {
  assert.ok(c, 'the construct exists in the default deployment');
  return stack.getLogicalId(c.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
};

before(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'infera-synth-'));
  models = copyModelsSync();
  ({ stack } = await buildApp({ outdir, context: { 'infera:models': models } }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});
after(() => {
  for (const d of [outdir, models]) rmSync(d, { recursive: true, force: true });
});

describe('OnnxRuntimeLayer', () => {
  it('holds onnxruntime-node and onnxruntime-common with only the Linux x64 binaries, and no AWS SDK or Powertools', () => {
    const files = stack.layer.build.files.map((f) => f.path);
    assert.ok(
      files.includes('nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'),
    );
    assert.ok(
      files.includes('nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'),
    );
    assert.ok(files.some((f) => f.startsWith('nodejs/node_modules/onnxruntime-common/dist/cjs/')));
    assert.deepEqual(
      files.filter((f) => /\/bin\//.test(f) && !f.includes('/linux/x64/')),
      [],
      'no other platform or architecture',
    );
    assert.deepEqual(
      files.filter((f) => /@aws-sdk|@aws-lambda-powertools|\.map$|\.d\.ts$/.test(f)),
      [],
    );
  });

  it('is published for nodejs24.x on x86_64 and used by every function that scores', () => {
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: ['x86_64'],
    });
    const layer = lid(stack.layer.layer);
    const scoring = [...stack.models.values()].map((m) => m.function).concat([stack.modelsFunction]);
    if (stack.batch)
      scoring.push(stack.batch.scoreFunction, stack.batch.splitFunction, stack.batch.apiFunction);
    for (const fn of scoring) {
      assert.deepEqual(props(resources[lid(fn)] as Resource).Layers, [{ Ref: layer }], fn.node.path);
    }
  });

  it('fits with the largest function under the 250 MB unzipped limit, measured from the staged bundles', () => {
    const [largest] = stack.layer.sizes();
    assert.ok(largest && largest.bundleBytes > 100_000, 'the bundles were really built and measured');
    assert.ok(stack.layer.build.unzippedBytes > 10_000_000, 'the layer really holds the native library');
    assert.ok(stack.layer.build.unzippedBytes + largest.bundleBytes < LAMBDA_UNZIPPED_LIMIT_BYTES);
  });

  it('leaves onnxruntime-node out of the bundles and the heavy model weights out of its function', () => {
    const xl = stack.models.get('fraud-detector-xl');
    assert.ok(xl);
    const light = stack.models.get('fraud-detector');
    assert.ok(light);
    assert.ok(
      bundleBytes(xl.function) < 5_000_000,
      'fraud-detector-xl function ships without its 8 MB model.onnx',
    );
    const code = readFileSync(join(stagedPath(light.function) as string, 'index.mjs'), 'utf8');
    assert.match(code, /from"onnxruntime-node"|from "onnxruntime-node"/);
    assert.ok(!code.includes('InferenceSession.create=') && code.length < 4_000_000);
  });
});

describe("the functions' own build (infra/lib/split-bundle.ts)", () => {
  it('ships every function as the code-split ESM build B4 times: the SageMaker client, image pool, X-Ray SDK and manifest schema only as chunks loaded on first need', () => {
    for (const fn of [stack.models.get('fraud-detector')?.function, stack.modelsFunction]) {
      assert.ok(fn);
      const dir = stagedPath(fn) as string;
      const chunks = readdirSync(join(dir, 'chunks'));
      assert.ok(chunks.length > 3, `${fn.node.path} has its chunks: ${chunks.join(', ')}`);
      // What a cold start loads: index.mjs and the chunks it imports statically, transitively.
      const loaded = new Set(startGraph(dir));
      const lazy = chunks.filter((c) => /^(sagemaker|image-pool)-/.test(c));
      assert.ok(lazy.length > 0, `${fn.node.path}: the lazy chunks exist`);
      for (const c of lazy) assert.ok(!loaded.has(join('chunks', c)), `${c} is not loaded at start`);
      // The X-Ray SDK (loaded after the cold start's answer) and the manifest schema (the bundle's
      // manifests are checked at build time) are shipped, but not in what a start loads.
      for (const mark of ['AWS_XRAY_DAEMON_ADDRESS', 'is missing its output']) {
        const where = ['index.mjs', ...chunks.map((c) => join('chunks', c))].filter((f) =>
          readFileSync(join(dir, f), 'utf8').includes(mark),
        );
        assert.ok(where.length > 0, `${fn.node.path} ships the code that says "${mark}"`);
        for (const f of where) assert.ok(!loaded.has(f), `${f} ("${mark}") is not loaded at start`);
      }
    }
  });
});

describe('manifests checked at build time (infra/lib/package-models.ts)', () => {
  it('ships every version with a model.checked.json made from its model.json, so start-up skips the schema', async () => {
    const fn = stack.models.get('fraud-detector')?.function;
    assert.ok(fn);
    const models = join(stagedPath(fn) as string, 'models');
    const versions = readdirSync(join(models, 'fraud-detector')).filter((v) => /^\d+$/.test(v));
    assert.ok(versions.length > 0);
    for (const v of versions) {
      const dir = join(models, 'fraud-detector', v);
      const source = readFileSync(join(dir, 'model.json'));
      assert.equal(
        await readCheckedManifest(dir, source).then((m) => m?.name),
        'fraud-detector',
        `version ${v}`,
      );
    }
  });
});

describe('LightModelFunction', () => {
  it('gives every model function Node 24, active tracing, its own log group with retention and the Powertools settings', () => {
    for (const [name, m] of stack.models) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `Infera-${name}`,
        Runtime: 'nodejs24.x',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: `infera-${name}`,
            POWERTOOLS_METRICS_NAMESPACE: 'infera',
            MODELS_DIR: '/var/task/models',
          }),
        },
      });
      const logs = resources[lid(m.function.logs)] as Resource;
      assert.equal(props(logs).RetentionInDays, 30);
    }
  });

  it('loads a heavy model together with its fallback, and pins its SageMaker route', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'Infera-fraud-detector-xl',
      Timeout: 29,
      Environment: {
        Variables: Match.objectLike({
          MODEL_NAMES: 'fraud-detector-xl,fraud-detector',
          ROUTE_OVERRIDES: 'fraud-detector-xl@1=sagemaker',
        }),
      },
    });
  });

  it('points a live alias at the current version and deploys it by CodeDeploy canary with automatic rollback', () => {
    for (const m of stack.models.values()) {
      template.hasResourceProperties('AWS::Lambda::Alias', {
        Name: 'live',
        FunctionName: { Ref: lid(m.function) },
        FunctionVersion: Match.anyValue(),
      });
      const group = resources[lid(m.deploymentGroup)] as Resource;
      assert.deepEqual(props(group).DeploymentConfigName, 'CodeDeployDefault.LambdaCanary10Percent5Minutes');
      assert.deepEqual(props(group).AutoRollbackConfiguration, {
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
      });
      const alarms = (props(group).AlarmConfiguration as { Alarms: { Name: unknown }[]; Enabled: boolean })
        .Alarms;
      assert.deepEqual(
        alarms.map((a) => a.Name),
        [{ Ref: lid(m.errorRateAlarm) }, { Ref: lid(m.latencyAlarm) }],
      );
      const alias = resources[lid(m.alias)] as Resource & {
        UpdatePolicy?: Record<string, Record<string, unknown>>;
      };
      assert.deepEqual(alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.BeforeAllowTrafficHook, {
        Ref: lid(m.preTrafficHook),
      });
    }
  });

  it('alarms on the error rate and p99 of the version being deployed alone, over at least 10 calls a minute', () => {
    const m = stack.models.get('iris');
    assert.ok(m);
    const fnId = lid(m.function);
    const versionId = Object.entries(resources).find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Version' &&
        JSON.stringify(props(r).FunctionName) === JSON.stringify({ Ref: fnId }),
    )?.[0];
    const version = { 'Fn::GetAtt': [versionId, 'Version'] };
    const rate = props(resources[lid(m.errorRateAlarm)] as Resource);
    assert.equal(rate.Threshold, 5);
    type Stat = {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } };
    };
    const metrics = rate.Metrics as Stat[];
    assert.deepEqual(
      metrics.map((x) => x.Expression ?? x.MetricStat?.Metric.MetricName).sort(),
      [
        'Errors',
        'IF(FILL(inv, 0) >= 10, 100 * (FILL(err, 0) + FILL(srv, 0)) / FILL(inv, 0), 100 * (FILL(err, 0) + FILL(srv, 0)) / 10)',
        'Invocations',
        'ServerErrors',
      ].sort(),
    );
    // Lambda's metrics by ExecutedVersion, the handler's by functionVersion: the new version's own.
    for (const s of metrics.filter((x) => x.MetricStat)) {
      const dims = Object.fromEntries((s.MetricStat?.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      assert.deepEqual(dims.ExecutedVersion ?? dims.functionVersion, version, JSON.stringify(dims));
    }
    const p99 = props(resources[lid(m.latencyAlarm)] as Resource);
    assert.equal(p99.ExtendedStatistic, 'p99');
    assert.equal(p99.MetricName, 'PredictLatency');
    assert.equal(p99.Threshold, 1000);
    assert.deepEqual(
      Object.fromEntries(
        (p99.Dimensions as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]),
      ),
      { service: 'infera-iris', route: 'lambda', functionVersion: version },
    );
    assert.deepEqual(p99.AlarmActions, [{ Ref: lid(stack.observability?.alarmTopic) }]);
  });

  it('gives a SageMaker-routed model its own p99 bar, not the in-process one', () => {
    const xl = stack.models.get('fraud-detector-xl');
    assert.ok(xl);
    assert.equal(xl.latencyAlarms.length, 1);
    const p99 = props(resources[lid(xl.latencyAlarm)] as Resource);
    assert.equal(p99.Threshold, 23_200);
    assert.ok(JSON.stringify(p99.Dimensions).includes('"sagemaker"'));
  });

  it('lets the pre-traffic hook invoke only the new version of its own function', () => {
    const m = stack.models.get('iris');
    assert.ok(m);
    const hook = props(resources[lid(m.preTrafficHook)] as Resource);
    const target = (hook.Environment as { Variables: Record<string, { Ref: string }> }).Variables
      .TARGET_FUNCTION_ARN;
    assert.match(target?.Ref ?? '', /^ModelirisFunctionCurrentVersion/);
    assert.equal(resources[target?.Ref ?? '']?.Type, 'AWS::Lambda::Version');
    const role = m.preTrafficHook?.role?.node.tryFindChild('DefaultPolicy');
    const statements = (
      props(resources[lid(role as never)] as Resource).PolicyDocument as {
        Statement: { Action: unknown; Resource: unknown }[];
      }
    ).Statement;
    const invoke = statements.find((s) => s.Action === 'lambda:InvokeFunction');
    assert.deepEqual(invoke?.Resource, target);
  });
});

describe('InferenceApi', () => {
  it('requires IAM authorization on every route except the two health probes', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => props(r));
    assert.ok(routes.length >= 20);
    const open = routes
      .filter((r) => r.AuthorizationType !== 'AWS_IAM')
      .map((r) => r.RouteKey)
      .sort();
    assert.deepEqual(open, ['ANY /v2/health/live', 'ANY /v2/health/ready']);
    for (const r of routes.filter((x) => x.AuthorizationType !== 'AWS_IAM'))
      assert.equal(r.AuthorizationType, 'NONE');
  });

  it("routes each model's predict and infer to that model's live alias", () => {
    const integrations = Object.fromEntries(ofType('AWS::ApiGatewayV2::Integration'));
    for (const m of stack.models.values()) {
      const route = ofType('AWS::ApiGatewayV2::Route').find(
        ([, r]) => props(r).RouteKey === `ANY /v1/models/${m.modelName}/predict`,
      );
      assert.ok(route, m.modelName);
      const target = (props(route[1]).Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1] as {
        Ref: string;
      };
      const integration = integrations[target.Ref] as Resource;
      assert.deepEqual(props(integration).IntegrationUri, { Ref: lid(m.alias) });
      assert.equal(props(integration).PayloadFormatVersion, '2.0');
    }
  });

  it('throttles the stage, writes JSON access logs without bodies, and has CORS off', () => {
    const stage = props(ofType('AWS::ApiGatewayV2::Stage')[0]?.[1] as Resource);
    assert.deepEqual(stage.DefaultRouteSettings, { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 });
    const log = stage.AccessLogSettings as { Format: string; DestinationArn: unknown };
    const format = JSON.parse(log.Format) as Record<string, string>;
    assert.equal(format.status, '$context.status');
    assert.ok(!Object.values(format).some((v) => /body|querystring/i.test(v)));
    const api = props(ofType('AWS::ApiGatewayV2::Api')[0]?.[1] as Resource);
    assert.equal(api.CorsConfiguration, undefined);
  });
});

describe('BatchScoringPipeline', () => {
  it('sends a split that failed every attempt to the split-failed function, with an alarm on it', () => {
    const b = stack.batch;
    assert.ok(b);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: lid(b.splitFunction) },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [lid(b.splitFailedFunction), 'Arn'] } },
      },
    });
    const alarm = props(resources[lid(b.splitFailureAlarm)] as Resource);
    assert.equal(alarm.MetricName, 'Invocations');
    assert.deepEqual(alarm.Dimensions, [
      { Name: 'FunctionName', Value: { Ref: lid(b.splitFailedFunction) } },
    ]);
    assert.equal(alarm.Threshold, 0);
  });

  it('encrypts both buckets, blocks all public access, denies plain HTTP, and versions the output', () => {
    const b = stack.batch;
    assert.ok(b);
    for (const bucket of [b.inputBucket, b.outputBucket]) {
      const p = props(resources[lid(bucket)] as Resource);
      assert.deepEqual(p.BucketEncryption, {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      assert.deepEqual(p.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      assert.ok(p.LoggingConfiguration, 'server access logs');
      assert.ok((p.LifecycleConfiguration as { Rules: unknown[] }).Rules.length >= 2);
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: lid(bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    assert.deepEqual(props(resources[lid(b.outputBucket)] as Resource).VersioningConfiguration, {
      Status: 'Enabled',
    });
  });

  it('encrypts both queues, denies plain HTTP, and sets visibility to six times the score timeout', () => {
    const b = stack.batch;
    assert.ok(b);
    const score = props(resources[lid(b.scoreFunction)] as Resource);
    const queue = props(resources[lid(b.queue)] as Resource);
    assert.ok((queue.VisibilityTimeout as number) >= 6 * (score.Timeout as number));
    assert.deepEqual(queue.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [lid(b.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    for (const q of [b.queue, b.deadLetterQueue]) {
      assert.equal(props(resources[lid(q)] as Resource).SqsManagedSseEnabled, true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: lid(q) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('feeds the score function in batches of 10 with partial batch failure, capped under the serverless endpoint it calls', () => {
    // fraud-detector-xl's serverless endpoint takes 5 calls at once and each worker has 2 chunks
    // in flight, so 2 workers, not infera:batchMaxConcurrency's 10 (AWS rule sagemaker-serverless-concurrency).
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: lid(stack.batch?.scoreFunction as never) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('notifies the split function of uploads filtered by suffix, and alarms on DLQ depth', () => {
    const batchInput = ofType('Custom::S3BucketNotifications').find(([, r]) =>
      JSON.stringify(props(r).BucketName).includes('BatchInput'),
    );
    const notes = props(batchInput?.[1] as Resource).NotificationConfiguration as {
      LambdaFunctionConfigurations: { Filter: { Key: { FilterRules: { Name: string; Value: string }[] } } }[];
    };
    const suffixes = notes.LambdaFunctionConfigurations.map((c) => c.Filter.Key.FilterRules[0]?.Value).sort();
    assert.deepEqual(suffixes, ['.csv', '.jpeg', '.jpg', '.json', '.jsonl', '.ndjson', '.png']);
    const dlq = props(resources[lid(stack.batch?.dlqAlarm as never)] as Resource);
    assert.equal(dlq.MetricName, 'ApproximateNumberOfMessagesVisible');
    assert.equal(dlq.Threshold, 0);
    assert.deepEqual(dlq.AlarmActions, [{ Ref: lid(stack.observability?.alarmTopic) }]);
  });
});

describe('SageMakerModelEndpoint', () => {
  it('serves fraud-detector-xl from a serverless endpoint (no idle instances) under the name its route expects', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({
          VariantName: 'AllTraffic',
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
        }),
      ],
    });
    for (const [, r] of ofType('AWS::SageMaker::EndpointConfig')) {
      for (const v of props(r).ProductionVariants as Record<string, unknown>[]) {
        assert.equal(v.InstanceType, undefined, 'the default deployment has no always-on instance');
      }
    }
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    // Serverless Inference refuses network isolation: with it, the endpoint fails to create on AWS.
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: false,
      PrimaryContainer: Match.objectLike({ ModelDataUrl: Match.anyValue(), Image: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'infera-fraud-detector-xl-1',
    });
  });

  it("publishes a model function's version only after the endpoints it routes to exist", () => {
    const xl = stack.models.get('fraud-detector-xl');
    const endpoint = stack.endpoints.get('fraud-detector-xl@1');
    assert.ok(xl && endpoint);
    const fnId = lid(xl.function);
    const versions = Object.values(
      template.toJSON().Resources as Record<
        string,
        { Type: string; Properties: { FunctionName?: unknown }; DependsOn?: string[] }
      >,
    ).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Version' &&
        JSON.stringify(r.Properties.FunctionName) === JSON.stringify({ Ref: fnId }),
    );
    assert.equal(versions.length, 1);
    assert.ok(
      versions[0]?.DependsOn?.includes(stack.getLogicalId(endpoint.endpoint)),
      JSON.stringify(versions[0]?.DependsOn),
    );
  });

  it('updates blue/green, all at once for serverless, and rolls back on its 5xx or latency alarm', () => {
    const ep = stack.endpoints.get('fraud-detector-xl@1');
    assert.ok(ep);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'infera-fraud-detector-xl-1',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: Match.objectLike({
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
        }),
        AutoRollbackConfiguration: {
          Alarms: [{ AlarmName: { Ref: lid(ep.errorAlarm) } }, { AlarmName: { Ref: lid(ep.latencyAlarm) } }],
        },
      },
    });
  });

  it('grants InvokeEndpoint on this endpoint only, to the xl function and the score function', () => {
    const invokers = ofType('AWS::IAM::Policy').filter(([, r]) =>
      JSON.stringify(props(r).PolicyDocument).includes('sagemaker:InvokeEndpoint'),
    );
    assert.equal(invokers.length, 2);
    for (const [, r] of invokers) {
      const st = (
        props(r).PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }
      ).Statement.find((s) => s.Action === 'sagemaker:InvokeEndpoint');
      assert.match(JSON.stringify(st?.Resource), /:endpoint\/infera-fraud-detector-xl-1"/);
    }
  });
});

describe('Observability and security', () => {
  it('lets each model function put drift events on the default bus and nowhere else', () => {
    const functions = ofType('AWS::Lambda::Function').filter(
      ([, r]) => (props(r).Environment as { Variables?: Record<string, unknown> })?.Variables?.MODEL_NAMES,
    );
    assert.ok(functions.length >= 4);
    for (const [, r] of functions) {
      const env = (props(r).Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(env.DRIFT_EVENT_BUS, 'default');
    }
    const putters = ofType('AWS::IAM::Policy').filter(([, r]) =>
      JSON.stringify(props(r).PolicyDocument).includes('events:PutEvents'),
    );
    // The model functions, and the quality function (quality events go where drift events go).
    assert.equal(putters.length, functions.length + 1);
    for (const [, r] of putters) {
      const st = (
        props(r).PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }
      ).Statement.find((x) => x.Action === 'events:PutEvents');
      assert.match(JSON.stringify(st?.Resource), /:event-bus\/default"/);
    }
  });

  it('builds one dashboard with model latency percentiles, cold starts, batch rows, DLQ depth and SageMaker latency', () => {
    const body = JSON.stringify(
      props(ofType('AWS::CloudWatch::Dashboard')[0]?.[1] as Resource).DashboardBody,
    );
    for (const needle of [
      'PredictLatency',
      'p50',
      'p90',
      'p99',
      'ColdStart',
      'BatchRowsScored',
      'ApproximateNumberOfMessagesVisible',
      'ModelLatency',
      'Invocations',
    ]) {
      assert.ok(body.includes(needle), needle);
    }
  });

  it('sends every alarm to one encrypted, SSL-only SNS topic', () => {
    const topic = lid(stack.observability?.alarmTopic);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const [, alarm] of ofType('AWS::CloudWatch::Alarm')) {
      assert.deepEqual(
        props(alarm).AlarmActions,
        [{ Ref: topic }],
        JSON.stringify(props(alarm).AlarmDescription),
      );
    }
  });

  it("keeps every function within a new account's 3,008 MB of Lambda memory", () => {
    const over = ofType('AWS::Lambda::Function').filter(([, r]) => Number(props(r).MemorySize ?? 128) > 3008);
    assert.deepEqual(
      over.map(([id, r]) => `${id}: ${props(r).MemorySize}`),
      [],
    );
  });

  it('reserves no concurrency, so a new account (quota 10) deploys; the stage throttle and the queue bound the load', () => {
    const functions = ofType('AWS::Lambda::Function');
    assert.ok(functions.length >= 10);
    assert.deepEqual(
      functions.filter(([, r]) => props(r).ReservedConcurrentExecutions !== undefined).map(([id]) => id),
      [],
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
  });

  it("lets CloudWatch use the alarm topic's key only for this account's alarms", () => {
    const key = props(resources[lid(stack.observability?.topicKey)] as Resource).KeyPolicy as {
      Statement: { Principal?: { Service?: string }; Condition?: unknown }[];
    };
    const cw = key.Statement.filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
    assert.equal(cw.length, 1);
    assert.deepEqual(cw[0]?.Condition, { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('has no IAM policy with a wildcard action', () => {
    const docs = [
      ...ofType('AWS::IAM::Policy').map(([, r]) => props(r).PolicyDocument),
      ...ofType('AWS::IAM::Role').flatMap(([, r]) =>
        ((props(r).Policies as { PolicyDocument: unknown }[]) ?? []).map((p) => p.PolicyDocument),
      ),
    ] as { Statement: { Action: string | string[] }[] }[];
    assert.ok(docs.length > 10);
    const wildcards = docs
      .flatMap((d) => d.Statement.flatMap((s) => [s.Action].flat()))
      .filter((a) => a.includes('*'));
    assert.deepEqual(wildcards, []);
  });

  it('passes the cdk-nag AWS Solutions checks with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    assert.deepEqual(findings, []);
    assert.equal(report.success, true);
  });

  it('gives every acknowledged cdk-nag rule a written reason', () => {
    const acks: { id: string; reason: string }[] = [];
    const walk = (c: { node: { metadata: { type: string; data: unknown }[]; children: unknown[] } }) => {
      for (const m of c.node.metadata) {
        if (m.type === 'aws:cdk:acknowledged-rules') {
          for (const [id, reason] of Object.entries(m.data as Record<string, string>))
            acks.push({ id, reason });
        }
      }
      for (const child of c.node.children) walk(child as never);
    };
    walk(stack as never);
    assert.ok(acks.length > 5);
    for (const a of acks) assert.ok(a.reason.length > 30, `${a.id} has a reason`);
  });
});

describe('deployment settings', () => {
  it('fails synth naming the context key and the allowed values', async () => {
    await assert.rejects(
      buildApp({ context: { 'infera:architecture': 'sparc', 'aws:cdk:bundling-stacks': [] } }),
      /infera:architecture: Invalid option: expected one of "x86_64"\|"arm64"/,
    );
    await assert.rejects(
      buildApp({ context: { 'infera:auth': 'jwt', 'aws:cdk:bundling-stacks': [] } }),
      /infera:jwtIssuer: auth "jwt" needs infera:jwtIssuer/,
    );
    await assert.rejects(
      buildApp({ context: { 'infera:archtecture': 'arm64', 'aws:cdk:bundling-stacks': [] } }),
      /infera:archtecture: not a setting; the settings are .*infera:architecture/,
    );
  });

  it('builds an arm64 layer and functions, and a JWT authorizer, when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infera-synth-arm-'));
    try {
      const { stack: arm } = await buildApp({
        outdir: dir,
        context: {
          'infera:architecture': 'arm64',
          'infera:auth': 'jwt',
          'infera:jwtIssuer': 'https://issuer.example.com/',
          'infera:jwtAudience': 'client-a,client-b',
          'infera:batch': 'false',
          'aws:cdk:bundling-stacks': [],
        },
      });
      const t = Template.fromStack(arm);
      t.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'] });
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 'Infera-iris',
        Architectures: ['arm64'],
      });
      t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['client-a', 'client-b'] },
      });
      t.resourceCountIs('AWS::SQS::Queue', 0);
      assert.ok(arm.layer.build.files.every((f) => !f.path.includes('/linux/x64/')));
      assert.ok(arm.layer.build.files.some((f) => f.path.includes('/linux/arm64/')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pre-traffic hook against the bundled function and layer', () => {
  const bundleOf = (fn: IConstruct) => lambdaLike(stagedPath(fn) as string, stack.layer.build.dir);
  const context = {
    awsRequestId: 'hook-test',
    functionName: 'Infera-fraud-detector',
    functionVersion: '1',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Infera-fraud-detector:1',
    memoryLimitInMB: '1024',
    getRemainingTimeInMillis: () => 10_000,
  };
  let lambda: LambdaApi;
  let hookTask: string;
  let predict: (e: unknown, c: unknown) => Promise<unknown>;

  before(async () => {
    const m = stack.models.get('fraud-detector');
    assert.ok(m?.preTrafficHook);
    const task = bundleOf(m.function);
    hookTask = bundleOf(m.preTrafficHook);
    Object.assign(process.env, {
      ...LAMBDA_TEST_ENV,
      MODELS_DIR: join(task, 'models'),
      MODEL_NAMES: 'fraud-detector',
      POWERTOOLS_SERVICE_NAME: 'infera-fraud-detector',
      POWERTOOLS_METRICS_NAMESPACE: 'infera',
    });
    ({ handler: predict } = (await import(join(task, 'index.mjs'))) as { handler: typeof predict });
    lambda = await startLambdaApi({
      functionName: 'Infera-fraud-detector',
      versions: [{ version: '1', description: 'model fraud-detector live=2' }],
      live: '1',
      invoke: (_name, event) => predict(event, context),
    });
  });
  after(() => lambda?.close());

  it('ships the golden fixtures of every version into the hook bundle', () => {
    assert.deepEqual(readdirSync(join(hookTask, 'fixtures', 'fraud-detector')).sort(), ['1', '2']);
  });

  it('reports Succeeded to CodeDeploy when the new version matches every fixture', async () => {
    Object.assign(process.env, {
      TARGET_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:Infera-fraud-detector:1',
      FIXTURES_DIR: join(hookTask, 'fixtures'),
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_ENDPOINT_URL_CODEDEPLOY: lambda.url,
    });
    const { handler } = (await import(join(hookTask, 'index.mjs'))) as {
      handler: (e: unknown, c: unknown) => Promise<{ status: string }>;
    };
    const out = await handler({ DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'h-1' }, context);
    assert.equal(out.status, 'Succeeded');
    assert.deepEqual(lambda.hookStatuses, [{ deploymentId: 'd-1', executionId: 'h-1', status: 'Succeeded' }]);
    assert.equal(
      lambda.calls.filter((c) => c.endsWith('/invocations')).length,
      2,
      'one call per model version',
    );
  });

  it('fails the check naming the prediction that moved when the model answers differently', async () => {
    const { runGoldenChecks } = await import('#core/model/golden.ts');
    const { askFunction } = await import('#runtime/golden-events.ts');
    const golden = JSON.parse(
      readFileSync(join(MODELS, 'fraud-detector', '2', 'fixtures', 'golden.json'), 'utf8'),
    );
    golden.expected[3].score += 0.01;
    const cases: GoldenCase[] = [{ model: 'fraud-detector', version: '2', golden }];
    const [result] = await runGoldenChecks(
      cases,
      askFunction((e: unknown) => predict(e, context), 't'),
    );
    assert.equal(result?.ok, false);
    assert.match(
      result?.problems[0] ?? '',
      /^predictions\[3\]\.score: 0\.\d+ differs from 0\.\d+ by more than 0\.0001$/,
    );
  });
});

describe('SageMakerModelEndpoint options', () => {
  const build = async (extra: Record<string, unknown>, stackName = 'Options') => {
    const { App, Stack } = await import('aws-cdk-lib');
    const { Bucket } = await import('aws-cdk-lib/aws-s3');
    const { Role, ServicePrincipal } = await import('aws-cdk-lib/aws-iam');
    const { SageMakerModelEndpoint } = await import('../../infra/constructs/sagemaker-endpoint.ts');
    const s = new Stack(new App(), stackName);
    const caller = new Role(s, 'Caller', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const ep = new SageMakerModelEndpoint(s, 'Ep', {
      modelName: 'big',
      modelVersion: '3',
      imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/neuron-serving:1',
      modelDataUrl: 's3://models-bucket/big/3/model.tar.gz',
      ...(extra.async ? { async: { outputBucket: new Bucket(s, 'Out') } } : {}),
      ...(extra.serverless ? { serverless: extra.serverless } : {}),
    } as never);
    ep.grantInvoke(caller);
    return Template.fromStack(s);
  };

  it('puts an instance endpoint on ml.g5.xlarge with a 10% blue/green canary and autoscaling between 1 and 4', async () => {
    const t = await build({});
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 })],
    });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: Match.objectLike({
          TrafficRoutingConfiguration: {
            Type: 'CANARY',
            CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 },
            WaitIntervalInSeconds: 300,
          },
        }),
      }),
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ResourceId: 'endpoint/options-big-3/variant/AllTraffic',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 300,
      }),
    });
  });

  it('uses a user image and model data as given, with no Docker build', async () => {
    const t = await build({});
    t.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/neuron-serving:1',
        ModelDataUrl: 's3://models-bucket/big/3/model.tar.gz',
      }),
    });
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'options-big-3' });
    t.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: true });
  });

  it('names each endpoint after its stack, so a staging and a prod stack in one account and region never collide', async () => {
    const names = await Promise.all(
      ['Staging', 'Prod'].map(async (stackName) => {
        const t = await build({}, stackName);
        return Object.values(t.findResources('AWS::SageMaker::Endpoint')).map(
          (r) => r.Properties.EndpointName,
        );
      }),
    );
    assert.deepEqual(names, [['staging-big-3'], ['prod-big-3']]);
  });

  it('configures serverless inference without instances or autoscaling', async () => {
    const t = await build({ serverless: { memorySizeMb: 4096, maxConcurrency: 5 } });
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 5 } }),
      ],
    });
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    t.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: false });
  });

  it('configures async inference with an S3 output path and grants InvokeEndpointAsync', async () => {
    const t = await build({ async: true });
    t.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      AsyncInferenceConfig: Match.objectLike({ ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 } }),
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'] }),
        ]),
      },
    });
  });
});

describe('the cdk-nag check itself', () => {
  it('reports a plain bucket without TLS enforcement or access logs, so a clean report means something', async () => {
    const { App, Stack } = await import('aws-cdk-lib');
    const { Bucket } = await import('aws-cdk-lib/aws-s3');
    const s = new Stack(new App(), 'Careless');
    new Bucket(s, 'Open');
    const report = new AwsSolutionsChecks(s).validateScope(s);
    const rules = report.violations.map((v) => v.ruleName);
    assert.ok(rules.includes('AwsSolutions-S1'), rules.join(', '));
    assert.ok(rules.includes('AwsSolutions-S10'), rules.join(', '));
    assert.equal(report.success, false);
  });
});

describe('bundled model functions with pre-processing resolve their libraries from the layer', () => {
  /** Runs the staged bundle of `model`'s function in a child process, beside the layer, on one event. */
  async function invokeBundled(model: string, event: unknown): Promise<{ statusCode: number; body: string }> {
    const fn = stack.models.get(model)?.function;
    assert.ok(fn, model);
    const dir = mkdtempSync(join(tmpdir(), 'infera-task-'));
    try {
      const task = join(dir, 'task');
      cpSync(stagedPath(fn) as string, task, { recursive: true });
      symlinkSync(join(stack.layer.build.dir, 'nodejs', 'node_modules'), join(dir, 'node_modules'));
      // Nothing from the project's node_modules may be reachable: only the bundle and the layer.
      assert.ok(!existsSync(join(task, 'node_modules')));
      writeFileSync(
        join(task, 'invoke.mjs'),
        `const { handler } = await import('./index.mjs');
const r = await handler(${JSON.stringify(event)}, { functionName: 'infera-${model}', awsRequestId: 't', getRemainingTimeInMillis: () => 10000 });
process.stdout.write(JSON.stringify(r));`,
      );
      const out = await run(
        process.execPath,
        ['invoke.mjs'],
        {
          MODELS_DIR: join(task, 'models'),
          MODEL_NAMES: model,
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          POWERTOOLS_METRICS_DISABLED: 'true',
          POWERTOOLS_TRACE_ENABLED: 'false',
          AWS_REGION: 'us-east-1',
        },
        task,
      );
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout) as { statusCode: number; body: string };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const rawEvent = (model: string, contentType: string, body: Buffer) => ({
    version: '2.0',
    routeKey: `ANY /v1/models/${model}/predict`,
    rawPath: `/v1/models/${model}/predict`,
    rawQueryString: '',
    headers: { 'content-type': contentType },
    requestContext: { http: { method: 'POST', path: `/v1/models/${model}/predict` }, requestId: 'r' },
    body: body.toString('base64'),
    isBase64Encoded: true,
  });

  it('decodes and classifies a PNG text line in the bundled text-direction function', async () => {
    const png = readFileSync(join(MODELS, 'text-direction/1/fixtures/street-180.png'));
    const r = await invokeBundled('text-direction', rawEvent('text-direction', 'image/png', png));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((JSON.parse(r.body) as { predictions: { label: string }[] }).predictions[0]?.label, '180');
  });

  it('tokenizes and classifies text in the bundled ticket-router function', async () => {
    const r = await invokeBundled(
      'ticket-router',
      rawEvent('ticket-router', 'text/plain', Buffer.from('refund my card')),
    );
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(
      (JSON.parse(r.body) as { predictions: { label: string }[] }).predictions[0]?.label,
      'billing',
    );
  });
});
