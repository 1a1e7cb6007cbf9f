/**
 * A release of one model in a shared model function, as `cdk deploy` would ship it: the app is
 * synthesized with bundling before and after the model's aliases.json moves to version 2. The new
 * function version differs from the old only in that model's files (every other model's bytes are
 * unchanged, so they answer identically), CodeDeploy shifts the shared alias with the golden-fixture
 * hook, whose fixtures cover every model, and the alarms that roll the release back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../infra/app.ts';
import { PER_MODEL_MAX } from '../../infra/config.ts';
import { makeModels, writeModel } from '../../scripts/make-models.ts';
import { type LambdaApi, startLambdaApi } from '../support/lambda-api.ts';
import { LAMBDA_TEST_ENV, lambdaLike } from '../support/lambda-task.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
const COUNT = PER_MODEL_MAX + 2;
const RELEASED = 'gen-003';

const work = mkdtempSync(join(tmpdir(), 'infera-shared-release-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Every file under a folder, by relative path, with its sha256. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Synthesizes with bundling; returns the template and the folder of each function's code. */
async function synth(models: string, name: string) {
  const outdir = join(work, name);
  const { app, stack } = await buildApp({ outdir, context: { 'infera:models': models } });
  const assembly = app.synth({ validateOnSynthesis: false });
  const artifact = assembly.getStackByName(stack.stackName);
  const template = JSON.parse(readFileSync(join(assembly.directory, artifact.templateFile), 'utf8')) as {
    Resources: Record<string, Resource>;
  };
  const code = (prefix: string) => {
    const entry = Object.entries(template.Resources).find(
      ([id, r]) => id.startsWith(prefix) && r.Type === 'AWS::Lambda::Function',
    );
    assert.ok(entry, `a function ${prefix}…`);
    // The code's S3 key is <asset hash>.zip; the assembly holds it as asset.<hash>/.
    const key = (entry[1].Properties as { Code: { S3Key: string } }).Code.S3Key;
    return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };
  return { template, code, stack };
}

