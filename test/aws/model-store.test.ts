/**
 * Releasing one model among 50 from the model store, against moto_server: S3 for the packages,
 * DynamoDB for the records and CloudWatch for the canary's alarms, through the real @aws-sdk
 * clients. The shared function is the real predict handler, run in this process with the store's
 * settings, behind the test's Lambda API (Invoke, GetFunctionConfiguration, versions and alias),
 * which is where the CLI sends the golden fixtures. The CLI runs as a user runs it.
 *
 * What this proves: the release path (publish, golden check, record write, bake, promote or
 * rollback) moves one model's record and nothing else, the function's code and alias never
 * change, and a failing fixture stops a release before any write. What it does not: DynamoDB's
 * and S3's real conditional-write and consistency behaviour (moto applies conditions but is one
 * process), CloudWatch evaluating the alarms' metric math on real data (the test sets the alarm
 * state), and Lambda's own invoke path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetAliasCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { RECORD_KEYS } from '../../functions/adapters/model-store/aws.ts';
import { pick, policyOf, stickyPoint } from '../../functions/core/model/traffic.ts';
import { makeModels, writeModel } from '../../scripts/make-models.ts';
import { run } from '../helpers.ts';
import { type LambdaApi, startLambdaApi } from '../support/lambda-api.ts';
import { LAMBDA_TEST_ENV } from '../support/lambda-task.ts';
import { type Moto, requireTools, startMoto } from '../support/moto.ts';

const STACK = 'StoreTest';
const FN = `${STACK}-shared-models`;
const BUCKET = 'storetest-model-packages';
const TABLE = 'StoreTest-models';
const RELEASED = 'gen-007';
const COUNT = 50;
const INSTANCE = { sepal_length_cm: 6.1, sepal_width_cm: 2.8, petal_length_cm: 4.7, petal_width_cm: 1.2 };

const work = mkdtempSync(join(tmpdir(), 'infera-store-'));
const modelsDir = join(work, 'models');
let moto: Moto;
let lambdaApi: LambdaApi;
let lambda: LambdaClient;
let dynamo: DynamoDBClient;
let cloudwatch: CloudWatchClient;
let s3: S3Client;
let names: string[];

/** `infera <args>` as a user runs it, against moto and the test's Lambda API. */
function infera(...args: string[]) {
  return run(process.execPath, ['cli/infera.ts', ...args], {
    ...moto.env,
    AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
    CI: 'true',
  });
}

/** `infera release <RELEASED> 2 --canary 10 --stack <STACK>` and then `extra`. */
const releaseCanary = (...extra: string[]) =>
  infera('release', RELEASED, '2', '--canary', '10', '--stack', STACK, ...extra);

/** One model's answer through Lambda Invoke, as API Gateway would ask: status, version and body. */
async function ask(model: string, key?: string) {
  const event = {
    version: '2.0',
    routeKey: `ANY /v1/models/${model}/predict`,
    rawPath: `/v1/models/${model}/predict`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-infera-routing-key': key } : {}) },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.invalid',
      domainPrefix: 'test',
      http: {
        method: 'POST',
        path: `/v1/models/${model}/predict`,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: `r-${model}-${key ?? ''}`,
      routeKey: `ANY /v1/models/${model}/predict`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: JSON.stringify({ instances: [INSTANCE] }),
    isBase64Encoded: false,
  };
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: `${FN}:live`, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  const result = JSON.parse(Buffer.from(out.Payload as Uint8Array).toString('utf8')) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  };
  return { status: result.statusCode, version: result.headers['x-model-version'], body: result.body };
}

/** Every model's record revision and aliases, from the table itself. */
async function records(): Promise<Map<string, { revision: number; aliases: unknown }>> {
  const out = await dynamo.send(new ScanCommand({ TableName: TABLE }));
  const map = new Map<string, { revision: number; aliases: unknown }>();
  for (const item of out.Items ?? []) {
    if (item.revision?.N !== '0') continue;
    const r = JSON.parse(item.record?.S as string) as { revision: number; aliases: unknown };
    map.set(item.model?.S as string, { revision: r.revision, aliases: r.aliases });
  }
  return map;
}

async function functionState() {
  const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: FN }));
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: FN, Name: 'live' }));
  return JSON.stringify({
    versions: versions.Versions?.map((v) => [v.Version, v.CodeSha256]),
    alias: [alias.FunctionVersion, alias.RoutingConfig?.AdditionalVersionWeights ?? {}],
  });
}

