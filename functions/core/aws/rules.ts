/**
 * The AWS limits and feature rules infera depends on, each once, with the AWS page it comes from
 * and the day it was read. Emulators (moto, fauxqs, the local gateway) accept what AWS refuses, so
 * every number the stack, the local platform or a manifest check relies on is read from here:
 * `cdk synth` (infra/lib/aws-rules-plugin.ts), `npm start` (the gateway and the SageMaker stand-in),
 * the serving code's payload checks, and docs/deploy.md's table (generated from AWS_RULES).
 * Pure data: no AWS SDK, no I/O.
 */
import { type AwsRule, MIB, READ } from './rule.ts';
import { SAGEMAKER_RULES } from './sagemaker-rules.ts';

const LAMBDA_QUOTAS = {
  title: 'AWS Lambda Developer Guide: Lambda quotas',
  url: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
};
const HTTP_API_QUOTAS = {
  title: 'Amazon API Gateway Developer Guide: Quotas for configuring and running an HTTP API',
  url: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html',
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
  ...SAGEMAKER_RULES,
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
