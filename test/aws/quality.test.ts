/**
 * Labelled quality's AWS side against moto_server, through the real @aws-sdk clients: the predict
 * handler writing its quality log to S3 (gathered per QUALITY_FLUSH_MS, one object per model,
 * hour and version), the quality function ingesting a ground-truth file from an S3 event, the
 * models function storing labels and reading reports from S3, and the evaluation writing the
 * report and putting its quality event on EventBridge.
 *
 * What this proves: the objects land where the Glue tables' storage template says, in the JSON
 * the tables declare, and the join reads them (DuckDB here, over a copy of the bucket); the
 * quality function's S3 and EventBridge calls work on the wire. What it does not: Athena running
 * the SQL (moto does not execute queries; the same statement runs in DuckDB, and the SQL keeps to
 * what both engines define), partition projection, the S3 notification and the schedule.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { QualityReport } from '#core/quality/report-schema.ts';
import { generateTransactions } from '../../scripts/lib/fraud-data.ts';
import { apigwEvent, copyModels, lambdaContext } from '../helpers.ts';
import { LAMBDA_TEST_ENV } from '../support/lambda-task.ts';
import { type Moto, requireTools, startMoto } from '../support/moto.ts';

const BUCKET = 'quality-test';
let moto: Moto;
let s3: S3Client;
let work: string;

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let predict: Handler;
let models: Handler;
let quality: (event: unknown, context: unknown) => Promise<unknown>;

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

async function text(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function call(
  handler: Handler,
  method: string,
  path: string,
  routeKey: string,
  body: unknown,
  requestId: string,
) {
  const e = await apigwEvent('predict-iris.json', {
    method,
    path,
    routeKey,
    body,
    headers: { 'content-type': 'application/json' },
  });
  e.requestContext.requestId = requestId;
  e.queryStringParameters = {};
  e.rawQueryString = '';
  const model = path.split('/')[3] ?? '';
  e.pathParameters = { model };
  return handler(e, lambdaContext());
}

before(async () => {
  requireTools('moto_server');
  moto = await startMoto();
  work = await mkdtemp(join(tmpdir(), 'infera-quality-aws-'));
  const dir = await copyModels();
  Object.assign(process.env, moto.env, LAMBDA_TEST_ENV, {
    AWS_ENDPOINT_URL: moto.url,
    MODELS_DIR: dir,
    MODEL_NAMES: 'fraud-detector',
    QUALITY_DESTINATION: `s3://${BUCKET}`,
    QUALITY_FLUSH_MS: '2000',
    DRIFT_EVENT_BUS: 'default',
    QUALITY_MODELS: JSON.stringify({
      'fraud-detector': {
        t: 'binary-classification',
        l: ['legit', 'fraud'],
        q: { minLabels: 5, windowHours: 24, alarms: { accuracy: 0.99 } },
      },
    }),
  });
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  predict = (await import('#api/predict.ts')).handler as unknown as Handler;
  models = (await import('#api/models.ts')).handler as unknown as Handler;
  quality = (await import('#quality/handler.ts')).handler as unknown as typeof quality;
});

after(async () => {
  await moto?.close();
  await rm(work, { recursive: true, force: true });
});

describe('labelled quality on AWS services (moto)', () => {
  const answers = new Map<string, string>();

  it('gathers prediction lines into one object per model, hour and version, where the Glue table reads them', async () => {
    const { rows } = generateTransactions(40, 5);
    for (const [i, t] of rows.entries()) {
      const instance = Object.fromEntries(
        Object.entries({ transaction_id: `a-${i}`, ...t }).filter(([, v]) => v !== null),
      );
      const r = await call(
        predict,
        'POST',
        '/v1/models/fraud-detector/predict',
        'ANY /v1/models/fraud-detector/predict',
        { instances: [instance] },
        `req-${i}`,
      );
      assert.equal(r.statusCode, 200, String(r.body));
      answers.set(
        `a-${i}`,
        (JSON.parse(String(r.body)) as { predictions: { label: string }[] }).predictions[0]?.label ?? '',
      );
    }
    // Gathered, not one object per request: the request that finds the buffer 2 s old writes it all.
    await new Promise((r) => setTimeout(r, 2100));
    const r = await call(
      predict,
      'POST',
      '/v1/models/fraud-detector/predict',
      'ANY /v1/models/fraud-detector/predict',
      { instances: [{ ...rows[0], transaction_id: 'a-0' }] },
      'req-last',
    );
    assert.equal(r.statusCode, 200);
    const written = await keys('predictions/');
    assert.ok(
      written.length >= 1 && written.length <= 3,
      `41 requests, ${written.length} objects: ${written.join(', ')}`,
    );
    for (const k of written)
      assert.match(k, /^predictions\/model=fraud-detector\/hour=\d{4}-\d\d-\d\d-\d\d\/1-req-\d+\.jsonl$/);
    const lines = (await Promise.all(written.map(text)))
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // A request in a new hour would start a new buffer: 40 or 41 lines, never a duplicate.
    assert.ok(lines.length === 41 || lines.length === 40, String(lines.length));
    assert.equal(new Set(lines.map((l) => `${l.id}/${l.request}`)).size, lines.length);
    assert.deepEqual(Object.keys(lines[0] ?? {}).sort(), [
      'confidence',
      'id',
      'label',
      'request',
      'score',
      'traffic',
      'ts',
      'version',
    ]);
    assert.equal(lines[0]?.id, 'a-0');
  });

  it('ingests a ground-truth file from its S3 event, writing labels and a result beside it', async () => {
    const csv = [
      'id,label',
      ...[...answers].slice(0, 20).map(([id, label]) => `${id},${label}`),
      'a-99,nonsense',
    ].join('\n');
    const key = 'ground-truth/fraud-detector/chargebacks.csv';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: csv }));
    const event = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          eventTime: new Date().toISOString(),
          s3: { bucket: { name: BUCKET }, object: { key, size: csv.length } },
        },
      ],
    };
    assert.deepEqual(await quality(event, lambdaContext()), { ingested: 1 });
    // S3 delivers at least once: the same event again writes the same part again.
    await quality(event, lambdaContext());
    const parts = await keys('labels/');
    assert.equal(parts.length, 1, parts.join(', '));
    assert.match(
      parts[0] ?? '',
      /^labels\/model=fraud-detector\/day=\d{4}-\d\d-\d\d\/file-[0-9a-f]{24}-00000\.jsonl$/,
    );
    const result = JSON.parse(await text('ground-truth-results/fraud-detector/chargebacks.csv.json')) as {
      accepted: number;
      rejected: number;
      problems: string[];
    };
    assert.equal(result.accepted, 20);
    assert.equal(result.rejected, 1);
    assert.match(result.problems[0] ?? '', /line 22: "nonsense" is not a label of 'fraud-detector'/);
    // A file over the limit is not read; its result says to split it.
    const { ingestUploads } = await import('#runtime/quality-jobs.ts');
    const { getQuality } = await import('#runtime/quality.ts');
    const { loadConfig } = await import('#runtime/config.ts');
    const { parseQualityModels } = await import('#core/quality/models-env.ts');
    const { S3ObjectStore } = await import('#adapters/s3.ts');
    const config = loadConfig();
    const [big] = await ingestUploads(
      {
        store: new S3ObjectStore(s3),
        quality: getQuality(config),
        models: parseQualityModels(config.QUALITY_MODELS),
        maxBytes: 100,
      },
      [{ bucket: BUCKET, key }],
    );
    assert.match(big?.problems[0] ?? '', /the file is \d+ bytes; a ground-truth file may be 100: split it/);
    assert.equal(big?.accepted, 0);
  });

  it('stores labels sent to the API, and serves the report the evaluation keeps, with its event on EventBridge', async () => {
    const more = [...answers]
      .slice(20, 30)
      .map(([id, label]) => ({ id, label: label === 'fraud' ? 'legit' : 'fraud' }));
    const posted = await call(
      models,
      'POST',
      '/v1/models/fraud-detector/feedback',
      'ANY /v1/models/{model}/feedback',
      more,
      'fb-1',
    );
    assert.equal(posted.statusCode, 200, String(posted.body));
    assert.equal((await keys('labels/')).length, 2);
    const none = await call(
      models,
      'GET',
      '/v1/models/fraud-detector/quality',
      'ANY /v1/models/{model}/quality',
      undefined,
      'q-0',
    );
    assert.equal(none.statusCode, 404);
    assert.match(String(none.body), /No quality report for 'fraud-detector' yet/);

    // The evaluation, with the join run by DuckDB over a copy of the bucket's objects.
    const mirror = join(work, 'mirror');
    for (const k of [...(await keys('predictions/')), ...(await keys('labels/'))]) {
      await mkdir(dirname(join(mirror, k)), { recursive: true });
      await writeFile(join(mirror, k), await text(k));
    }
    const { DuckDbQualityEngine } = await import('#adapters/quality/duckdb.ts');
    const { evaluateAll } = await import('#runtime/quality-jobs.ts');
    const { getQuality } = await import('#runtime/quality.ts');
    const { loadConfig } = await import('#runtime/config.ts');
    const { sinksFor } = await import('#runtime/monitoring.ts');
    const { parseQualityModels } = await import('#core/quality/models-env.ts');
    const { S3ObjectStore } = await import('#adapters/s3.ts');
    const config = loadConfig();
    const { SQSClient, CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } = await import(
      '@aws-sdk/client-sqs'
    );
    const { EventBridgeClient, PutRuleCommand, PutTargetsCommand } = await import(
      '@aws-sdk/client-eventbridge'
    );
    const sqs = new SQSClient({ endpoint: moto.url, region: 'us-east-1' });
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'quality-events' }));
    const arn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const events = new EventBridgeClient({ endpoint: moto.url, region: 'us-east-1' });
    await events.send(
      new PutRuleCommand({
        Name: 'quality',
        EventPattern: JSON.stringify({
          source: ['infera.monitoring'],
          'detail-type': ['Model Quality Changed'],
        }),
      }),
    );
    await events.send(new PutTargetsCommand({ Rule: 'quality', Targets: [{ Id: 'q', Arn: arn }] }));
    const round = async () =>
      evaluateAll(
        {
          store: new S3ObjectStore(s3),
          quality: getQuality(config),
          models: parseQualityModels(config.QUALITY_MODELS),
          engine: new DuckDbQualityEngine(mirror),
          bucket: BUCKET,
          prefix: '',
        },
        await sinksFor(config),
      );
    const sent = await round();
    assert.equal(sent, 1, 'accuracy 2/3 is below 0.99 on 30 labels: one event');
    assert.deepEqual(await keys('reports/'), ['reports/fraud-detector.json']);
    const got = await call(
      models,
      'GET',
      '/v1/models/fraud-detector/quality',
      'ANY /v1/models/{model}/quality',
      undefined,
      'q-1',
    );
    assert.equal(got.statusCode, 200, String(got.body));
    const report = JSON.parse(String(got.body)) as QualityReport;
    const v1 = report.versions.find((v) => v.version === '1');
    assert.equal(v1?.labelled, 30);
    assert.ok(Math.abs((v1?.accuracy ?? 0) - 20 / 30) < 1e-6);
    assert.equal(report.labels.unmatched, 0);
    const messages = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    const detail = (JSON.parse(messages.Messages?.[0]?.Body ?? '{}') as { detail?: Record<string, unknown> })
      .detail;
    assert.equal(detail?.type, 'infera.quality');
    assert.equal(detail?.state, 'alarm');
    assert.equal(detail?.figure, 'accuracy');
    // A second round with nothing new raises nothing: the kept report is the one compared with.
    assert.equal(await round(), 0);
  });
});