before(async () => {
  requireTools('moto_server');
  moto = await startMoto();
  Object.assign(process.env, moto.env, LAMBDA_TEST_ENV, {
    AWS_ENDPOINT_URL: moto.url,
    MODEL_STORE_BUCKET: BUCKET,
    MODEL_STORE_TABLE: TABLE,
    MODEL_PACKAGE_CACHE_DIR: join(work, 'packages'),
    // Every request reads its model's record: the test sees each release at once.
    MODEL_POLICY_TTL_MS: '0',
    MODEL_WARMUP: 'lazy',
  });
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true });
  dynamo = new DynamoDBClient({ endpoint: moto.url });
  cloudwatch = new CloudWatchClient({ endpoint: moto.url });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // The table as the stack makes it (infra/constructs/model-store.ts): the same keys.
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: RECORD_KEYS.partition, KeyType: 'HASH' },
        { AttributeName: RECORD_KEYS.sort, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: RECORD_KEYS.partition, AttributeType: 'S' },
        { AttributeName: RECORD_KEYS.sort, AttributeType: 'N' },
      ],
    }),
  );
  names = await makeModels(modelsDir, COUNT, { prefix: 'gen' });
  // The handler reads its settings when it is imported, as on a cold start.
  const { handler } = await import('../../functions/api/predict.ts');
  lambdaApi = await startLambdaApi({
    functionName: FN,
    versions: [{ version: '1', description: 'infera shared models' }],
    live: '1',
    environment: {
      MODEL_STORE_BUCKET: BUCKET,
      MODEL_STORE_TABLE: TABLE,
      MODEL_POLICY_TTL_MS: '0',
      POWERTOOLS_METRICS_NAMESPACE: 'Infera',
      POWERTOOLS_SERVICE_NAME: FN,
    },
    invoke: (_name, event) =>
      (handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(event, {
        getRemainingTimeInMillis: () => 30_000,
        functionName: FN,
        awsRequestId: 'test',
      }),
  });
  lambda = new LambdaClient({ endpoint: lambdaApi.url });
});

