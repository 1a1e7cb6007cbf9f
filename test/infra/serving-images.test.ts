/**
 * Which image each SageMaker endpoint runs, and how `cdk deploy` gets it: a GPU endpoint runs
 * the Dockerfile's cuda target on an inference AMI whose driver matches it, a CPU endpoint the cpu
 * target, and both are built in CodeBuild during the deployment (no Docker engine here), one
 * after the other, unless infera:imageBuild=docker asks for the local engine.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { GPU_INFERENCE_AMI, SageMakerModelEndpoint } from '../../infra/constructs/sagemaker-endpoint.ts';
import { modelsWithGpuScorer } from '../support/gpu-models.ts';
import { findingsOf, type Resources, removeSynthOutput, synthApp } from '../support/synth.ts';

const US = { account: '123456789012', region: 'us-east-1' };
let models: string;

before(() => {
  models = modelsWithGpuScorer();
});
after(() => {
  removeSynthOutput();
  rmSync(models, { recursive: true, force: true });
});

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

/** The endpoint config's first variant and the model's container, of the endpoint named `name`. */
function endpointParts(resources: Resources, name: string) {
  type GetAtt = { 'Fn::GetAtt': [string, string] };
  const props = (id: string) => resources[id]?.Properties ?? {};
  const endpointId = ofType(resources, 'AWS::SageMaker::Endpoint').find(
    ([id]) => props(id).EndpointName === name,
  )?.[0];
  assert.ok(endpointId, `endpoint ${name}`);
  const configId = (props(endpointId).EndpointConfigName as GetAtt)['Fn::GetAtt'][0];
  const variants = props(configId).ProductionVariants as Record<string, unknown>[];
  const variant = variants[0] as Record<string, unknown>;
  const modelId = (variant.ModelName as GetAtt)['Fn::GetAtt'][0];
  const container = props(modelId).PrimaryContainer as {
    Image: unknown;
    Environment: Record<string, string>;
  };
  return { variant, container };
}

describe('serving images', () => {
  it('serves a GPU model from the cuda image on a matching inference AMI, and the CPU demo from the cpu image', async () => {
    const { resources, report } = await synthApp(US, { 'infera:models': models });
    assert.deepEqual(findingsOf(report), [], 'cdk-nag and the AWS rules pass');

    const gpu = endpointParts(resources, 'infera-gpu-scorer-1');
    assert.equal(gpu.variant.InstanceType, 'ml.g5.xlarge');
    assert.equal(gpu.variant.InferenceAmiVersion, GPU_INFERENCE_AMI);
    assert.equal(gpu.container.Environment.INFERA_EXECUTION_PROVIDER, 'cuda');

    const cpu = endpointParts(resources, 'infera-fraud-detector-xl-1');
    assert.ok(cpu.variant.ServerlessConfig, 'the demo stays serverless');
    assert.equal(cpu.variant.InferenceAmiVersion, undefined);
    assert.equal(cpu.container.Environment.INFERA_EXECUTION_PROVIDER, 'cpu');

    const builds = ofType(resources, 'Custom::CDKContainerImageBuild');
    const target = (id: string) =>
      /--target (\w+)/.exec(String(resources[id]?.Properties?.buildCommand))?.[1];
    assert.deepEqual(builds.map(([id]) => target(id)).sort(), ['cpu', 'cuda']);
    const imageOf = (c: { Image: unknown }) => JSON.stringify(c.Image);
    const buildOf = (flavour: string) => builds.find(([id]) => target(id) === flavour)?.[0] as string;
    assert.match(imageOf(gpu.container), new RegExp(`"${buildOf('cuda')}","ImageTag"`));
    assert.match(imageOf(cpu.container), new RegExp(`"${buildOf('cpu')}","ImageTag"`));
  });

  it('builds the images in CodeBuild one after the other, into one repository, with nothing for a local Docker engine', async () => {
    const { resources, templatePath } = await synthApp(US, { 'infera:models': models });
    const builds = ofType(resources, 'Custom::CDKContainerImageBuild');
    assert.equal(builds.length, 2);
    const dependsOn = (id: string) =>
      [resources[id] as { DependsOn?: string[] }].flatMap((r) => r.DependsOn ?? []);
    const [a, b] = builds.map(([id]) => id) as [string, string];
    assert.ok(
      dependsOn(a).includes(b) !== dependsOn(b).includes(a),
      'exactly one build waits for the other (a new account may run one CodeBuild build at a time)',
    );
    assert.equal(ofType(resources, 'AWS::CodeBuild::Project').length, 1);
    const repos = ofType(resources, 'AWS::ECR::Repository');
    assert.equal(repos.length, 1);
    assert.equal(repos[0]?.[1].Properties?.RepositoryName, 'infera-serving');
    const assets = JSON.parse(readFileSync(join(dirname(templatePath), 'Infera.assets.json'), 'utf8')) as {
      dockerImages?: Record<string, unknown>;
    };
    assert.deepEqual(assets.dockerImages ?? {}, {});
  });

  it('builds the images with the local Docker engine with infera:imageBuild=docker', async () => {
    const { resources, templatePath, report } = await synthApp(US, {
      'infera:models': models,
      'infera:imageBuild': 'docker',
    });
    assert.deepEqual(findingsOf(report), []);
    assert.equal(ofType(resources, 'Custom::CDKContainerImageBuild').length, 0);
    assert.equal(ofType(resources, 'AWS::CodeBuild::Project').length, 0);
    const assets = JSON.parse(readFileSync(join(dirname(templatePath), 'Infera.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { dockerBuildTarget?: string; dockerFile?: string } }>;
    };
    const targets = Object.values(assets.dockerImages).map((i) => i.source.dockerBuildTarget);
    assert.deepEqual(targets.sort(), ['cpu', 'cuda']);
    for (const i of Object.values(assets.dockerImages)) {
      assert.equal(i.source.dockerFile, 'functions/container/Dockerfile');
    }
  });

  it('refuses the ONNX image on Inferentia or Trainium instances, naming a Neuron image as the way', () => {
    for (const instanceType of ['ml.inf2.xlarge', 'ml.trn1.2xlarge']) {
      const stack = new Stack(new App(), 'T');
      assert.throws(
        () =>
          new SageMakerModelEndpoint(stack, 'E', {
            modelName: 'm',
            modelVersion: '1',
            modelDir: join(models, 'gpu-scorer', '1'),
            instanceType,
          }),
        /run Neuron-compiled models, not ONNX; set imageUri to a Neuron serving image and modelDataUrl/,
      );
    }
  });
});
