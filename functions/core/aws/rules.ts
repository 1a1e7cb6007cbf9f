/**
 * The AWS limits and feature rules infera depends on, each once, with the AWS page it comes from
 * and the day it was read. Emulators (moto, fauxqs, the local gateway) accept what AWS refuses, so
 * every number the stack, the local platform or a manifest check relies on is read from here:
 * `cdk synth` (infra/lib/aws-rules-plugin.ts), `npm start` (the gateway and the SageMaker stand-in),
 * the serving code's payload checks, and docs/deploy.md's table (generated from AWS_RULES).
 * Pure data: no AWS SDK, no I/O.
 */

export interface AwsRule {
  /** What AWS enforces, in one sentence. */
  readonly rule: string;
  /** The number, in `unit`, where the rule is a limit. */
  readonly limit?: number;
  readonly unit?: 'bytes' | 'MB' | 'seconds' | 'ms' | 'count' | 'executions';
  /** What infera does about it, and what a user changes when it bites. */
  readonly infera: string;
  /** The AWS page the rule comes from. */
  readonly source: { readonly title: string; readonly url: string };
  /** When the page was read (YYYY-MM-DD). */
  readonly read: string;
}

const MIB = 1024 * 1024;
const READ = '2026-12-06';
/** When the accelerator and image-build rules were read. */
const READ_ACCELERATORS = '2026-12-07';

const LAMBDA_QUOTAS = {
  title: 'AWS Lambda Developer Guide: Lambda quotas',
  url: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
};
const HTTP_API_QUOTAS = {
  title: 'Amazon API Gateway Developer Guide: Quotas for configuring and running an HTTP API',
  url: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html',
};
const SERVERLESS = {
  title: 'Amazon SageMaker AI Developer Guide: Deploy models with Amazon SageMaker Serverless Inference',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html',
};
const SAGEMAKER_QUOTAS = {
  title: 'Amazon SageMaker AI endpoints and quotas (AWS General Reference)',
  url: 'https://docs.aws.amazon.com/general/latest/gr/sagemaker.html',
};

const CREATE_MODEL = {
  title: 'Amazon SageMaker API Reference: ContainerDefinition',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html',
};
const PRODUCTION_VARIANT = {
  title: 'Amazon SageMaker API Reference: ProductionVariant (InferenceAmiVersion)',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html',
};

const CFN_QUOTAS = {
  title: 'AWS CloudFormation User Guide: Understand CloudFormation quotas',
  url: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html',
};
const IAM_QUOTAS = {
  title: 'AWS Identity and Access Management User Guide: IAM and AWS STS quotas',
  url: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html',
};

