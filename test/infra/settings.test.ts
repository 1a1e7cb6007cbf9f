import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildApp } from '../../infra/app.ts';
import { copyModelsSync } from '../helpers.ts';
import { findingsOf, NO_BUNDLING, type Resources, removeSynthOutput, synthApp } from '../support/synth.ts';

const US = { account: '123456789012', region: 'us-east-1' };
const temp: string[] = [];
after(() => {
  removeSynthOutput();
  for (const d of temp) rmSync(d, { recursive: true, force: true });
});

const count = (resources: Resources, prefix: string) =>
  Object.values(resources).filter((r) => r.Type.startsWith(prefix)).length;

/** A copy of the shipped models with fraud-detector-xl's target replaced. */
function modelsWithXlTarget(target: Record<string, unknown>): string {
  const dir = copyModelsSync();
  temp.push(dir);
  const file = join(dir, 'fraud-detector-xl', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.target = target;
  writeFileSync(file, JSON.stringify(manifest));
  return dir;
}

describe('deployment settings for each component', () => {
  it('leaves out the API, batch, SageMaker, canaries, the dashboard and labelled quality when each is off, and stays nag-clean', async () => {
    const { stack, report, resources, infos } = await synthApp(US, {
      'infera:api': 'false',
      'infera:batch': 'false',
      'infera:sagemaker': 'off',
      'infera:canary': 'false',
      'infera:dashboard': 'false',
      'infera:quality': 'false',
    });
    assert.deepEqual(findingsOf(report), []);
    for (const prefix of [
      'AWS::Glue::',
      'AWS::Athena::',
      'AWS::Events::Rule',
      'AWS::ApiGatewayV2::',
      'AWS::CodeDeploy::',
      'AWS::CloudWatch::',
      'AWS::SNS::',
      'AWS::KMS::',
      'AWS::SageMaker::',
      'AWS::S3::',
      'AWS::SQS::',
    ]) {
      assert.equal(count(resources, prefix), 0, prefix);
    }
    assert.deepEqual([...stack.models.keys()].sort(), [
      'dominant-color',
      'fraud-detector',
      'iris',
      'text-direction',
      'ticket-router',
    ]);
    assert.ok(infos.some((i) => /infera:sagemaker=off leaves out .*fraud-detector-xl/.test(i)));
    // What remains still serves: a function and a live alias per model, reserving nothing (a new
    // account's quota of 10 leaves none to reserve).
    assert.equal(count(resources, 'AWS::Lambda::Alias'), stack.models.size);
    for (const r of Object.values(resources).filter((x) => x.Type === 'AWS::Lambda::Function')) {
      assert.equal(r.Properties?.ReservedConcurrentExecutions, undefined);
    }
  });

  it('gives a shared function one p99 bar for in-process models and another for SageMaker-routed ones', async () => {
    const { stack, resources } = await synthApp(US, { 'infera:modelFunctions': 'shared' });
    const shared = stack.sharedModels;
    assert.ok(shared);
    const bars = shared.latencyAlarms.map((a) => {
      const p = resources[stack.getLogicalId(a.node.defaultChild as never)]?.Properties ?? {};
      const route = (p.Dimensions as { Name: string; Value: unknown }[]).find(
        (d) => d.Name === 'route',
      )?.Value;
      return [route, p.Threshold];
    });
    // One SageMaker-routed model (29 s timeout) used to set a 23,200 ms bar for every model.
    assert.deepEqual(bars, [
      ['lambda', 1000],
      ['sagemaker', 23_200],
    ]);
    const group = Object.values(resources).find((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup');
    const config = group?.Properties?.AlarmConfiguration as { Alarms: unknown[] } | undefined;
    assert.equal(config?.Alarms.length, 4, 'error rate, a p99 per route, and 5xx per model');
  });

  it('keeps the alarms for the dashboard when canaries are off, without CodeDeploy or endpoint rollback', async () => {
    const { stack, report, resources } = await synthApp(undefined, { 'infera:canary': 'false' });
    assert.deepEqual(findingsOf(report), []);
    assert.equal(count(resources, 'AWS::CodeDeploy::'), 0);
    const m = stack.models.get('iris');
    assert.ok(m?.errorRateAlarm && m.latencyAlarm && !m.preTrafficHook);
    const endpoint = Object.values(resources).find((r) => r.Type === 'AWS::SageMaker::Endpoint');
    assert.equal(endpoint?.Properties?.DeploymentConfig, undefined);
  });

  it('makes every endpoint serverless with infera:sagemaker=serverless, even one the manifest puts on a GPU', async () => {
    const models = modelsWithXlTarget({
      type: 'sagemaker',
      instanceType: 'ml.g5.xlarge',
      accelerator: 'gpu',
    });
    const manifest = await synthApp(undefined, { 'infera:models': models });
    const config = (r: Resources) =>
      Object.values(r).find((x) => x.Type === 'AWS::SageMaker::EndpointConfig')?.Properties
        ?.ProductionVariants as Record<string, unknown>[];
    assert.equal(config(manifest.resources)[0]?.InstanceType, 'ml.g5.xlarge');
    const serverless = await synthApp(undefined, {
      'infera:models': models,
      'infera:sagemaker': 'serverless',
    });
    assert.deepEqual(findingsOf(serverless.report), []);
    assert.deepEqual(config(serverless.resources)[0]?.ServerlessConfig, {
      MemorySizeInMB: 2048,
      MaxConcurrency: 5,
    });
    assert.equal(count(serverless.resources, 'AWS::ApplicationAutoScaling::'), 0);
  });

  it('refuses to make an Inferentia endpoint serverless, naming the model and the settings that work', async () => {
    const models = modelsWithXlTarget({
      type: 'sagemaker',
      instanceType: 'ml.inf2.xlarge',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/neuron:1',
      modelDataUrl: 's3://b/model.tar.gz',
    });
    await assert.rejects(
      buildApp({ context: { ...NO_BUNDLING, 'infera:models': models, 'infera:sagemaker': 'serverless' } }),
      /fraud-detector-xl@1 runs on Inferentia \(ml\.inf2\.xlarge\), which SageMaker Serverless cannot; deploy with -c infera:sagemaker=manifest/,
    );
  });

  it('reserves no concurrency when asked, for accounts whose quota is too small', async () => {
    const { resources } = await synthApp(undefined, { 'infera:reservedConcurrency': 'false' });
    const bounded = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.ReservedConcurrentExecutions !== undefined,
    );
    assert.deepEqual(bounded, []);
  });

  it('names the setting and the fix for contradictory settings', async () => {
    await assert.rejects(
      buildApp({
        context: { ...NO_BUNDLING, 'infera:dashboard': 'false', 'infera:alarmEmail': 'ops@example.com' },
      }),
      /infera:alarmEmail: alarm email needs the alarm topic; set infera:dashboard=true/,
    );
    await assert.rejects(
      buildApp({
        context: {
          ...NO_BUNDLING,
          'infera:provisionedConcurrency': '30',
          'infera:reservedConcurrency': 'true',
        },
      }),
      /infera:provisionedConcurrency: provisioned concurrency \(30\) cannot exceed .*infera:modelConcurrency \(20\)/,
    );
    await assert.rejects(
      buildApp({ context: { ...NO_BUNDLING, 'infera:sagemaker': 'gpu' } }),
      /infera:sagemaker: Invalid option: expected one of "manifest"\|"serverless"\|"off"/,
    );
  });

  it('rejects a serverless manifest that also asks for instances or a GPU, naming the field', async () => {
    const models = modelsWithXlTarget({
      type: 'sagemaker',
      serverless: { memoryMb: 3000 },
      instanceType: 'ml.g5.xlarge',
    });
    await assert.rejects(
      buildApp({ context: { ...NO_BUNDLING, 'infera:models': models } }),
      (e: Error & { details?: string[] }) => {
        const text = `${e.message}\n${(e.details ?? []).join('\n')}`;
        assert.match(text, /target\.serverless\.memoryMb: must be 1024, 2048, 3072, 4096, 5120 or 6144/);
        assert.match(text, /target\.instanceType: a serverless endpoint has no instances/);
        return true;
      },
    );
  });

  it('shares batch jobs among callers only when infera:batchSharedView is on', async () => {
    const sharedOf = async (context: Record<string, string>) => {
      const { resources } = await synthApp(US, context);
      return Object.values(resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map(
          (r) =>
            (r.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment
              ?.Variables,
        )
        .filter((v) => v?.BATCH_INPUT_BUCKET !== undefined)
        .map((v) => v?.BATCH_SHARED_VIEW ?? 'unset');
    };
    const byDefault = await sharedOf({});
    assert.ok(byDefault.length >= 4, 'the batch functions');
    assert.deepEqual(new Set(byDefault), new Set(['unset']));
    assert.deepEqual(new Set(await sharedOf({ 'infera:batchSharedView': 'true' })), new Set(['true']));
  });
});
