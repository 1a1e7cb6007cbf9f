import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Environment } from 'aws-cdk-lib';
import { findingsOf, removeSynthOutput, synthApp } from '../support/synth.ts';

after(removeSynthOutput);

const ENVIRONMENTS: [string, Environment | undefined, string][] = [
  ['environment-agnostic', undefined, 'Ref'],
  ['123456789012 in us-east-1', { account: '123456789012', region: 'us-east-1' }, 'arn:aws:'],
  ['123456789012 in eu-west-1', { account: '123456789012', region: 'eu-west-1' }, 'arn:aws:'],
  [
    '123456789012 in cn-north-1 (the aws-cn partition)',
    { account: '123456789012', region: 'cn-north-1' },
    'arn:aws-cn:',
  ],
];

describe('cdk synth in every environment', () => {
  for (const [name, env, arnPrefix] of ENVIRONMENTS) {
    it(`synthesizes ${name} with no cdk-nag or template-validation finding`, async () => {
      const { report, resources } = await synthApp(env);
      assert.deepEqual(findingsOf(report), []);
      // The acknowledged log-group permission is rendered in this environment's own ARN form.
      const policies = JSON.stringify(Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy'));
      if (env) assert.ok(policies.includes(`${arnPrefix}logs:${env.region}:${env.account}:log-group:`));
      else assert.match(policies, /"Ref":"AWS::Partition"/);
    });
  }

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
