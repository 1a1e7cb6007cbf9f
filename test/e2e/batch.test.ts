/**
 * Batch scoring end to end on the local stack: the fauxqs S3 + SQS emulator on a free port, the
 * local S3 notifications and SQS event source, and the deployed split and score handlers. Faults
 * are injected at the storage port only; everything else is the real path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { encode as encodePng } from 'fast-png';
import type { BatchDeps } from '#core/batch/deps.ts';
import type { ObjectStore } from '#core/ports.ts';
import type { UploadNotice } from '../../infra/local/aws.ts';
import { handlerEnv, type LocalAws, startLocalAws } from '../../infra/local/aws.ts';
import { type LocalBatch, startLocalBatch } from '../../infra/local/batch.ts';
import { type Handler, s3EventFor } from '../../infra/local/event-sources.ts';
import { makeBatchFile } from '../../scripts/make-batch-file.ts';
import { MODELS } from '../helpers.ts';

const MAX_ATTEMPTS = 3;
let aws: LocalAws;
let batch: LocalBatch;
let split: Handler;
let createSplitHandler: (deps: BatchDeps) => Handler;
let createScoreHandler: (deps: BatchDeps) => Handler;
let deps: BatchDeps;
let score: Handler;
const notices: UploadNotice[] = [];

const HEADER =
  'transaction_id,amount,merchant_category,hour,distance_from_home_km,transactions_last_hour,card_present,account_age_days,is_foreign';

before(async () => {
  aws = await startLocalAws({ port: 0, visibilityTimeout: 1, maxReceiveCount: MAX_ATTEMPTS + 2 });
  Object.assign(process.env, {
    ...handlerEnv(aws),
    // The shipped models as committed, never the working tree's models/ or its aliases.json.
    MODELS_DIR: MODELS,
    BATCH_CHUNK_ROWS: '1000',
    BATCH_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  const splitModule = await import('#batch/split.ts');
  split = splitModule.handler as unknown as Handler;
  createSplitHandler = splitModule.createSplitHandler as unknown as (deps: BatchDeps) => Handler;
  const splitFailed = (await import('#batch/split-failed.ts')).handler as unknown as Handler;
  const scoreModule = await import('#batch/score.ts');
  createScoreHandler = scoreModule.createScoreHandler as unknown as (deps: BatchDeps) => Handler;
  score = scoreModule.handler as unknown as Handler;
  const { batchDeps } = await import('#runtime/batch.ts');
  const { loadConfig } = await import('#runtime/config.ts');
  deps = await batchDeps(loadConfig(), { scoring: true });
  aws.onUpload((n) => notices.push(n));
  batch = startLocalBatch({
    aws,
    split: (e, c) => split(e, c),
    splitFailed,
    score: (e, c) => score(e, c),
    pollers: 2,
  });
});

after(async () => {
  await batch?.stop();
  await aws?.close();
});

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    const r = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await (r.Body as { transformToString(): Promise<string> }).transformToString();
  } catch {
    return undefined;
  }
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: aws.names.outputBucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) out.push(o.Key as string);
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

async function upload(key: string, body: string | Buffer): Promise<UploadNotice> {
  const seen = notices.length;
  await aws.s3.send(new PutObjectCommand({ Bucket: aws.names.inputBucket, Key: key, Body: body }));
  for (let i = 0; i < 100 && notices.length === seen; i++) await new Promise((r) => setTimeout(r, 20));
  const n = notices.slice(seen).find((x) => x.key === key);
  assert.ok(n, `no upload notification for ${key}`);
  return n;
}

async function jobIdFor(key: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    for (const k of await keysUnder('')) {
      if (!k.endsWith('/_job.json')) continue;
      const job = JSON.parse((await text(aws.names.outputBucket, k)) ?? '{}') as {
        source?: { key: string };
        jobId: string;
      };
      if (job.source?.key === key) return job.jobId;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no job for ${key}`);
}

interface Summary {
  status: string;
  rowsTotal: number;
  rowsScored: number;
  rowsRejected: number;
  rowsFailed: number;
  chunks: number;
  reason?: string;
  failedChunks: { chunk: number; reason: string; rows: number }[];
}

async function summaryOf(jobId: string, timeoutMs = 30_000): Promise<Summary> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const name of ['_SUCCESS.json', '_FAILED.json']) {
      const t = await text(aws.names.outputBucket, `${jobId}/${name}`);
      if (t) return JSON.parse(t) as Summary;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms`);
}

/** Every result and error row of a job, by row number. */
async function rowsOf(jobId: string): Promise<{
  results: Map<number, string[]>;
  errors: Map<number, Record<string, unknown>>;
  dupes: number[];
}> {
  const results = new Map<number, string[]>();
  const errors = new Map<number, Record<string, unknown>>();
  const dupes: number[] = [];
  for (const k of await keysUnder(`${jobId}/`)) {
    const body = (await text(aws.names.outputBucket, k)) ?? '';
    if (/\/part-\d+\.csv$/.test(k)) {
      for (const line of body.trim().split('\n').slice(1)) {
        const cells = line.split(',');
        const row = Number(cells[0]);
        if (results.has(row) || errors.has(row)) dupes.push(row);
        results.set(row, cells);
      }
    } else if (/\/errors-\d+\.jsonl$/.test(k)) {
      for (const line of body.trim().split('\n')) {
        const e = JSON.parse(line) as Record<string, unknown>;
        const row = e.row as number;
        if (results.has(row) || errors.has(row)) dupes.push(row);
        errors.set(row, e);
      }
    }
  }
  return { results, errors, dupes };
}

