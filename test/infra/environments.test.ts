import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Environment } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.ts';

/** Skips esbuild: these tests are about the template and its checks, not the bundles. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingResources?: unknown[] }[] }[];
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Synthesizes the whole app (cdk-nag and CDK's template validation run as at `cdk synth`). */
async function synth(env: Environment | undefined, context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'infera-env-'));
  dirs.push(outdir);
  const { app, stack } = await buildApp({
    outdir,
    context: { ...NO_BUNDLING, ...context },
    ...(env ? { env } : {}),
  });
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  const template = JSON.parse(
    readFileSync(join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile), 'utf8'),
  ) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  return { stack, report, template };
}

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
      const { report, template } = await synth(env);
      const findings = report.pluginReports.flatMap((p) =>
        p.violations.map((v) => `${p.pluginName}: ${v.ruleName}`),
      );
      assert.deepEqual(findings, []);
      // The acknowledged log-group permission is rendered in this environment's own ARN form.
      const policies = JSON.stringify(
        Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Policy'),
      );
      if (env) assert.ok(policies.includes(`${arnPrefix}logs:${env.region}:${env.account}:log-group:`));
      else assert.match(policies, /"Ref":"AWS::Partition"/);
    });
  }

  it('fails synth on a finding nobody acknowledged, in an environment-specific stack too', async () => {
    const { App, Stack } = await import('aws-cdk-lib');
    const { Bucket } = await import('aws-cdk-lib/aws-s3');
    const { AwsSolutionsChecks } = await import('../../infra/lib/nag.ts');
    const { Validations } = await import('aws-cdk-lib');
    const outdir = mkdtempSync(join(tmpdir(), 'infera-env-'));
    dirs.push(outdir);
    const app = new App({ outdir });
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
    const outdir = mkdtempSync(join(tmpdir(), 'infera-env-'));
    dirs.push(outdir);
    const app = new App({ outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
    new CfnResource(new Stack(app, 'Typo'), 'Queue', {
      type: 'AWS::SQS::Queue',
      properties: { VisibilityTimeout: 'thirty' },
    });
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
