/**
 * The stack with infera:modelStore: the bucket and table a store-backed deployment needs, the
 * shared function reading them with nothing but read access, no model in any function's code, and
 * /tmp sized for the package cache. cdk-nag and the AWS rules pass (synthApp fails otherwise).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { findingsOf, type Resources, removeSynthOutput, synthApp } from '../support/synth.ts';

after(removeSynthOutput);

const CONTEXT = { 'infera:modelStore': 'true', 'infera:sagemaker': 'off' };
const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, x]) => x.Type === type);
type Statement = { Action: string | string[]; Resource: unknown };

describe('a stack whose models live in a model store', () => {
  it('makes a private, encrypted bucket and a table keyed by model and revision', async () => {
    const { resources, report } = await synthApp(undefined, CONTEXT);
    assert.deepEqual(findingsOf(report), []);
    const [table] = ofType(resources, 'AWS::DynamoDB::GlobalTable');
    assert.ok(table, 'the records table');
    const p = table[1].Properties as Record<string, unknown>;
    assert.deepEqual(p.KeySchema, [
      { AttributeName: 'model', KeyType: 'HASH' },
      { AttributeName: 'revision', KeyType: 'RANGE' },
    ]);
    assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
    const [replica] = p.Replicas as { DeletionProtectionEnabled: boolean }[];
    assert.equal(
      replica?.DeletionProtectionEnabled,
      true,
      'kept data (infera:retainData, the default) is protected',
    );
    const buckets = ofType(resources, 'AWS::S3::Bucket').filter(([id]) =>
      id.startsWith('ModelStorePackages'),
    );
    assert.equal(buckets.length, 1);
    const b = buckets[0]?.[1].Properties as Record<string, unknown>;
    assert.deepEqual(b.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.ok(b.BucketEncryption);
  });

  it('gives the shared function the store, read access only, and room in /tmp, with no models bundled', async () => {
    const { resources } = await synthApp(undefined, { ...CONTEXT, 'infera:packageCacheMb': '1000' });
    const shared = ofType(resources, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('SharedModelsFunction'),
    );
    assert.ok(shared, 'the shared model function');
    const props = shared[1].Properties as {
      Environment: { Variables: Record<string, unknown> };
      EphemeralStorage?: { Size: number };
    };
    const env = props.Environment.Variables;
    assert.ok(env.MODEL_STORE_BUCKET && env.MODEL_STORE_TABLE);
    assert.equal(env.MODELS_DIR, undefined, 'no models folder in the code');
    assert.equal(env.MODEL_PACKAGE_CACHE_MB, '1000');
    assert.equal(props.EphemeralStorage?.Size, 1112);
    const statements = ofType(resources, 'AWS::IAM::Policy')
      .filter(([id]) => id.startsWith('SharedModelsFunction'))
      .flatMap(
        ([, p]) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
      );
    const actions = statements
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .filter((a) => a.startsWith('s3:') || a.startsWith('dynamodb:'));
    // The store is read only; the one write is the quality log's predictions/ prefix.
    assert.deepEqual(actions.sort(), [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      's3:GetObject',
      's3:PutObject',
    ]);
    const put = statements.find((s) => s.Action === 's3:PutObject');
    assert.match(JSON.stringify(put?.Resource), /QualityLog/);
    assert.match(JSON.stringify(put?.Resource), /\/predictions\/\*/);
    assert.doesNotMatch(JSON.stringify(put?.Resource), /ModelStore/);
    const hook = ofType(resources, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('SharedModelsPreTrafficHook'),
    );
    assert.ok(hook, 'the pre-traffic hook');
    const hookEnv = (hook[1].Properties as { Environment: { Variables: Record<string, unknown> } })
      .Environment.Variables;
    assert.ok(hookEnv.MODEL_STORE_TABLE, "the hook reads the live versions' fixtures from the store");
    assert.equal(hookEnv.FIXTURES_DIR, undefined);
  });

  it('lets cdk destroy remove the table when the data is not kept', async () => {
    const { resources } = await synthApp(undefined, { ...CONTEXT, 'infera:retainData': 'false' });
    const [table] = ofType(resources, 'AWS::DynamoDB::GlobalTable');
    assert.ok(table, 'the records table');
    const [replica] = (table[1].Properties as { Replicas: { DeletionProtectionEnabled: boolean }[] })
      .Replicas;
    assert.equal(replica?.DeletionProtectionEnabled, false);
  });

  it('refuses a store with a function per model, naming the setting', async () => {
    await assert.rejects(
      synthApp(undefined, { ...CONTEXT, 'infera:modelFunctions': 'per-model' }),
      /modelStore: a model store serves one shared function; set infera:modelFunctions=shared/,
    );
  });

  it("refuses a package cache that would not fit in Lambda's largest /tmp", async () => {
    await assert.rejects(
      synthApp(undefined, { ...CONTEXT, 'infera:packageCacheMb': '10200' }),
      /packageCacheMb/,
    );
  });
});
