/**
 * `cdk synth` checks the synthesized templates, what CloudFormation will receive, against the AWS
 * rules of functions/core/aws/rules.ts. A finding fails the synth, naming the resource, the rule,
 * its source and the setting that fixes it. Emulators accept all of this; AWS does not.
 */
import { readFileSync } from 'node:fs';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import {
  AWS_RULES,
  type AwsRuleId,
  cite,
  ECR_IMAGE,
  limitOf,
  MODEL_DATA_OBJECT,
  serverlessInferenceIn,
} from '#core/aws/rules.ts';
import { hardwareOf } from '#core/model/placement.ts';

export interface AwsRulesSettings {
  /** The account's Lambda memory ceiling (3,008 MB on a new account). */
  readonly memoryCapMb: number;
  /** The account's Lambda concurrency quota, as infera:accountConcurrency or preflight says. */
  readonly accountConcurrency: number;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Template = { Resources?: Record<string, Resource>; Outputs?: Record<string, unknown> };
interface Finding {
  readonly rule: AwsRuleId;
  readonly resource: string;
  readonly problem: string;
  readonly fix: string;
}

/** The logical ids a value refers to, through Ref and Fn::GetAtt, at any depth. */
function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt') {
        const target = Array.isArray(v) ? v[0] : typeof v === 'string' ? v.split('.')[0] : undefined;
        if (typeof target === 'string') out.add(target);
      } else refsIn(v, out);
    }
  }
  return out;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

