/**
 * Labelled quality in the stack: the quality bucket with its retention, the Glue tables Athena
 * reads through partition projection, the workgroup with its cutoff, the quality function with
 * its schedule, its upload notification and its own grants, one alarm per manifest threshold,
 * and the serving functions' one write. cdk-nag and the AWS rules pass (synthApp fails otherwise).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseQualityModels } from '#core/quality/models-env.ts';
import { findingsOf, type Resources, removeSynthOutput, synthApp } from '../support/synth.ts';

after(removeSynthOutput);

const US = { account: '123456789012', region: 'us-east-1' };
const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, x]) => x.Type === type);
const props = (x: { Properties?: unknown }) => (x.Properties ?? {}) as Record<string, unknown>;
type Statement = { Action: string | string[]; Resource: unknown };

describe('labelled quality in the stack', () => {
  it('keeps predictions and labels for the retention days, and Athena results for a week', async () => {
    const { resources, report } = await synthApp(US, { 'infera:qualityRetentionDays': '30' });
    assert.deepEqual(findingsOf(report), []);
    const bucket = ofType(resources, 'AWS::S3::Bucket').find(([id]) => id.startsWith('QualityLog'));
    assert.ok(bucket, 'the quality bucket');
    const rules = (
      props(bucket[1]).LifecycleConfiguration as { Rules: { Prefix?: string; ExpirationInDays?: number }[] }
    ).Rules;
    const days = Object.fromEntries(rules.filter((r) => r.Prefix).map((r) => [r.Prefix, r.ExpirationInDays]));
    assert.deepEqual(days, {
      'predictions/': 30,
      'labels/': 30,
      'ground-truth/': 30,
      'ground-truth-results/': 30,
      'athena-results/': 7,
    });
    assert.ok(props(bucket[1]).LoggingConfiguration, 'access logs');
    assert.deepEqual(props(bucket[1]).PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('projects the partitions Athena reads: the model injected, the hour and day ranged over the retention', async () => {
    const { resources } = await synthApp(US);
    const tables = Object.fromEntries(
      ofType(resources, 'AWS::Glue::Table').map(([, t]) => {
        const input = props(t).TableInput as {
          Name: string;
          Parameters: Record<string, string>;
          PartitionKeys: { Name: string }[];
          StorageDescriptor: {
            Columns: { Name: string; Type: string }[];
            SerdeInfo: { SerializationLibrary: string };
          };
        };
        return [input.Name, input];
      }),
    );
    const p = tables.predictions;
    const l = tables.labels;
    assert.ok(p && l);
    assert.deepEqual(
      p.PartitionKeys.map((k) => k.Name),
      ['model', 'hour'],
    );
    assert.deepEqual(
      l.PartitionKeys.map((k) => k.Name),
      ['model', 'day'],
    );
    assert.equal(p.Parameters['projection.model.type'], 'injected');
    assert.equal(p.Parameters['projection.hour.format'], 'yyyy-MM-dd-HH');
    assert.equal(p.Parameters['projection.hour.interval.unit'], 'HOURS');
    assert.equal(p.Parameters['projection.hour.range'], 'NOW-90DAYS,NOW+1HOURS');
    assert.equal(l.Parameters['projection.day.format'], 'yyyy-MM-dd');
    // The columns the SQL reads, in the types the JSON lines carry.
    assert.deepEqual(
      p.StorageDescriptor.Columns.map((c) => `${c.Name}:${c.Type}`),
      [
        'id:string',
        'request:string',
        'version:string',
        'ts:bigint',
        'traffic:string',
        'label:string',
        'score:double',
        'confidence:double',
        'value:double',
      ],
    );
    assert.equal(p.StorageDescriptor.SerdeInfo.SerializationLibrary, 'org.openx.data.jsonserde.JsonSerDe');
    const [wg] = ofType(resources, 'AWS::Athena::WorkGroup');
    assert.ok(wg);
    const c = props(wg[1]).WorkGroupConfiguration as Record<string, unknown>;
    assert.equal(c.EnforceWorkGroupConfiguration, true);
    assert.equal(c.BytesScannedCutoffPerQuery, 10 * 1024 ** 3);
    assert.deepEqual((c.ResultConfiguration as Record<string, unknown>).EncryptionConfiguration, {
      EncryptionOption: 'SSE_S3',
    });
  });

  it("runs the quality function on a schedule and on uploads under ground-truth/, with fraud-detector's quality section", async () => {
    const { resources } = await synthApp(US, { 'infera:qualityScheduleMinutes': '30' });
    const fn = ofType(resources, 'AWS::Lambda::Function').find(([id]) => id.startsWith('QualityFunction'));
    assert.ok(fn, 'the quality function');
    const env = (props(fn[1]).Environment as { Variables: Record<string, unknown> }).Variables;
    const models = parseQualityModels(env.QUALITY_MODELS as string);
    assert.deepEqual([...models.keys()], ['fraud-detector']);
    assert.equal(models.get('fraud-detector')?.q.positiveLabel, 'fraud');
    assert.deepEqual(models.get('fraud-detector')?.q.spec.alarms, { accuracy: 0.9, auc: 0.75 });
    assert.ok(env.QUALITY_ATHENA_WORKGROUP && env.QUALITY_ATHENA_DATABASE);
    const [rule] = ofType(resources, 'AWS::Events::Rule');
    assert.equal(props(rule?.[1] ?? {}).ScheduleExpression, 'rate(30 minutes)');
    const notes = ofType(resources, 'Custom::S3BucketNotifications').find(([, r]) =>
      JSON.stringify(props(r).BucketName).includes('QualityLog'),
    );
    const filters = JSON.stringify(props(notes?.[1] ?? {}).NotificationConfiguration);
    assert.match(filters, /"Name":"prefix","Value":"ground-truth\/"/);
  });

  it('alarms on each threshold once minLabels predictions are labelled, and tells the alarm topic', async () => {
    const { resources } = await synthApp(US);
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').filter(([id]) =>
      id.startsWith('QualityAlarmfrauddetector'),
    );
    assert.equal(alarms.length, 2);
    for (const [, a] of alarms) {
      const p = props(a);
      assert.equal(p.ComparisonOperator, 'LessThanThreshold');
      const expr = (p.Metrics as { Expression?: string }[]).find((m) => m.Expression)?.Expression;
      assert.equal(expr, 'IF(n >= 200, f, 1)');
      assert.ok((p.AlarmActions as unknown[]).length === 1, 'the alarm topic');
    }
    assert.deepEqual(alarms.map(([, a]) => props(a).Threshold).sort(), [0.75, 0.9]);
  });

  it('lets the serving functions write predictions/ and the models function labels/ and reports/, nothing more', async () => {
    const { resources } = await synthApp(US);
    const writes = (prefix: string) =>
      ofType(resources, 'AWS::IAM::Policy').filter(([, p]) =>
        (props(p).PolicyDocument as { Statement: Statement[] }).Statement.some(
          (s) =>
            s.Action === 's3:PutObject' &&
            JSON.stringify(s.Resource).includes(`/${prefix}/*`) &&
            JSON.stringify(s.Resource).includes('QualityLog'),
        ),
      );
    const predictionWriters = writes('predictions').map(([id]) => id);
    // The model functions and the batch score function write predictions; the quality function only reads them.
    assert.ok(predictionWriters.some((id) => id.startsWith('Modelfrauddetector')));
    assert.ok(predictionWriters.some((id) => id.startsWith('BatchScore')));
    assert.ok(!predictionWriters.some((id) => id.startsWith('QualityFunction')));
    assert.deepEqual(
      writes('labels')
        .map(([id]) => id.replace(/[A-F0-9]{8}$/, ''))
        .sort(),
      ['ModelsApiRoleDefaultPolicy', 'QualityFunctionRoleDefaultPolicy'],
    );
    const served = ofType(resources, 'AWS::Lambda::Function').filter(
      ([id]) => id.startsWith('Modelfrauddetector') && id.includes('Function'),
    );
    for (const [, f] of served) {
      const env = (props(f).Environment as { Variables: Record<string, unknown> }).Variables;
      assert.match(JSON.stringify(env.QUALITY_DESTINATION), /s3:\/\//);
    }
  });

  it('makes none of it when infera:quality is false', async () => {
    const { resources } = await synthApp(US, { 'infera:quality': 'false' });
    for (const type of ['AWS::Glue::Table', 'AWS::Athena::WorkGroup', 'AWS::Events::Rule'])
      assert.equal(ofType(resources, type).length, 0, type);
    assert.equal(
      ofType(resources, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('Quality')).length,
      0,
    );
  });
});
