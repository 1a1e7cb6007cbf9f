/**
 * What AWS would refuse, `cdk synth` refuses first: a deliberately broken manifest or setting
 * fails the synth with the AWS rule, its source and the fix (functions/core/aws/rules.ts,
 * infra/lib/aws-rules-plugin.ts). moto accepts every one of these templates; AWS does not.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildApp } from '../../infra/app.ts';
import { copyModelsSync } from '../helpers.ts';
import { NO_BUNDLING, removeSynthOutput, synthApp, synthViolations } from '../support/synth.ts';

const US = { account: '123456789012', region: 'us-east-1' };
const temp: string[] = [];
after(() => {
  removeSynthOutput();
  for (const d of temp) rmSync(d, { recursive: true, force: true });
});

/** A copy of the shipped models with one version's target replaced. */
function modelsWithTarget(model: string, target: Record<string, unknown>): string {
  const dir = copyModelsSync();
  temp.push(dir);
  const file = join(dir, model, '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.target = target;
  writeFileSync(file, JSON.stringify(manifest));
  return dir;
}

const SOURCE = /Source: .+, https:\/\/\S+ \(read \d{4}-\d\d-\d\d\)/;

describe('AWS rules at synth', () => {
  it('refuses a serverless model with network isolation, naming the rule, its source and the fix', async () => {
    const models = modelsWithTarget('fraud-detector-xl', {
      type: 'sagemaker',
      serverless: { memoryMb: 2048, maxConcurrency: 5 },
      networkIsolation: true,
    });
    await assert.rejects(buildApp({ context: { ...NO_BUNDLING, 'infera:models': models } }), (e: Error) => {
      assert.match(e.message, /target\.networkIsolation/);
      assert.match(e.message, /Serverless Inference does not support network isolation/);
      assert.match(e.message, /AWS rule sagemaker-serverless-features/);
      assert.match(e.message, SOURCE);
      assert.match(e.message, /Remove networkIsolation, or serve the model on instances/);
      return true;
    });
  });

  it('fails a 5,000 MB score function under the new-account cap of 3,008 MB, naming the settings that fix it', async () => {
    const violations = await synthViolations(US, { 'infera:batchScoreMemoryMb': '5000' });
    const v = violations.find((x) => x.ruleName === 'lambda-memory-new-account');
    assert.ok(v, JSON.stringify(violations));
    assert.match(v.description, /^BatchScore\w+: MemorySize is 5000 MB; this account allows 3008 MB/);
    assert.match(v.description, SOURCE);
    assert.match(v.suggestedFix, /infera:batchScoreMemoryMb/);
    assert.match(v.suggestedFix, /infera:lambdaMemoryCapMb/);
  });

  it('takes 5,000 MB once the account says it allows it (infera:lambdaMemoryCapMb)', async () => {
    const { resources } = await synthApp(US, {
      'infera:batchScoreMemoryMb': '5000',
      'infera:lambdaMemoryCapMb': '10240',
    });
    const score = Object.entries(resources).find(([id]) => /^BatchScore[0-9A-F]{8}$/.test(id));
    assert.equal(score?.[1].Properties?.MemorySize, 5000);
  });

  it('fails a 35 s model timeout behind the HTTP API, whose integrations stop at 30 s', async () => {
    const models = modelsWithTarget('iris', { type: 'lambda', timeoutSeconds: 35 });
    const violations = await synthViolations(US, { 'infera:models': models });
    const v = violations.find((x) => x.ruleName === 'http-api-integration-timeout');
    assert.ok(v, JSON.stringify(violations));
    assert.match(
      v.description,
      /^Modeliris\w+: the function behind \w+ may run 35 s; the HTTP API gives up after 30 s/,
    );
    assert.match(v.description, SOURCE);
    assert.match(v.suggestedFix, /target\.timeoutSeconds .* at most 29, or deploy with -c infera:api=false/);
  });

  it('warns at synth about a version without golden fixtures, naming the folder and what to add', async () => {
    const models = copyModelsSync();
    after(() => rmSync(models, { recursive: true, force: true }));
    rmSync(join(models, 'iris', '1', 'fixtures'), { recursive: true });
    const { warnings } = await synthApp(US, { 'infera:models': models });
    const about = warnings.filter((w) => w.includes('has no fixtures/golden.json'));
    assert.equal(about.length, 1, warnings.join('\n'));
    assert.match(
      about[0] ?? '',
      /iris\/1 has no fixtures\/golden\.json: the pre-traffic hook cannot check this version/,
    );
    assert.match(about[0] ?? '', /\[ack: infera:no-golden-fixtures\]/);
  });

  it('lets the same 35 s model deploy without the HTTP API', async () => {
    const models = modelsWithTarget('iris', { type: 'lambda', timeoutSeconds: 35 });
    const { resources } = await synthApp(US, { 'infera:models': models, 'infera:api': 'false' });
    assert.ok(Object.values(resources).some((r) => r.Properties?.Timeout === 35));
  });

  it('fails reserved concurrency on a new account (quota 10), naming the quota and the fix', async () => {
    const violations = await synthViolations(US, { 'infera:reservedConcurrency': 'true' });
    const v = violations.find((x) => x.ruleName === 'lambda-unreserved-minimum');
    assert.ok(v, JSON.stringify(violations));
    assert.match(
      v.description,
      /reserve \d+ executions in all; with an account quota of 10 .* at most 0 can be reserved/,
    );
    assert.match(
      v.suggestedFix,
      /infera:reservedConcurrency=false .* infera:accountConcurrency=<quota> \(npx infera preflight reads it\)/,
    );
  });

  it('reserves concurrency when the account has room for it', async () => {
    const { resources } = await synthApp(US, {
      'infera:reservedConcurrency': 'true',
      'infera:accountConcurrency': '1000',
    });
    const reserved = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => Number(r.Properties?.ReservedConcurrentExecutions ?? 0));
    const total = reserved.reduce((a, b) => a + b, 0);
    assert.ok(total > 0 && total <= 900, `${total} reserved`);
  });
});