describe('batch scoring on the local S3 + SQS', () => {
  it('scores every row of an uploaded CSV exactly once, across many chunks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-batch-'));
    await makeBatchFile(join(dir, 'tx.csv'), 12_345, 'csv', 11);
    const body = await readFile(join(dir, 'tx.csv'));
    const key = 'fraud-detector/tx-12345.csv';
    await upload(key, body);
    const jobId = await jobIdFor(key);
    const s = await summaryOf(jobId);
    assert.equal(s.status, 'succeeded');
    assert.equal(s.rowsTotal, 12_345);
    assert.equal(s.chunks, 13);
    assert.equal(s.rowsScored + s.rowsRejected, 12_345);
    const { results, errors, dupes } = await rowsOf(jobId);
    assert.deepEqual(dupes, []);
    assert.equal(results.size + errors.size, 12_345);
    for (let r = 1; r <= 12_345; r++) assert.ok(results.has(r) || errors.has(r), `row ${r} is missing`);
    assert.equal(results.get(777)?.[1], 't000000777', 'the id column comes through');
    const job = JSON.parse((await text(aws.names.outputBucket, `${jobId}/_job.json`)) ?? '{}');
    assert.equal(job.version, '1', 'the live version is pinned in the job record');
  });

  it('scores a file whose key has a character outside the BMP (report-😀.csv), not stalling in splitting', async () => {
    const good = (id: string) => `${id},12.5,grocery,14,3.2,0,true,400,false`;
    const key = 'fraud-detector/reports/report-😀-ünï.csv';
    await upload(key, `${[HEADER, good('a'), good('b'), good('c')].join('\n')}\n`);
    const s = await summaryOf(await jobIdFor(key));
    assert.equal(s.status, 'succeeded', JSON.stringify(s));
    assert.equal(s.rowsScored, 3);
  });

  it('explains malformed rows with their line numbers and scores the good rows around them', async () => {
    const good = (id: string) => `${id},12.5,grocery,14,3.2,0,true,400,false`;
    const lines = [
      `\uFEFF${HEADER}`, // line 1: header with a UTF-8 BOM
      good('g1'), // 2
      'b1,12x,grocery,14,3.2,0,true,400,false', // 3 bad number
      'b2,,grocery,14,3.2,0,true,400,false', // 4 missing required value
      'b3,-40,grocery,14,3.2,0,true,400,false', // 5 out of range
      'b4,12.5,grocery,14', // 6 wrong column count
      'b5,"12.5,grocery,14,3.2,0,true,400,false', // 7 broken quoting
      '', // 8 blank line
      good('g2'), // 9
      good('g3'), // 10
    ];
    const key = 'fraud-detector/messy.csv';
    await upload(key, `${lines.join('\r\n')}\r\n`); // CRLF line endings
    const jobId = await jobIdFor(key);
    const s = await summaryOf(jobId);
    assert.equal(s.status, 'succeeded');
    assert.equal(s.rowsTotal, 9);
    assert.equal(s.rowsScored, 3);
    assert.equal(s.rowsRejected, 6);
    const { results, errors } = await rowsOf(jobId);
    assert.deepEqual(
      [...results.keys()].sort((a, b) => a - b),
      [1, 8, 9],
    );
    assert.equal(results.get(1)?.[1], 'g1', 'the BOM does not end up in the first value');
    const byLine = new Map([...errors.values()].map((e) => [e.line as number, e.error as string]));
    assert.match(byLine.get(3) ?? '', /amount: '12x' is not a number/);
    assert.match(byLine.get(4) ?? '', /amount/);
    assert.match(byLine.get(5) ?? '', /amount/);
    assert.match(byLine.get(6) ?? '', /wrong column count/);
    assert.match(byLine.get(7) ?? '', /broken quoting/);
    assert.match(byLine.get(8) ?? '', /blank line/);
    assert.equal(errors.get(2)?.id, 'b1');
  });

  it('overwrites a redelivered chunk instead of duplicating it when the worker dies before acknowledging', async () => {
    const partWrites: string[] = [];
    let crashed = false;
    const flaky: ObjectStore = Object.create(deps.store);
    flaky.write = async (bucket, key, body, opts) => {
      if (/\/part-000001\.csv$/.test(key)) partWrites.push(key);
      const r = await deps.store.write(bucket, key, body, opts);
      // Dies after the part is written and before the chunk is marked done and acknowledged.
      if (!crashed && /\/part-000001\.csv$/.test(key)) {
        crashed = true;
        throw new Error('simulated crash after writing the part');
      }
      return r;
    };
    score = createScoreHandler({ ...deps, store: flaky });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'infera-batch-'));
      await makeBatchFile(join(dir, 'tx.csv'), 3_000, 'csv', 5);
      const key = 'fraud-detector/redelivery.csv';
      await upload(key, await readFile(join(dir, 'tx.csv')));
      const s = await summaryOf(await jobIdFor(key));
      assert.ok(crashed, 'the fault fired');
      assert.equal(partWrites.length, 2, 'chunk 1 was processed twice');
      assert.equal(s.status, 'succeeded');
      const { results, errors, dupes } = await rowsOf((await jobIdFor(key)) as string);
      assert.deepEqual(dupes, []);
      assert.equal(results.size + errors.size, 3_000);
      assert.equal(s.rowsScored + s.rowsRejected, 3_000);
    } finally {
      score = (await import('#batch/score.ts')).handler as unknown as Handler;
    }
  });

  it('sends a chunk that keeps failing to the DLQ with its reason and finalises the job as partial', async () => {
    let attempts = 0;
    const broken: ObjectStore = Object.create(deps.store);
    broken.read = async (bucket, key, opts) => {
      // Only the second chunk fails: its range starts after the first 1000 rows (about 53 KB in).
      if (
        key.endsWith('poison.csv') &&
        opts?.start !== undefined &&
        opts.start > 40_000 &&
        opts.start < 70_000
      ) {
        attempts++;
        throw new Error('simulated S3 outage for chunk 1');
      }
      return deps.store.read(bucket, key, opts);
    };
    score = createScoreHandler({ ...deps, store: broken });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'infera-batch-'));
      await makeBatchFile(join(dir, 'tx.csv'), 2_500, 'csv', 9);
      const key = 'fraud-detector/poison.csv';
      await upload(key, await readFile(join(dir, 'tx.csv')));
      const jobId = await jobIdFor(key);
      const s = await summaryOf(jobId, 40_000);
      assert.equal(attempts, MAX_ATTEMPTS, 'retried up to the limit, then dead-lettered');
      assert.equal(s.status, 'partial');
      assert.equal(s.failedChunks.length, 1);
      assert.equal(s.failedChunks[0]?.chunk, 1);
      assert.match(s.reason ?? '', /simulated S3 outage/);
      assert.equal(s.rowsFailed, 1000);
      assert.equal(s.rowsScored + s.rowsRejected + s.rowsFailed, 2_500);
      const dlq = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: aws.dlqUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      const m = (dlq.Messages ?? []).find((x) => x.MessageAttributes?.jobId?.StringValue === jobId);
      assert.ok(m, 'the chunk message is in the DLQ');
      assert.match(m.MessageAttributes?.reason?.StringValue ?? '', /simulated S3 outage/);
      assert.equal(JSON.parse(m.Body ?? '{}').chunk, 1);
    } finally {
      score = (await import('#batch/score.ts')).handler as unknown as Handler;
    }
  });

  it('creates one job for a duplicate S3 notification, and ignores s3:TestEvent', async () => {
    const key = 'fraud-detector/dup.csv';
    const n = await upload(key, `${HEADER}\nd1,12.5,grocery,14,3.2,0,true,400,false\n`);
    const jobId = await jobIdFor(key);
    await summaryOf(jobId);
    const again = (await split(s3EventFor(n, aws.region), {})) as { outcome: string; jobId: string }[];
    assert.deepEqual(again, [{ outcome: 'duplicate', jobId }]);
    const jobs = new Set((await keysUnder('')).filter((k) => k.endsWith('/_job.json')));
    const forKey: string[] = [];
    for (const k of jobs) {
      const j = JSON.parse((await text(aws.names.outputBucket, k)) ?? '{}');
      if (j.source?.key === key) forKey.push(j.jobId);
    }
    assert.deepEqual(forKey, [jobId]);
    assert.deepEqual(
      await split({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: aws.names.inputBucket }, {}),
      [],
    );
  });

  it('fails a job with the reason when the upload names no known model', async () => {
    const key = 'no-such-model/x.csv';
    await upload(key, 'a,b\n1,2\n');
    const jobId = await jobIdFor(key);
    const s = await summaryOf(jobId);
    assert.equal(s.status, 'failed');
    assert.match(s.reason ?? '', /no-such-model/);
  });

  it('ends a job failed with the last error when the split step fails on every attempt', async () => {
    const heads: string[] = [];
    const broken: ObjectStore = Object.create(deps.store);
    broken.head = async (_bucket, key) => {
      heads.push(key);
      throw new Error('simulated S3 outage during split');
    };
    const working = split;
    split = createSplitHandler({ ...deps, store: broken });
    try {
      const key = 'fraud-detector/split-outage.csv';
      await upload(key, `${HEADER}\ns1,12.5,grocery,14,3.2,0,true,400,false\n`);
      const jobId = await jobIdFor(key);
      const s = await summaryOf(jobId);
      assert.equal(s.status, 'failed');
      assert.match(
        s.reason ?? '',
        /^the split step failed on every attempt \(Error: simulated S3 outage during split\); upload the file again/,
      );
      assert.deepEqual(
        heads,
        [key, key, key],
        'one call and two retries, as Lambda retries async invocations',
      );
      const { jobStatus } = await import('#core/batch/jobs-api.ts');
      const { LOCAL_OWNER } = await import('#core/batch/owner.ts');
      const view = await jobStatus(deps, jobId, { owner: LOCAL_OWNER, shared: false });
      assert.equal(view.status, 'failed');
      assert.match(view.error ?? '', /simulated S3 outage/);
    } finally {
      split = working;
    }
  });
});

