import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Environment } from 'aws-cdk-lib';
import { findingsOf, NO_BUNDLING, removeSynthOutput, synthApp } from '../support/synth.ts';

after(removeSynthOutput);

const ENVIRONMENTS: [string, Environment | undefined, string, Record<string, unknown>][] = [
  ['environment-agnostic', undefined, 'Ref', {}],
  ['123456789012 in us-east-1', { account: '123456789012', region: 'us-east-1' }, 'arn:aws:', {}],
  ['123456789012 in eu-west-1', { account: '123456789012', region: 'eu-west-1' }, 'arn:aws:', {}],
  [
    '123456789012 in cn-north-1 (the aws-cn partition) without SageMaker, which it needs there',
    { account: '123456789012', region: 'cn-north-1' },
    'arn:aws-cn:',
    { 'infera:sagemaker': 'off' },
  ],
];

describe('cdk synth in every environment', () => {
  for (const [name, env, arnPrefix, context] of ENVIRONMENTS) {
    it(`synthesizes ${name} with no cdk-nag, AWS-rule or template-validation finding`, async () => {
      const { report, resources } = await synthApp(env, context);
      assert.deepEqual(findingsOf(report), []);
      // The acknowledged log-group permission is rendered in this environment's own ARN form.
      const policies = JSON.stringify(Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy'));
      if (!env) assert.match(policies, /"Ref":"AWS::Partition"/);
      else if (context['infera:sagemaker'] === 'off') assert.ok(policies.includes(`${arnPrefix}`));
      else assert.ok(policies.includes(`${arnPrefix}logs:${env.region}:${env.account}:log-group:`));
    });
  }

  it('fails a cn-north-1 synth of the serverless demo model, naming the rule, its source and infera:sagemaker=off', async () => {
    const { buildApp } = await import('../../infra/app.ts');
    const outdir = mkdtempSync(join(tmpdir(), 'infera-cn-'));
    const { app } = await buildApp({
      outdir,
      context: { ...NO_BUNDLING },
      env: { account: '123456789012', region: 'cn-north-1' },
    });
    assert.throws(() => app.synth(), /Validation failed/);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: { ruleName: string; description: string; suggestedFix: string }[];
      }[];
    };
    const ours = report.pluginReports.find((p) => p.pluginName === 'infera-aws-rules');
    const violation = ours?.violations.find((v) => v.ruleName === 'sagemaker-serverless-regions');
    assert.ok(
      violation,
      JSON.stringify(report.pluginReports.map((p) => p.violations.map((v) => v.ruleName))),
    );
    assert.match(violation.description, /cn-north-1 has no SageMaker Serverless Inference/);
    assert.match(violation.description, /Source: .*serverless-endpoints\.html \(read \d{4}-\d\d-\d\d\)/);
    assert.match(violation.suggestedFix, /-c infera:sagemaker=off/);
  });

  it('fails synth on a finding nobody acknowledged, in an environment-specific stack too', async () => {
    const { App, Stack } = await import('aws-cdk-lib');
    const { Bucket } = await import('aws-cdk-lib/aws-s3');
    const { AwsSolutionsChecks } = await import('../../infra/lib/nag.ts');
    const { Validations } = await import('aws-cdk-lib');
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'infera-env-')) });
    new Bucket(
      new Stack(app, 'Careless', { env: { account: '123456789012', region: 'cn-north-1' } }),
      'Open',
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.throws(() => app.synth(), /Validation failed/);
  });

  it('turns CDK template-validation findings into synth errors (cdk.json sets the flag)', async () => {
    const cdkJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8'));
    assert.equal(cdkJson.context['@aws-cdk/core:validateAgainstDefaultRules'], true);
    const { App, CfnResource, Stack } = await import('aws-cdk-lib');
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'infera-env-')),
      context: { '@aws-cdk/core:validateAgainstDefaultRules': true },
    });
    new CfnResource(new Stack(app, 'Typo'), 'Queue', {
      type: 'AWS::SQS::Queue',
      properties: { VisibilityTimeout: 'thirty' },
    });
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
