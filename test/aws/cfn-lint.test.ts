/**
 * cfn-lint (the machine's Python tool) on every template the app synthesizes: agnostic, for an
 * account in two partitions, with one shared model function, with a model store, and the smoke-deploy selection. W3005 is ignored: CDK itself adds
 * DependsOn entries that a GetAtt already implies (each function on its role's policy).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Environment } from 'aws-cdk-lib';
import { run } from '../helpers.ts';
import { modelsWithGpuScorer } from '../support/gpu-models.ts';
import { requireTools } from '../support/moto.ts';
import { removeSynthOutput, synthApp } from '../support/synth.ts';

const IGNORED = ['W3005'];
const lint = (template: string) => run('cfn-lint', ['--ignore-checks', ...IGNORED, '--', template]);

before(() => requireTools('cfn-lint'));
after(removeSynthOutput);

const gpuModels = modelsWithGpuScorer();
after(() => rmSync(gpuModels, { recursive: true, force: true }));

const CASES: [string, Environment | undefined, Record<string, unknown>][] = [
  [
    'a GPU model on ml.g5.xlarge with its inference AMI, next to the serverless demo, both images built in CodeBuild',
    { account: '123456789012', region: 'us-east-1' },
    { 'infera:models': gpuModels },
  ],
  ['the default deployment, environment-agnostic', undefined, {}],
  [
    'the default deployment for 123456789012 in us-east-1',
    { account: '123456789012', region: 'us-east-1' },
    {},
  ],
  [
    'the default deployment for 123456789012 in cn-north-1, without SageMaker (no Serverless Inference there)',
    { account: '123456789012', region: 'cn-north-1' },
    { 'infera:sagemaker': 'off' },
  ],
  [
    'the shipped models sharing one function (as beyond 10 models)',
    { account: '123456789012', region: 'us-east-1' },
    { 'infera:modelFunctions': 'shared' },
  ],
  [
    'the models in a model store (S3 and DynamoDB) behind one shared function, in cn-north-1',
    { account: '123456789012', region: 'cn-north-1' },
    { 'infera:modelStore': 'true', 'infera:sagemaker': 'off' },
  ],
  [
    'batch, canaries, dashboard and SageMaker off, with JWT auth on arm64',
    undefined,
    {
      'infera:batch': 'false',
      'infera:canary': 'false',
      'infera:dashboard': 'false',
      'infera:sagemaker': 'off',
      'infera:architecture': 'arm64',
      'infera:auth': 'jwt',
      'infera:jwtIssuer': 'https://issuer.example.com/',
      'infera:jwtAudience': 'app',
    },
  ],
];

describe('cfn-lint on every synthesized template', () => {
  for (const [name, env, context] of CASES) {
    it(`finds nothing in ${name}`, async () => {
      const { templatePath } = await synthApp(env, context);
      const r = await lint(templatePath);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
      assert.equal(r.code, 0);
    });
  }

  it('reports an error in a broken template, so a clean run means something', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infera-lint-'));
    try {
      const file = join(dir, 'broken.json');
      writeFileSync(
        file,
        JSON.stringify({
          Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'thirty' } } },
        }),
      );
      const r = await lint(file);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout, /E3012/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