after(async () => {
  await lambdaApi?.close();
  await moto?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('one model among 50 released from the model store', () => {
  const baseline = new Map<string, string>();
  let functionBefore: string;

  it('publishes all 50 models without touching the function', async () => {
    functionBefore = await functionState();
    const r = await infera('publish', '--all', '--models', modelsDir, '--stack', STACK);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /50 versions of 50 models/);
    const recs = await records();
    assert.equal(recs.size, COUNT);
    for (const name of names) {
      const a = await ask(name);
      assert.equal(a.status, 200, a.body);
      assert.equal(a.version, '1');
      baseline.set(name, a.body);
    }
    assert.equal(await functionState(), functionBefore);
  });

  it('publishes a new version of one model, which moves no traffic', async () => {
    await writeModel(modelsDir, RELEASED, '2', { seed: 4242, live: false });
    const r = await infera('publish', RELEASED, '2', '--models', modelsDir, '--stack', STACK);
    assert.equal(r.code, 0, r.stderr);
    const recs = await records();
    assert.deepEqual(recs.get(RELEASED)?.aliases, { live: '1' });
    assert.equal((await ask(RELEASED)).body, baseline.get(RELEASED));
  });

  it('refuses to publish other bytes under a published version number', async () => {
    await writeModel(modelsDir, RELEASED, '2', { seed: 777, live: false });
    const r = await infera('publish', RELEASED, '2', '--models', modelsDir, '--stack', STACK);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /immutable: publish the change as a new version/);
    await writeModel(modelsDir, RELEASED, '2', { seed: 4242, live: false });
  });

  it('never moves traffic when the new version fails its golden fixtures', async () => {
    // Version 3's fixtures expect another label than the model answers.
    await writeModel(modelsDir, RELEASED, '3', { seed: 4243, live: false });
    const goldenPath = join(modelsDir, RELEASED, '3', 'fixtures', 'golden.json');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as { expected: { label: string }[] };
    for (const e of golden.expected) e.label = e.label === 'virginica' ? 'setosa' : 'virginica';
    writeFileSync(goldenPath, JSON.stringify(golden));
    assert.equal((await infera('publish', RELEASED, '3', '--models', modelsDir, '--stack', STACK)).code, 0);
    const before = await records();
    const r = await infera('release', RELEASED, '3', '--canary', '10', '--stack', STACK, '--bake', '0');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /failed its golden fixtures .* traffic did not move/);
    assert.match(r.stderr, /label: expected (virginica|setosa), got/);
    assert.deepEqual(await records(), before);
  });

  it('releases version 2 to 10% of that model alone, then rolls it back', async () => {
    const before = await records();
    const r = await releaseCanary('--bake', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /answered its golden fixtures/);
    const during = await records();
    assert.deepEqual(during.get(RELEASED)?.aliases, { live: { '1': 0.9, '2': 0.1 }, previous: '1' });
    for (const name of names.filter((n) => n !== RELEASED))
      assert.deepEqual(during.get(name), before.get(name), `${name}'s record`);

    // The split is the policy's, key by key: each routing key lands where pick() says.
    const policy = policyOf({ live: { '1': 0.9, '2': 0.1 } }, undefined);
    let canary = 0;
    for (let i = 0; i < 100; i++) {
      const key = `caller-${i}`;
      const a = await ask(RELEASED, key);
      assert.equal(a.version, pick(policy, stickyPoint(RELEASED, key)), key);
      if (a.version === '2') canary++;
    }
    assert.ok(canary > 2 && canary < 25, `${canary} of 100 callers on the canary`);
    for (const name of names.filter((n) => n !== RELEASED))
      assert.equal((await ask(name)).body, baseline.get(name), `${name} answers as before`);

    const back = await infera('rollback', RELEASED, '--stack', STACK);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((await records()).get(RELEASED)?.aliases, { live: '1' });
    for (let i = 0; i < 20; i++) assert.equal((await ask(RELEASED, `caller-${i}`)).version, '1');
    for (const name of names)
      assert.equal((await ask(name)).body, baseline.get(name), `${name} after rollback`);
    assert.equal(await functionState(), functionBefore, 'the function version and alias never moved');
  });

  it('rolls the canary back when its own alarm fires during the bake, and deletes the alarms', async () => {
    const cli = releaseCanary('--bake', '60s', '--poll', '200ms');
    // Wait for the release's alarms, then fire the error alarm as CloudWatch would.
    let alarms: string[] = [];
    for (let i = 0; i < 300 && alarms.length < 2; i++) {
      const out = await cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: `${FN}-${RELEASED}-v2` }),
      );
      alarms = (out.MetricAlarms ?? []).map((a) => a.AlarmName as string);
      if (alarms.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alarms.length, 2, 'an errors and a p99 alarm for the canary');
    const errors = alarms.find((a) => a.endsWith('-errors')) as string;
    await cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: errors,
        StateValue: 'ALARM',
        StateReason: 'test: 12% server errors',
      }),
    );
    const r = await cli;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /rolling back/);
    assert.deepEqual((await records()).get(RELEASED)?.aliases, { live: '1' });
    const left = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${FN}-${RELEASED}` }));
    assert.equal(left.MetricAlarms?.length ?? 0, 0);
  });

  it('promotes the canary after a quiet bake, and keeps the audit trail', async () => {
    const r = await releaseCanary('--bake', '1s', '--poll', '200ms', '--min-requests', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /promoted from canary/);
    assert.deepEqual((await records()).get(RELEASED)?.aliases, { live: '2', previous: '1' });
    assert.equal((await ask(RELEASED)).version, '2');
    const d = await infera('deployments', RELEASED, '--stack', STACK, '--json');
    const history = (JSON.parse(d.stdout) as { history: { reason: string }[] }).history.map((h) => h.reason);
    assert.match(history[0] as string, /auto promote/);
    assert.ok(history.some((h) => h.startsWith('auto rollback')));
    for (const name of names.filter((n) => n !== RELEASED))
      assert.equal((await ask(name)).body, baseline.get(name), `${name} after the promotion`);
    // Every package is stored once, by content: 50 models' 3 files and index, plus the 2 new versions.
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1000 }));
    assert.ok((objects.KeyCount ?? 0) <= (COUNT + 2) * 4, `${objects.KeyCount} objects`);
    assert.ok((objects.Contents ?? []).every((o) => /^sha256\/[0-9a-f]{64}$/.test(o.Key ?? '')));
    assert.equal(await functionState(), functionBefore);
  });

  it("checks every model's live versions from the store in a code deploy's pre-traffic hook", async () => {
    Object.assign(process.env, {
      TARGET_FUNCTION_ARN: `arn:aws:lambda:us-east-1:000000000000:function:${FN}:1`,
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
      AWS_ENDPOINT_URL_CODEDEPLOY: lambdaApi.url,
    });
    const before = lambdaApi.calls.filter((c) => c.endsWith('/invocations')).length;
    const { handler } = (await import('../../functions/deploy/pre-traffic.ts')) as unknown as {
      handler: (e: unknown, c: unknown) => Promise<{ status: string }>;
    };
    const out = await handler(
      { DeploymentId: 'd-store', LifecycleEventHookExecutionId: 'h-store' },
      { getRemainingTimeInMillis: () => 120_000, functionName: 'hook', awsRequestId: 'hook' },
    );
    assert.equal(out.status, 'Succeeded');
    assert.deepEqual(lambdaApi.hookStatuses.at(-1), {
      deploymentId: 'd-store',
      executionId: 'h-store',
      status: 'Succeeded',
    });
    // One golden request per live version: 50 models, each live on one version.
    assert.equal(lambdaApi.calls.filter((c) => c.endsWith('/invocations')).length - before, COUNT);
  });
});