describe(`a release of one model among ${COUNT} sharing a function`, () => {
  let before1: Awaited<ReturnType<typeof synth>>;
  let after2: Awaited<ReturnType<typeof synth>>;

  before(async () => {
    const models = join(work, 'models');
    await makeModels(models, COUNT, { prefix: 'gen' });
    await writeModel(models, RELEASED, '2', { seed: 7, live: false });
    before1 = await synth(models, 'before');
    // What `infera release gen-003 2` writes, committed and deployed.
    writeFileSync(
      join(models, RELEASED, 'aliases.json'),
      `${JSON.stringify({ live: '2', previous: '1' })}\n`,
    );
    after2 = await synth(models, 'after');
  });

  it("changes the shared function's code in the released model's files only", () => {
    const a = files(before1.code('SharedModelsFunction'));
    const b = files(after2.code('SharedModelsFunction'));
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f)).sort();
    assert.deepEqual(changed, [`models/${RELEASED}/aliases.json`]);
    const modelFiles = [...a.keys()].filter((f) => f.startsWith('models/') && f.endsWith('model.onnx'));
    assert.equal(modelFiles.length, COUNT + 1, 'every model version ships in the one function');
  });

  it('publishes a new version of the shared function, which CodeDeploy moves the live alias to', () => {
    const versions = (t: typeof before1.template) =>
      Object.entries(t.Resources)
        .filter(
          ([id, r]) =>
            id.startsWith('SharedModelsFunctionCurrentVersion') && r.Type === 'AWS::Lambda::Version',
        )
        .map(([id, r]) => ({ id, description: r.Properties?.Description }));
    const [v1] = versions(before1.template);
    const [v2] = versions(after2.template);
    assert.ok(v1 && v2);
    assert.notEqual(v1.id, v2.id, 'a new Lambda version');
    assert.notEqual(v1.description, v2.description, 'its description fingerprints the new live map');
    assert.match(String(v2.description), new RegExp(`^shared models=${COUNT} livemap=[0-9a-f]{16}$`));

    const groups = Object.values(after2.template.Resources).filter(
      (r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup',
    );
    assert.equal(groups.length, 1, 'one deployment group: the shared alias');
    const config = groups[0]?.Properties as {
      AlarmConfiguration: { Alarms: unknown[]; Enabled: boolean };
      AutoRollbackConfiguration: { Enabled: boolean; Events: string[] };
      DeploymentConfigName: string;
    };
    assert.equal(config.AlarmConfiguration.Enabled, true);
    assert.equal(config.AlarmConfiguration.Alarms.length, 3, 'error rate, p99, and 5xx per model');
    const perModel = Object.values(after2.template.Resources).find(
      (r) =>
        r.Type === 'AWS::CloudWatch::Alarm' &&
        JSON.stringify(r.Properties?.Metrics ?? []).includes('SELECT SUM(ServerErrors)'),
    );
    const query = (perModel?.Properties?.Metrics as { Expression: string }[] | undefined)?.[0]?.Expression;
    assert.equal(
      query,
      `SELECT SUM(ServerErrors) FROM SCHEMA("infera", model, service, version) WHERE service = 'infera-shared-models' GROUP BY model ORDER BY SUM() DESC LIMIT 500`,
    );
    assert.deepEqual(config.AutoRollbackConfiguration.Events.sort(), [
      'DEPLOYMENT_FAILURE',
      'DEPLOYMENT_STOP_ON_ALARM',
      'DEPLOYMENT_STOP_ON_REQUEST',
    ]);
    assert.match(config.DeploymentConfigName, /Canary10Percent5Minutes/);
  });

  it("gives the pre-traffic hook every model's golden fixtures, the released version's included", () => {
    const fixtures = [...files(after2.code('SharedModelsPreTrafficHook')).keys()]
      .filter((f) => f.endsWith('golden.json'))
      .sort();
    assert.equal(fixtures.length, COUNT + 1);
    assert.ok(fixtures.includes(`fixtures/${RELEASED}/2/golden.json`));
    assert.ok(fixtures.includes('fixtures/gen-012/1/golden.json'));
    const [, hook] = Object.entries(after2.template.Resources).find(
      ([id, r]) => id.startsWith('SharedModelsPreTrafficHook') && r.Type === 'AWS::Lambda::Function',
    ) as [string, Resource];
    assert.equal(hook.Properties?.Timeout, 900, "Lambda's longest timeout");
    const vars = (hook.Properties as { Environment: { Variables: Record<string, string> } }).Environment
      .Variables;
    assert.equal(vars.GOLDEN_CONCURRENCY, '8');
  });

  it('serves every bundled model, loading sessions on demand with the allocator that gives them back', () => {
    const [, fn] = Object.entries(after2.template.Resources).find(
      ([id, r]) => id.startsWith('SharedModelsFunction') && r.Type === 'AWS::Lambda::Function',
    ) as [string, Resource];
    const vars = (fn.Properties as { Environment: { Variables: Record<string, string> } }).Environment
      .Variables;
    assert.equal(vars.MODEL_NAMES, undefined, 'no list of names: Lambda allows 4 KB of environment');
    assert.equal(vars.MODEL_WARMUP, 'lazy');
    assert.equal(vars.MALLOC_TRIM_THRESHOLD_, '1048576');
    assert.equal(vars.MALLOC_ARENA_MAX, '2');
  });

  describe('the bundled hook against the bundled shared function, as Lambda runs them', () => {
    const fn = 'Infera-shared-models';
    const context = {
      awsRequestId: 'hook-test',
      functionName: fn,
      functionVersion: '2',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn}:2`,
      memoryLimitInMB: '1024',
      getRemainingTimeInMillis: () => 10_000,
    };
    let lambda: LambdaApi;
    let hookTask: string;
    let hook: (e: unknown, c: unknown) => Promise<{ status: string }>;

    const bundleOf = (prefix: string) => lambdaLike(after2.code(prefix), after2.stack.layer.build.dir, work);

    before(async () => {
      const task = bundleOf('SharedModelsFunction');
      hookTask = bundleOf('SharedModelsPreTrafficHook');
      Object.assign(process.env, {
        ...LAMBDA_TEST_ENV,
        MODELS_DIR: join(task, 'models'),
        MODEL_WARMUP: 'lazy',
        POWERTOOLS_SERVICE_NAME: 'infera-shared-models',
      });
      const { handler: predict } = (await import(join(task, 'index.mjs'))) as {
        handler: (e: unknown, c: unknown) => Promise<unknown>;
      };
      lambda = await startLambdaApi({
        functionName: fn,
        versions: [{ version: '2', description: 'shared models=13 livemap=0' }],
        live: '1',
        invoke: (_name, event) => predict(event, context),
      });
      Object.assign(process.env, {
        TARGET_FUNCTION_ARN: `arn:aws:lambda:us-east-1:000000000000:function:${fn}:2`,
        FIXTURES_DIR: join(hookTask, 'fixtures'),
        GOLDEN_CONCURRENCY: '8',
        AWS_ENDPOINT_URL_LAMBDA: lambda.url,
        AWS_ENDPOINT_URL_CODEDEPLOY: lambda.url,
      });
      ({ handler: hook } = (await import(join(hookTask, 'index.mjs'))) as { handler: typeof hook });
    });
    after(() => lambda?.close());

    it('succeeds once every model version answers its golden fixtures, one call each', async () => {
      const out = await hook({ DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'h-1' }, context);
      assert.equal(out.status, 'Succeeded');
      assert.deepEqual(lambda.hookStatuses, [
        { deploymentId: 'd-1', executionId: 'h-1', status: 'Succeeded' },
      ]);
      assert.equal(lambda.calls.filter((c) => c.endsWith('/invocations')).length, COUNT + 1);
    });

    it('fails the deployment when one neighbour of the released model answers differently', async () => {
      // gen-009's fixture now expects another answer: as if the release had changed gen-009 too.
      const file = join(hookTask, 'fixtures', 'gen-009', '1', 'golden.json');
      const pristine = readFileSync(file, 'utf8');
      const golden = JSON.parse(pristine) as { expected: { score: number }[] };
      (golden.expected[0] as { score: number }).score += 0.25;
      writeFileSync(file, JSON.stringify(golden));
      const out = await hook({ DeploymentId: 'd-2', LifecycleEventHookExecutionId: 'h-2' }, context);
      assert.equal(out.status, 'Failed');
      assert.deepEqual(lambda.hookStatuses.at(-1), {
        deploymentId: 'd-2',
        executionId: 'h-2',
        status: 'Failed',
      });
      // That one fixture was the cause: restored, the same hook passes again.
      writeFileSync(file, pristine);
      const again = await hook({ DeploymentId: 'd-3', LifecycleEventHookExecutionId: 'h-3' }, context);
      assert.equal(again.status, 'Succeeded');
    });
  });
});
