import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTemplate } from '../../../infra/lib/aws-rules-plugin.ts';

const NEW_ACCOUNT = { memoryCapMb: 3008, accountConcurrency: 10 };
type Template = Parameters<typeof checkTemplate>[0];

const fn = (props: Record<string, unknown>) => ({ Type: 'AWS::Lambda::Function', Properties: props });
const serverlessEndpoint = (
  model: Record<string, unknown>,
  config: Record<string, unknown> = {},
): Template => ({
  Resources: {
    Model: { Type: 'AWS::SageMaker::Model', Properties: model },
    Config: {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: {
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: { 'Fn::GetAtt': ['Model', 'ModelName'] },
            ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
          },
        ],
        ...config,
      },
    },
  },
});
const rules = (t: Template, region?: string) => checkTemplate(t, region, NEW_ACCOUNT).map((f) => f.rule);

describe('the AWS rules on a synthesized template', () => {
  it('finds network isolation behind a serverless endpoint config, and nothing without it', () => {
    assert.deepEqual(rules(serverlessEndpoint({ EnableNetworkIsolation: true })), [
      'sagemaker-serverless-features',
    ]);
    assert.deepEqual(rules(serverlessEndpoint({ EnableNetworkIsolation: false })), []);
  });

  it('finds data capture, VPC configuration and a second variant on a serverless endpoint', () => {
    const [f] = checkTemplate(
      serverlessEndpoint({ VpcConfig: { Subnets: ['s'] } }, { DataCaptureConfig: { EnableCapture: true } }),
      undefined,
      NEW_ACCOUNT,
    );
    assert.equal(f?.rule, 'sagemaker-serverless-features');
    assert.match(f?.problem ?? '', /data capture .*VPC configuration \(Model\)/);
  });

  it('finds a serverless endpoint in a China region only', () => {
    const t = serverlessEndpoint({ EnableNetworkIsolation: false });
    assert.deepEqual(rules(t, 'cn-north-1'), ['sagemaker-serverless-regions']);
    assert.deepEqual(rules(t, 'eu-west-1'), []);
  });

  it('finds a function above the account memory cap, and takes it when the cap is raised', () => {
    const t = { Resources: { Big: fn({ MemorySize: 3072 }) } };
    assert.deepEqual(rules(t), ['lambda-memory-new-account']);
    assert.deepEqual(checkTemplate(t, undefined, { ...NEW_ACCOUNT, memoryCapMb: 10240 }), []);
    assert.deepEqual(rules({ Resources: { Fits: fn({ MemorySize: 3008 }) } }), []);
  });

  it('finds reservations that would leave fewer than 100 unreserved executions', () => {
    const t = {
      Resources: { A: fn({ ReservedConcurrentExecutions: 20 }), B: fn({ ReservedConcurrentExecutions: 5 }) },
    };
    const [f] = checkTemplate(t, undefined, NEW_ACCOUNT);
    assert.equal(f?.rule, 'lambda-unreserved-minimum');
    assert.equal(f?.resource, 'A, B');
    assert.deepEqual(checkTemplate(t, undefined, { ...NEW_ACCOUNT, accountConcurrency: 125 }), []);
    assert.equal(checkTemplate(t, undefined, { ...NEW_ACCOUNT, accountConcurrency: 124 }).length, 1);
  });

  it('finds a function behind an HTTP API integration, through its alias, that outlives the 30 s integration', () => {
    const t = (timeout: number): Template => ({
      Resources: {
        Fn: fn({ Timeout: timeout }),
        Live: { Type: 'AWS::Lambda::Alias', Properties: { FunctionName: { Ref: 'Fn' } } },
        Integ: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: { Ref: 'Live' } } },
        Infer: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: { Ref: 'Live' } } },
      },
    });
    // One finding for the function, however many routes reach it.
    assert.deepEqual(rules(t(35)), ['http-api-integration-timeout']);
    assert.deepEqual(rules(t(30)), []);
  });

  it('finds an SQS event source whose queue would redeliver a message still being worked on', () => {
    const t = (visibility: number): Template => ({
      Resources: {
        Fn: fn({ Timeout: 120 }),
        Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: visibility } },
        Esm: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Fn' },
            EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] },
            ScalingConfig: { MaximumConcurrency: 1 },
          },
        },
      },
    });
    assert.deepEqual(rules(t(300)).sort(), ['sqs-maximum-concurrency', 'sqs-visibility']);
    assert.deepEqual(rules(t(720)), ['sqs-maximum-concurrency']);
  });

  it('finds a function whose environment is over 4 KB', () => {
    const t = { Resources: { Env: fn({ Environment: { Variables: { MODEL_NAMES: 'm,'.repeat(2100) } } }) } };
    assert.deepEqual(rules(t), ['lambda-environment']);
  });

  it('finds a stack over 500 resources, 200 outputs or 300 routes on one API', () => {
    const many = (
      n: number,
      make: (i: number) => [string, { Type: string; Properties?: Record<string, unknown> }],
    ) => Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));
    const routes = many(301, (i) => [
      `R${i}`,
      { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: { Ref: 'Api' } } },
    ]);
    assert.deepEqual(rules({ Resources: routes }), ['http-api-routes']);
    const queues = many(501, (i) => [`Q${i}`, { Type: 'AWS::SQS::Queue' }]);
    assert.deepEqual(rules({ Resources: queues }), ['cloudformation-resources']);
    const outputs = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`O${i}`, { Value: 'x' }]));
    assert.deepEqual(rules({ Resources: {}, Outputs: outputs } as never), ['cloudformation-outputs']);
  });

  it('finds a GPU inference AMI on a CPU instance and a Neuron AMI on a GPU, and takes each on its own family', () => {
    const variant = (InstanceType: string, InferenceAmiVersion: string): Template => ({
      Resources: {
        Config: {
          Type: 'AWS::SageMaker::EndpointConfig',
          Properties: { ProductionVariants: [{ VariantName: 'A', InstanceType, InferenceAmiVersion }] },
        },
      },
    });
    assert.deepEqual(rules(variant('ml.c6i.xlarge', 'al2-ami-sagemaker-inference-gpu-3-1')), [
      'sagemaker-inference-ami',
    ]);
    assert.deepEqual(rules(variant('ml.g5.xlarge', 'al2-ami-sagemaker-inference-neuron-2')), [
      'sagemaker-inference-ami',
    ]);
    assert.deepEqual(rules(variant('ml.g5.xlarge', 'al2-ami-sagemaker-inference-gpu-3-1')), []);
    assert.deepEqual(rules(variant('ml.inf2.xlarge', 'al2-ami-sagemaker-inference-neuron-2')), []);
  });

  it("finds infera's ONNX image on Inferentia or Trainium, and takes a Neuron image there", () => {
    const onInstance = (InstanceType: string, Environment: Record<string, string>): Template => ({
      Resources: {
        Model: {
          Type: 'AWS::SageMaker::Model',
          Properties: {
            PrimaryContainer: {
              Image:
                '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuronx:2.8.0-neuronx-py311-sdk2.26.1-ubuntu22.04',
              ModelDataUrl: 's3://b/compiled/model.tar.gz',
              Environment,
            },
          },
        },
        Config: {
          Type: 'AWS::SageMaker::EndpointConfig',
          Properties: {
            ProductionVariants: [
              { VariantName: 'A', InstanceType, ModelName: { 'Fn::GetAtt': ['Model', 'ModelName'] } },
            ],
          },
        },
      },
    });
    for (const type of ['ml.inf2.xlarge', 'ml.trn1.2xlarge']) {
      assert.deepEqual(rules(onInstance(type, { INFERA_EXECUTION_PROVIDER: 'cpu' })), ['sagemaker-neuron']);
      assert.deepEqual(rules(onInstance(type, {})), []);
    }
    assert.deepEqual(rules(onInstance('ml.g5.xlarge', { INFERA_EXECUTION_PROVIDER: 'cuda' })), []);
  });

  it('finds model data that is not one .tar.gz in S3, and an image outside Amazon ECR', () => {
    const model = (PrimaryContainer: Record<string, unknown>): Template => ({
      Resources: { Model: { Type: 'AWS::SageMaker::Model', Properties: { PrimaryContainer } } },
    });
    const ecr = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/neuron-serving:1';
    assert.deepEqual(rules(model({ Image: ecr, ModelDataUrl: 's3://b/model/' })), ['sagemaker-model-data']);
    assert.deepEqual(rules(model({ Image: 'nvcr.io/nvidia/tritonserver:24.05-py3' })), [
      'sagemaker-image-registry',
    ]);
    assert.deepEqual(rules(model({ Image: 'pytorch/pytorch:latest' })), ['sagemaker-image-registry']);
    assert.deepEqual(rules(model({ Image: ecr, ModelDataUrl: 's3://b/compiled/model.tar.gz' })), []);
    // An ECR image in another region than the model's.
    assert.deepEqual(rules(model({ Image: ecr }), 'us-east-1'), ['sagemaker-image-registry']);
    assert.deepEqual(rules(model({ Image: ecr }), 'eu-west-1'), []);
    assert.deepEqual(
      rules(
        model({ Image: `123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/serving@sha256:${'a'.repeat(64)}` }),
      ),
      [],
    );
  });

  it('finds image builds that could start together, and takes a chain of builds', () => {
    const build = (DependsOn?: string[]) => ({
      Type: 'Custom::CDKContainerImageBuild',
      Properties: {},
      ...(DependsOn ? { DependsOn } : {}),
    });
    const chained = {
      Resources: { A: build(), B: build(['A']), C: build(['X', 'B']), X: fn({}) },
    } as Template;
    assert.deepEqual(rules(chained), []);
    const parallel = { Resources: { A: build(), B: build() } } as Template;
    assert.deepEqual(rules(parallel), ['codebuild-concurrent-builds']);
  });
});