describe('batch jobs of image files (the shipped PaddleOCR text-direction classifier)', () => {
  const FIXTURES = join(MODELS, 'text-direction/1/fixtures');
  const jsonlRows = async (jobId: string) => {
    const rows: Record<string, unknown>[] = [];
    for (const k of await keysUnder(`${jobId}/`)) {
      if (!/\/part-\d+\.jsonl$/.test(k)) continue;
      for (const line of ((await text(aws.names.outputBucket, k)) ?? '').trim().split('\n'))
        rows.push(JSON.parse(line) as Record<string, unknown>);
    }
    return rows.sort((a, b) => (a.row as number) - (b.row as number));
  };

  it('scores an uploaded PNG or JPEG as a one-row job, with the file name as the id', async () => {
    for (const [name, label] of [
      ['street-180.png', '180'],
      ['invoice-0.jpg', '0'],
    ] as const) {
      const key = `text-direction/scans/${name}`;
      await upload(key, readFileSync(join(FIXTURES, name)));
      const jobId = await jobIdFor(key);
      const summary = await summaryOf(jobId);
      assert.equal(summary.status, 'succeeded', JSON.stringify(summary));
      assert.equal(summary.rowsTotal, 1);
      const [row] = await jsonlRows(jobId);
      assert.equal(row?.id, name);
      assert.equal(row?.label, label);
    }
  });

  it('scores JSON Lines rows of base64 images, one of them far over 1 MiB', async () => {
    // An 800x800 noise PNG: about 1.9 MB, 2.6 MB as base64, on one line.
    const noise = new Uint8Array(800 * 800 * 3);
    let x = 7;
    for (let i = 0; i < noise.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      noise[i] = x >>> 24;
    }
    const big = Buffer.from(encodePng({ width: 800, height: 800, data: noise, channels: 3, depth: 8 }));
    const lines = [
      { id: 'a', x: { b64: readFileSync(join(FIXTURES, 'invoice-180.png')).toString('base64') } },
      { id: 'noise', x: { b64: big.toString('base64') } },
      { id: 'b', x: { b64: readFileSync(join(FIXTURES, 'street-0.jpg')).toString('base64') } },
      { id: 'broken', x: { b64: 'aGVsbG8=' } },
    ].map((l) => JSON.stringify(l));
    assert.ok((lines[1] as string).length > 2 * 1024 * 1024);
    const key = 'text-direction/images.jsonl';
    await upload(key, `${lines.join('\n')}\n`);
    const jobId = await jobIdFor(key);
    const summary = await summaryOf(jobId);
    assert.equal(summary.rowsTotal, 4);
    assert.equal(summary.rowsScored, 3, JSON.stringify(summary));
    assert.equal(summary.rowsRejected, 1);
    const rows = await jsonlRows(jobId);
    assert.deepEqual(
      rows.map((r) => [r.id, r.label === undefined ? undefined : r.id === 'noise' ? 'any' : r.label]),
      [
        ['a', '180'],
        ['noise', 'any'],
        ['b', '0'],
      ],
    );
    const { errors } = await rowsOf(jobId);
    assert.match(String(errors.get(4)?.error), /x: is not a PNG or JPEG image/);
  });

  it('fails a job whose .png is no image, or whose model takes no images, with the reason', async () => {
    const fake = 'text-direction/fake.png';
    await upload(fake, 'hello, not a PNG');
    const a = await summaryOf(await jobIdFor(fake));
    assert.equal(a.status, 'failed');
    assert.match(String(a.reason), /not a PNG or JPEG/);
    const wrong = 'iris/flower.png';
    await upload(wrong, readFileSync(join(FIXTURES, 'street-0.png')));
    const b = await summaryOf(await jobIdFor(wrong));
    assert.equal(b.status, 'failed');
    assert.match(String(b.reason), /model 'iris' does not take image files/);
  });
});