/** The findings in one template. Pure, so tests can feed it templates AWS would refuse. */
export function checkTemplate(
  template: Template,
  region: string | undefined,
  s: AwsRulesSettings,
): Finding[] {
  const resources = template.Resources ?? {};
  const all = Object.entries(resources);
  const of = (type: string) => all.filter(([, r]) => r.Type === type);
  const findings: Finding[] = [];
  /** The function a Ref reaches, directly or through an alias or a version. */
  const functionOf = (value: unknown): [string, Resource] | undefined => {
    for (const id of refsIn(value)) {
      const r = resources[id];
      if (r?.Type === 'AWS::Lambda::Function') return [id, r];
      if (r?.Type === 'AWS::Lambda::Alias' || r?.Type === 'AWS::Lambda::Version') {
        const fn = functionOf(r.Properties?.FunctionName);
        if (fn) return fn;
      }
    }
    return undefined;
  };
  const timeoutOf = (fn: Resource) => num(fn.Properties?.Timeout) ?? 3;

  let reserved = 0;
  const reservers: string[] = [];
  for (const [id, fn] of of('AWS::Lambda::Function')) {
    const p = fn.Properties ?? {};
    const memory = num(p.MemorySize) ?? 128;
    if (memory > Math.min(s.memoryCapMb, limitOf('lambda-memory'))) {
      const newAccount = s.memoryCapMb < limitOf('lambda-memory') && memory <= limitOf('lambda-memory');
      findings.push({
        rule: newAccount ? 'lambda-memory-new-account' : 'lambda-memory',
        resource: id,
        problem: `MemorySize is ${memory} MB; this account allows ${Math.min(s.memoryCapMb, limitOf('lambda-memory'))} MB.`,
        fix: newAccount
          ? `lower the memory (a manifest's target.memoryMb, or -c infera:batchScoreMemoryMb), or, once Service Quotas shows your account allows more, set -c infera:lambdaMemoryCapMb=<that> (at most ${limitOf('lambda-memory')})`
          : `lower the memory to at most ${limitOf('lambda-memory')} MB`,
      });
    }
    if (timeoutOf(fn) > limitOf('lambda-timeout')) {
      findings.push({
        rule: 'lambda-timeout',
        resource: id,
        problem: `Timeout is ${timeoutOf(fn)} s.`,
        fix: `set the timeout to at most ${limitOf('lambda-timeout')} s`,
      });
    }
    const r = num(p.ReservedConcurrentExecutions);
    if (r !== undefined) {
      reserved += r;
      reservers.push(id);
    }
    const vars = (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const envBytes = Object.entries(vars).reduce(
      (n, [k, v]) =>
        n + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v)),
      0,
    );
    if (envBytes > limitOf('lambda-environment')) {
      findings.push({
        rule: 'lambda-environment',
        resource: id,
        problem: `its environment takes about ${envBytes} bytes.`,
        fix: 'move large values to SSM Parameter Store or the bundle; with many models use -c infera:modelFunctions=shared',
      });
    }
  }
  const room = s.accountConcurrency - limitOf('lambda-unreserved-minimum');
  if (reserved > 0 && reserved > room) {
    findings.push({
      rule: 'lambda-unreserved-minimum',
      resource: reservers.join(', '),
      problem: `the functions reserve ${reserved} executions in all; with an account quota of ${s.accountConcurrency} (infera:accountConcurrency) at most ${Math.max(0, room)} can be reserved.`,
      fix: `deploy with -c infera:reservedConcurrency=false (the default), or raise "Concurrent executions" in Service Quotas and set -c infera:accountConcurrency=<quota> (npx infera preflight reads it)`,
    });
  }

  if (all.length > limitOf('cloudformation-resources')) {
    findings.push({
      rule: 'cloudformation-resources',
      resource: 'the stack',
      problem: `the template has ${all.length} resources.`,
      fix: 'share one model function among the models (-c infera:modelFunctions=shared), or turn off parts you do not use (infera:dashboard, infera:batch)',
    });
  }
  const outputs = Object.keys(template.Outputs ?? {}).length;
  if (outputs > limitOf('cloudformation-outputs')) {
    findings.push({
      rule: 'cloudformation-outputs',
      resource: 'the stack',
      problem: `the template has ${outputs} outputs.`,
      fix: 'share one model function among the models (-c infera:modelFunctions=shared), which has one output',
    });
  }
  const routes = new Map<string, number>();
  for (const [, r] of of('AWS::ApiGatewayV2::Route')) {
    const api = JSON.stringify(r.Properties?.ApiId);
    routes.set(api, (routes.get(api) ?? 0) + 1);
  }
  for (const [api, n] of routes) {
    if (n > limitOf('http-api-routes')) {
      findings.push({
        rule: 'http-api-routes',
        resource: api,
        problem: `the HTTP API has ${n} routes.`,
        fix: 'share one model function among the models (-c infera:modelFunctions=shared), which has 6 routes in all, or ask for a higher route quota',
      });
    }
  }

  const slowBehindApi = new Set<string>();
  for (const [id, integ] of of('AWS::ApiGatewayV2::Integration')) {
    const p = integ.Properties ?? {};
    const max = limitOf('http-api-integration-timeout');
    const ms = num(p.TimeoutInMillis);
    if (ms !== undefined && ms > max * 1000) {
      findings.push({
        rule: 'http-api-integration-timeout',
        resource: id,
        problem: `TimeoutInMillis is ${ms}.`,
        fix: `set it to at most ${max * 1000}`,
      });
    }
    const fn = functionOf(p.IntegrationUri);
    // One finding a function, however many routes reach it.
    if (fn && timeoutOf(fn[1]) > max && !slowBehindApi.has(fn[0])) {
      slowBehindApi.add(fn[0]);
      findings.push({
        rule: 'http-api-integration-timeout',
        resource: fn[0],
        problem: `the function behind ${id} may run ${timeoutOf(fn[1])} s; the HTTP API gives up after ${max} s and the caller gets an error while the function goes on.`,
        fix: `set target.timeoutSeconds in the model's model.json to at most ${max - 1}, or deploy with -c infera:api=false and call the function's live alias directly`,
      });
    }
  }

  for (const [id, cfg] of of('AWS::SageMaker::EndpointConfig')) {
    const p = cfg.Properties ?? {};
    const variants = (p.ProductionVariants as Record<string, unknown>[] | undefined) ?? [];
    const serverless = variants.filter((v) => v.ServerlessConfig);
    if (serverless.length === 0) continue;
    const unsupported: string[] = [];
    if (variants.length > 1) unsupported.push(`${variants.length} production variants`);
    if (p.DataCaptureConfig) unsupported.push('data capture (DataCaptureConfig)');
    for (const v of serverless) {
      const sc = v.ServerlessConfig as Record<string, unknown>;
      const mem = num(sc.MemorySizeInMB);
      if (
        mem !== undefined &&
        (mem < 1024 || mem > limitOf('sagemaker-serverless-memory') || mem % 1024 !== 0)
      ) {
        findings.push({
          rule: 'sagemaker-serverless-memory',
          resource: id,
          problem: `MemorySizeInMB is ${mem}.`,
          fix: "set target.serverless.memoryMb to 1024, 2048, 3072, 4096, 5120 or 6144 in the model's model.json",
        });
      }
      const conc = num(sc.MaxConcurrency);
      if (conc !== undefined && (conc < 1 || conc > limitOf('sagemaker-serverless-concurrency'))) {
        findings.push({
          rule: 'sagemaker-serverless-concurrency',
          resource: id,
          problem: `MaxConcurrency is ${conc}.`,
          fix: 'set target.serverless.maxConcurrency to 1-200',
        });
      }
      for (const modelId of refsIn(v.ModelName)) {
        const model = resources[modelId];
        if (model?.Type !== 'AWS::SageMaker::Model') continue;
        if (model.Properties?.EnableNetworkIsolation === true)
          unsupported.push(`network isolation (${modelId})`);
        if (model.Properties?.VpcConfig) unsupported.push(`VPC configuration (${modelId})`);
      }
    }
    if (unsupported.length > 0) {
      findings.push({
        rule: 'sagemaker-serverless-features',
        resource: id,
        problem: `a serverless endpoint config uses ${unsupported.join(', ')}.`,
        fix: 'drop those from the serverless endpoint (SageMakerModelEndpoint does), or serve the model on instances (target.instanceType instead of target.serverless)',
      });
    }
    if (region && !serverlessInferenceIn(region)) {
      findings.push({
        rule: 'sagemaker-serverless-regions',
        resource: id,
        problem: `${region} has no SageMaker Serverless Inference.`,
        fix: 'deploy with -c infera:sagemaker=off (heavy models left out), or give the model an instance target (target.instanceType) in its model.json',
      });
    }
  }

  for (const [id, cfg] of of('AWS::SageMaker::EndpointConfig')) {
    const variants = (cfg.Properties?.ProductionVariants as Record<string, unknown>[] | undefined) ?? [];
    for (const v of variants) {
      if (typeof v.InstanceType !== 'string') continue;
      const hardware = hardwareOf(v.InstanceType);
      const ami = typeof v.InferenceAmiVersion === 'string' ? v.InferenceAmiVersion : undefined;
      const amiFor = ami?.includes('-gpu-') ? 'gpu' : ami?.includes('-neuron-') ? 'neuron' : undefined;
      if (amiFor && amiFor !== hardware) {
        findings.push({
          rule: 'sagemaker-inference-ami',
          resource: id,
          problem: `InferenceAmiVersion ${ami} is for ${amiFor === 'gpu' ? 'GPU' : 'Inferentia and Trainium'} instances, but the variant runs on ${v.InstanceType}.`,
          fix: 'remove InferenceAmiVersion, or choose an instance type of the family the AMI is for',
        });
      }
      for (const modelId of refsIn(v.ModelName)) {
        const model = resources[modelId];
        if (model?.Type !== 'AWS::SageMaker::Model') continue;
        const env = (
          model.Properties?.PrimaryContainer as { Environment?: Record<string, unknown> } | undefined
        )?.Environment;
        if (hardware === 'neuron' && env && 'INFERA_EXECUTION_PROVIDER' in env) {
          findings.push({
            rule: 'sagemaker-neuron',
            resource: modelId,
            problem: `infera's ONNX serving image would run on ${v.InstanceType}, which runs only Neuron-compiled models.`,
            fix: "set target.image to a Neuron image (e.g. 763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-inference-neuronx:<tag>) and target.modelDataUrl to the compiled model.tar.gz in the model's model.json, or pick a GPU instance type",
          });
        }
      }
    }
  }
  for (const [id, model] of of('AWS::SageMaker::Model')) {
    const c = (model.Properties?.PrimaryContainer ?? {}) as Record<string, unknown>;
    if (typeof c.ModelDataUrl === 'string' && !MODEL_DATA_OBJECT.test(c.ModelDataUrl)) {
      findings.push({
        rule: 'sagemaker-model-data',
        resource: id,
        problem: `ModelDataUrl is ${c.ModelDataUrl}.`,
        fix: 'point target.modelDataUrl at one .tar.gz archive in S3 (s3://bucket/key.tar.gz), in the region you deploy to',
      });
    }
    const viaVpc =
      (c.ImageConfig as { RepositoryAccessMode?: unknown } | undefined)?.RepositoryAccessMode === 'Vpc' &&
      model.Properties?.VpcConfig !== undefined;
    if (typeof c.Image === 'string' && !ECR_IMAGE.test(c.Image) && !viaVpc) {
      findings.push({
        rule: 'sagemaker-image-registry',
        resource: id,
        problem: `Image ${c.Image} is not in Amazon ECR.`,
        fix: 'push the image to Amazon ECR (docker tag and docker push to <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>) and set target.image to that URI',
      });
    }
    const imageRegion =
      typeof c.Image === 'string' ? /\.dkr\.ecr\.([a-z0-9-]+)\./.exec(c.Image)?.[1] : undefined;
    if (region && imageRegion && imageRegion !== region) {
      findings.push({
        rule: 'sagemaker-image-registry',
        resource: id,
        problem: `Image ${c.Image} is in ${imageRegion}; the model is in ${region}.`,
        fix: `use the image's ${region} URI (AWS publishes its Deep Learning Containers in each region), or replicate your repository to ${region} (ECR replication)`,
      });
    }
  }

  const builds = of('Custom::CDKContainerImageBuild').map(([id]) => id);
  const waitsFor = (a: string, b: string, seen = new Set<string>()): boolean => {
    if (seen.has(a)) return false;
    seen.add(a);
    const deps = [(resources[a] as { DependsOn?: string | string[] } | undefined)?.DependsOn ?? []].flat();
    return deps.includes(b) || deps.some((d) => waitsFor(d, b, seen));
  };
  const together = builds.flatMap((a, i) =>
    builds
      .slice(i + 1)
      .filter((b) => !waitsFor(a, b) && !waitsFor(b, a))
      .map((b) => `${a}, ${b}`),
  );
  if (together.length > 0) {
    findings.push({
      rule: 'codebuild-concurrent-builds',
      resource: together[0] as string,
      problem:
        'these image builds may start at the same time; a new account may run one CodeBuild build at a time.',
      fix: 'make each build wait for the last (ServingImages does: build.node.addDependency(previous)), or deploy with -c infera:imageBuild=docker',
    });
  }

  for (const [id, esm] of of('AWS::Lambda::EventSourceMapping')) {
    const p = esm.Properties ?? {};
    const max = num((p.ScalingConfig as Record<string, unknown> | undefined)?.MaximumConcurrency);
    if (max !== undefined && (max < 2 || max > limitOf('sqs-maximum-concurrency'))) {
      findings.push({
        rule: 'sqs-maximum-concurrency',
        resource: id,
        problem: `MaximumConcurrency is ${max}.`,
        fix: 'set -c infera:batchMaxConcurrency to 2-1000',
      });
    }
    const fn = functionOf(p.FunctionName);
    for (const qid of refsIn(p.EventSourceArn)) {
      const q = resources[qid];
      if (q?.Type !== 'AWS::SQS::Queue' || !fn) continue;
      const visibility = num(q.Properties?.VisibilityTimeout) ?? 30;
      const need = limitOf('sqs-visibility') * timeoutOf(fn[1]);
      if (visibility < need) {
        findings.push({
          rule: 'sqs-visibility',
          resource: qid,
          problem: `VisibilityTimeout is ${visibility} s; ${fn[0]} may run ${timeoutOf(fn[1])} s, so messages would be delivered again while still being worked on.`,
          fix: `set the queue's visibility timeout to at least ${need} s`,
        });
      }
    }
  }
  return findings;
}

/** The CDK validation plugin: runs checkTemplate on every stack of the app. */
export class AwsRulesPlugin implements IPolicyValidationPlugin {
  readonly name = 'infera-aws-rules';
  readonly ruleIds = Object.keys(AWS_RULES);
  readonly #settings: AwsRulesSettings;

  constructor(settings: AwsRulesSettings) {
    this.#settings = settings;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violations: PolicyViolation[] = [];
    for (const stack of context.stackTemplates) {
      const template = JSON.parse(readFileSync(stack.templatePath, 'utf8')) as Template;
      const region = stack.region && !stack.region.startsWith('${Token') ? stack.region : undefined;
      for (const f of checkTemplate(template, region, this.#settings)) {
        violations.push({
          ruleName: f.rule,
          description: `${f.resource}: ${f.problem} ${cite(f.rule)}`,
          fix: f.fix,
          violatingResources: f.resource.split(', ').map((r) => ({
            resourceLogicalId: r,
            templatePath: stack.templatePath,
            locations: [],
          })),
        });
      }
    }
    return { success: violations.length === 0, violations };
  }
}