/** Every rule, by id. The id is what a synth finding and docs/deploy.md name. */
export const AWS_RULES = {
  'lambda-sync-request': {
    rule: 'A synchronous invocation payload (the whole event, JSON) is at most 6 MB.',
    limit: 6 * MIB,
    unit: 'bytes',
    infera:
      'npm start refuses a request whose event would exceed it with 413; the edge caps bodies at MAX_BODY_BYTES (5 MB) to leave room for the envelope. Send binary tensors, fewer instances, or use batch.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-sync-response': {
    rule: 'A synchronous invocation response is at most 6 MB; a larger one fails the invocation.',
    limit: 6 * MIB,
    unit: 'bytes',
    infera:
      'The predict handler refuses an answer over it with 413 naming the limit, in Lambda and in npm start; ask for binary outputs (v2 binary_data_output), fewer instances, or use batch.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-memory': {
    rule: 'Function memory is 128-10,240 MB.',
    limit: 10_240,
    unit: 'MB',
    infera: 'Manifests and settings are checked against it.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-memory-new-account': {
    rule: "New accounts are capped at 3,008 MB of function memory until the quota is raised ('MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 3008).",
    limit: 3008,
    unit: 'MB',
    infera:
      'cdk synth fails a function above infera:lambdaMemoryCapMb (default 3008); raise it after your account has the quota.',
    source: {
      title:
        'AWS re:Post "Unable to set Lambda memory over 3008MB"; seen in aws-samples/serverless-rag-demo#124',
      url: 'https://github.com/aws-samples/serverless-rag-demo/issues/124',
    },
    read: READ,
  },
  'lambda-timeout': {
    rule: 'Function timeout is at most 900 seconds.',
    limit: 900,
    unit: 'seconds',
    infera: 'Manifests and the synthesized template are checked against it.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-unreserved-minimum': {
    rule: 'Reserved concurrency may not leave fewer than 100 executions unreserved in the account.',
    limit: 100,
    unit: 'executions',
    infera:
      'No function reserves concurrency unless infera:reservedConcurrency=true, and then cdk synth fails when the reservations exceed infera:accountConcurrency minus 100 (infera preflight reads the quota).',
    source: {
      title: 'AWS Lambda Developer Guide: Configuring reserved concurrency',
      url: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html',
    },
    read: READ,
  },
  'lambda-concurrency-new-account': {
    rule: 'A new account can start with a concurrency quota as low as 10.',
    limit: 10,
    unit: 'executions',
    infera: 'The default infera:accountConcurrency; any reservation fails there.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-environment': {
    rule: "A function's environment variables take at most 4 KB in all.",
    limit: 4096,
    unit: 'bytes',
    infera: 'cdk synth sums each function’s variables; a shared model function carries no model list.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-resource-policy': {
    rule: "A function's resource-based policy is at most 20 KB.",
    limit: 20 * 1024,
    unit: 'bytes',
    infera: 'The quota tests check every function of the default, 10-model and 500-model deployments.',
    source: LAMBDA_QUOTAS,
    read: READ,
  },
  'lambda-freeze': {
    rule: 'Lambda freezes the execution environment when the handler returns; work not awaited may never run.',
    infera:
      'Drift events, captures and shadow calls finish (within MONITOR_FLUSH_MS) before the predict handler returns.',
    source: {
      title: 'AWS Lambda Developer Guide: Understanding the Lambda execution environment lifecycle',
      url: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html',
    },
    read: READ,
  },
  'http-api-payload': {
    rule: 'An HTTP API request payload is at most 10 MB.',
    limit: 10 * MIB,
    unit: 'bytes',
    infera:
      'npm start reads and discards a larger body, then answers 413, so a client that sends before it reads (tritonclient) gets the status instead of a broken pipe.',
    source: HTTP_API_QUOTAS,
    read: READ,
  },
  'http-api-integration-timeout': {
    rule: 'An HTTP API integration times out after at most 30 seconds.',
    limit: 30,
    unit: 'seconds',
    infera:
      'npm start answers 504 after 30 s; cdk synth and npm start refuse a model behind the API whose timeout is longer (target.timeoutSeconds ≤ 29, or infera:api=false and call the alias).',
    source: HTTP_API_QUOTAS,
    read: READ,
  },
  'http-api-routes': {
    rule: 'An HTTP API has at most 300 routes (a soft quota).',
    limit: 300,
    unit: 'count',
    infera: 'Beyond 10 models one shared function serves them all behind one route set.',
    source: HTTP_API_QUOTAS,
    read: READ,
  },
  'cloudformation-resources': {
    rule: 'A stack has at most 500 resources.',
    limit: 500,
    unit: 'count',
    infera:
      'cdk synth fails a template over it; beyond 10 models one shared function keeps a stack near 113.',
    source: CFN_QUOTAS,
    read: READ,
  },
  'cloudformation-outputs': {
    rule: 'A stack has at most 200 outputs.',
    limit: 200,
    unit: 'count',
    infera: 'cdk synth fails a template over it; a shared function has one output, not one per model.',
    source: CFN_QUOTAS,
    read: READ,
  },
  'cloudformation-template-size': {
    rule: 'A template read from S3 is at most 1 MB.',
    limit: 1_000_000,
    unit: 'bytes',
    infera: 'The quota tests check the 500-model template.',
    source: CFN_QUOTAS,
    read: READ,
  },
  'iam-inline-policies': {
    rule: "A role's inline policies take at most 10,240 characters together.",
    limit: 10_240,
    unit: 'count',
    infera: 'Grants name single resources; the quota tests add up every role’s policies.',
    source: IAM_QUOTAS,
    read: READ,
  },
  'iam-managed-policy': {
    rule: 'A managed policy is at most 6,144 characters.',
    limit: 6_144,
    unit: 'count',
    infera: 'The quota tests check every managed policy.',
    source: IAM_QUOTAS,
    read: READ,
  },
  'sagemaker-realtime-payload': {
    rule: 'A real-time InvokeEndpoint request is at most 6 MB.',
    limit: 6 * MIB,
    unit: 'bytes',
    infera: 'Larger v1 inputs are sent in parts; a larger v2 request is a 413 naming the limit.',
    source: SAGEMAKER_QUOTAS,
    read: READ,
  },
  'sagemaker-realtime-timeout': {
    rule: 'A real-time endpoint must answer within 60 seconds.',
    limit: 60,
    unit: 'seconds',
    infera: 'The model function gives an endpoint at most 29 s, inside the API’s 30.',
    source: SAGEMAKER_QUOTAS,
    read: READ,
  },
  'sagemaker-serverless-payload': {
    rule: 'A Serverless Inference request is at most 4 MB.',
    limit: 4 * MIB,
    unit: 'bytes',
    infera: 'Requests to a serverless endpoint are split (v1) or refused with 413 (v2) at 4 MB.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-timeout': {
    rule: 'A Serverless Inference request must finish within 60 seconds.',
    limit: 60,
    unit: 'seconds',
    infera: 'As for real-time endpoints.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-memory': {
    rule: 'Serverless memory is 1024-6144 MB in 1 GB steps.',
    limit: 6144,
    unit: 'MB',
    infera: 'The manifest schema refuses any other size.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-concurrency': {
    rule: 'Serverless MaxConcurrency is 1-200 per endpoint; calls beyond it are throttled.',
    limit: 200,
    unit: 'count',
    infera:
      'Batch scoring runs at most maxConcurrency / 2 workers (each has two chunks in flight) when a model it serves is on a serverless endpoint.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-features': {
    rule: 'Serverless Inference does not support GPUs, AWS Marketplace model packages, private Docker registries, multi-model endpoints, VPC configuration, network isolation, data capture, multiple production variants, Model Monitor or inference pipelines.',
    infera:
      'A serverless endpoint’s model runs without network isolation; cdk synth fails any of these on a serverless config.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-conversion': {
    rule: 'An instance endpoint cannot be converted to serverless in place: it needs a new endpoint config.',
    infera:
      'Every change of capacity makes a new endpoint config (CloudFormation replaces it) and a blue/green update of the endpoint.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-regions': {
    rule: 'Serverless Inference is not offered in the China regions (aws-cn partition).',
    infera:
      'cdk synth for cn-north-1 or cn-northwest-1 fails on a serverless endpoint, naming infera:sagemaker=off (or an instance target in the manifest).',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-inference-ami': {
    rule: 'A variant’s InferenceAmiVersion fixes its driver: al2-ami-sagemaker-inference-gpu-3-1 is NVIDIA driver 550 with CUDA 12.4, for GPU instances (ml.g4dn, g5, g6, p3, p4d, p5); al2-ami-sagemaker-inference-neuron-2 is for Inferentia2 and Trainium. A GPU AMI on another family, or a Neuron AMI on a GPU, is refused.',
    infera:
      'GPU variants that run infera’s cuda image (CUDA 12.4, cuDNN 9) pin al2-ami-sagemaker-inference-gpu-3-1, so the driver is never older than the image’s CUDA; cdk synth fails an AMI on the wrong family.',
    source: PRODUCTION_VARIANT,
    read: READ_ACCELERATORS,
  },
  'sagemaker-model-data': {
    rule: 'A container’s ModelDataUrl is the S3 path of a single gzip-compressed tar archive (the page names the .tar.gz suffix), in the region of the model; a folder (an S3 prefix) needs ModelDataSource instead.',
    infera:
      'infera packs each version folder into model.tar.gz itself (uploaded as a CDK file asset, whose key keeps only the last extension, .gz, as the CDK’s own SageMaker model construct does); a manifest’s target.modelDataUrl must be an s3://…/….tar.gz URL, checked when the manifest loads; cdk synth refuses a ModelDataUrl that is not a .gz object.',
    source: CREATE_MODEL,
    read: READ_ACCELERATORS,
  },
  'sagemaker-image-registry': {
    rule: 'A container’s Image is pulled from Amazon ECR, in the same region as the model, or from a private Docker registry reachable from the VPC the model is configured with (ImageConfig RepositoryAccessMode Vpc); Docker Hub and other public registries are not reachable otherwise.',
    infera:
      'infera’s images are built into the stack’s ECR repository; a manifest’s target.image must be an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), checked when the manifest loads, and in the stack’s region, checked at synth.',
    source: CREATE_MODEL,
    read: READ_ACCELERATORS,
  },
  'sagemaker-neuron': {
    rule: 'Inferentia (ml.inf1, ml.inf2) and Trainium (ml.trn1) instances run models compiled with the AWS Neuron SDK, served from a Neuron image (the AWS Deep Learning Containers’ *-inference-neuronx images); they run no ONNX model and no CUDA.',
    infera:
      'infera’s ONNX image is refused on those instances when the manifest loads and at synth; a model there names its Neuron image (target.image) and compiled artifact (target.modelDataUrl). See docs/heavy-models.md.',
    source: {
      title: 'AWS Deep Learning Containers: available images (Neuron inference containers)',
      url: 'https://github.com/aws/deep-learning-containers/blob/master/available_images.md',
    },
    read: READ_ACCELERATORS,
  },
  'codebuild-concurrent-builds': {
    rule: 'An account runs at most its quota of concurrent CodeBuild builds per compute type; a new account’s can be 1, or 0 until the account is verified, and StartBuild beyond it fails with AccountLimitExceededException ("Cannot have more than 0 builds in queue for the account").',
    infera:
      'The stack’s image builds (infera:imageBuild=codebuild) run one after another, each waiting for the last; cdk synth fails two builds that could start together. If a deploy fails with that message, ask AWS Support or Service Quotas to raise "Concurrently running builds for Linux/Small environment", or deploy with -c infera:imageBuild=docker.',
    source: {
      title:
        'aws-ia/terraform-aws-control_tower_account_factory#54 and awslabs/landing-zone-accelerator-on-aws#1013: StartBuild refused in new accounts (the quotas are in the AWS CodeBuild User Guide, Quotas for AWS CodeBuild)',
      url: 'https://github.com/aws-ia/terraform-aws-control_tower_account_factory/issues/54',
    },
    read: READ_ACCELERATORS,
  },
  'sqs-visibility': {
    rule: "An SQS event source's queue visibility timeout should be at least six times the function's timeout.",
    limit: 6,
    unit: 'count',
    infera: 'The chunk queue’s visibility is 6× the score timeout; cdk synth checks every event source.',
    source: {
      title: 'AWS Lambda Developer Guide: Using Lambda with Amazon SQS',
      url: 'https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html',
    },
    read: READ,
  },
  'sqs-maximum-concurrency': {
    rule: "An SQS event source mapping's MaximumConcurrency is 2-1,000.",
    limit: 1000,
    unit: 'count',
    infera:
      'infera:batchMaxConcurrency is checked against it; it bounds batch without reserving concurrency.',
    source: {
      title: 'AWS Lambda Developer Guide: Configuring maximum concurrency for Amazon SQS event sources',
      url: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html',
    },
    read: READ,
  },
} as const satisfies Record<string, AwsRule>;

export type AwsRuleId = keyof typeof AWS_RULES;

/** A rule's number; every limit the code relies on is read through this. */
export function limitOf(id: AwsRuleId): number {
  const rule: AwsRule = AWS_RULES[id];
  if (rule.limit === undefined) throw new Error(`AWS rule ${id} has no number`);
  return rule.limit;
}

/** "rule-id: the rule (source title, url, read date)": how a finding cites its rule. */
export function cite(id: AwsRuleId): string {
  const r: AwsRule = AWS_RULES[id];
  return `AWS rule ${id}: ${r.rule} Source: ${r.source.title}, ${r.source.url} (read ${r.read}).`;
}

/** Bytes as the docs and messages say them: "6 MB" for 6 MiB, "11.4 MB" for 11,950,000. */
export function megabytes(bytes: number): string {
  const mb = bytes / MIB;
  return Number.isInteger(mb) ? `${mb} MB` : `${mb.toFixed(1)} MB`;
}

/** An Amazon ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]). */
export const ECR_IMAGE =
  /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9][a-z0-9._/-]*(:[\w.-]+|@sha256:[0-9a-f]{64})?$/;

/** An S3 URL of one gzip-compressed tar archive, as a manifest's target.modelDataUrl must be. */
export const MODEL_TARBALL = /^s3:\/\/[^/]+\/.+\.tar\.gz$/;
/** A ModelDataUrl in a template: one .gz object (CDK file assets keep only the last extension). */
export const MODEL_DATA_OBJECT = /^s3:\/\/[^/]+\/.+\.gz$/;

/** The partitions and regions where a feature is missing. */
export function partitionOf(region: string): 'aws' | 'aws-cn' | 'aws-us-gov' {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Whether SageMaker Serverless Inference exists in a region (see sagemaker-serverless-regions). */
export const serverlessInferenceIn = (region: string): boolean => partitionOf(region) !== 'aws-cn';
