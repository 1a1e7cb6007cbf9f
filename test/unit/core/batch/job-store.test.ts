/**
 * The job store against S3's wire protocol: the real S3 adapter on fauxqs, in this process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3ObjectStore } from '#adapters/s3.ts';
import type { BatchDeps } from '#core/batch/deps.ts';
import { keys } from '#core/batch/job.ts';
import type { JobRecord } from '#core/batch/job-record.ts';
import {
  finaliseIfComplete,
  indexOwner,
  listMarkers,
  readJob,
  readSummary,
  writeJob,
  writeSummary,
} from '#core/batch/job-store.ts';
import { ownerIndexPrefix } from '#core/batch/owner.ts';
import { processChunk } from '#core/batch/score-step.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { MessageQueue } from '#core/ports.ts';
import { type LocalAws, startLocalAws } from '../../../../infra/local/aws.ts';
import { MODELS } from '../../../helpers.ts';

let aws: LocalAws;
let d: BatchDeps;
const logged: string[] = [];

/** The job store never queues anything; a send is a failure of this test. */
const noQueue: MessageQueue = {
  sendBatch: () => Promise.reject(new Error('the job store must not send messages')),
} as unknown as MessageQueue;

before(async () => {
  aws = await startLocalAws({ port: 0 });
  d = {
    store: new S3ObjectStore(aws.s3),
    queue: noQueue,
    registry: await ModelRegistry.load(MODELS, { only: ['fraud-detector'] }),
    settings: {
      inputBucket: aws.names.inputBucket,
      outputBucket: aws.names.outputBucket,
      queueUrl: aws.queueUrl,
      dlqUrl: aws.dlqUrl,
      chunkRows: 1000,
      chunkBytes: 1 << 20,
      maxAttempts: 3,
    },
    log: { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m) },
    now: () => new Date('2026-01-01T00:00:10.000Z'),
  };
});
after(() => aws?.close());

const job = (jobId: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  jobId,
  state: 'queued',
  model: 'fraud-detector',
  version: '1',
  createdAt: '2026-01-01T00:00:00.000Z',
  chunks: 2,
  rowsTotal: 5,
  ...extra,
});

const mark = (jobId: string, chunk: number, rowsRead: number, scored: number, rejected: number) =>
  d.store.write(d.settings.outputBucket, keys.chunkDone(jobId, { chunk, rowsRead, scored, rejected }), '{}');

/** The deps with one store method that tells `seen` its key or prefix, then does its work. */
function spyOnStore(method: 'readText' | 'list', seen: (keyOrPrefix: string) => void): BatchDeps {
  const store = d.store;
  const original = store[method].bind(store) as (bucket: string, key: string) => unknown;
  return {
    ...d,
    store: Object.assign(Object.create(store) as typeof store, {
      [method]: (bucket: string, key: string) => {
        seen(key);
        return original(bucket, key);
      },
    }),
  };
}

describe('the batch job store', () => {
  it('reads back the job record it wrote, and nothing for a job it never wrote', async () => {
    const j = job('20260101-000000-aaaaaaaa', { owner: { id: 'AIDAALICE' } });
    await writeJob(d, j);
    assert.deepEqual(await readJob(d, j.jobId), j);
    assert.equal(await readJob(d, '20260101-000000-00000000'), undefined);
  });

  it("files a job under its owner's index, and under nobody's without an owner", async () => {
    const owner = { id: 'AIDABOB' };
    await indexOwner(d, '20260101-000000-bbbbbbbb', owner);
    await indexOwner(d, '20260101-000000-cccccccc', undefined);
    const listed: string[] = [];
    for await (const o of d.store.list(d.settings.outputBucket, ownerIndexPrefix(owner))) listed.push(o.key);
    assert.deepEqual(listed, [`${ownerIndexPrefix(owner)}20260101-000000-bbbbbbbb`]);
  });

  it('writes a summary once: a second write finds it there and changes nothing', async () => {
    const jobId = '20260101-000000-dddddddd';
    const first = { jobId, status: 'succeeded', rowsScored: 1 } as never;
    assert.equal(await writeSummary(d, first), 'written');
    assert.equal(await writeSummary(d, { jobId, status: 'succeeded', rowsScored: 99 } as never), 'exists');
    assert.deepEqual(await readSummary(d, jobId), first);
  });

  it('lets exactly one of many racing summary writes land', async () => {
    const jobId = '20260101-000000-dddd0000';
    const tries = Array.from(
      { length: 8 },
      (_, i) => ({ jobId, status: 'succeeded', rowsScored: i }) as never,
    );
    const outcomes = await Promise.all(tries.map((s) => writeSummary(d, s)));
    assert.deepEqual(outcomes.filter((o) => o === 'written').length, 1, `outcomes: ${outcomes.join(', ')}`);
    const winner = outcomes.indexOf('written');
    assert.deepEqual(await readSummary(d, jobId), tries[winner]);
  });

  it('reads chunk markers from their keys alone', async () => {
    const jobId = '20260101-000000-eeeeeeee';
    await mark(jobId, 0, 3, 2, 1);
    await d.store.write(d.settings.outputBucket, `${jobId}/_chunks/not-a-marker.txt`, '');
    assert.deepEqual(await listMarkers(d, jobId), [
      { chunk: 0, ok: true, rowsRead: 3, scored: 2, rejected: 1 },
    ]);
  });

  it('finishes a job only when every chunk has a marker, with the counts the markers carry', async () => {
    const jobId = '20260101-000000-ffffffff';
    await writeJob(d, job(jobId));
    await mark(jobId, 0, 3, 2, 1);
    assert.equal(await finaliseIfComplete(d, jobId), undefined, 'one of two chunks is not done');
    assert.equal(await readSummary(d, jobId), undefined);
    await mark(jobId, 1, 2, 2, 0);
    const s = await finaliseIfComplete(d, jobId);
    assert.equal(s?.status, 'succeeded');
    assert.deepEqual(
      [s?.rowsRead, s?.rowsScored, s?.rowsRejected, s?.rowsFailed, s?.durationMs],
      [5, 4, 1, 0, 10_000],
    );
    assert.deepEqual(await readSummary(d, jobId), s);
    assert.equal(logged.filter((m) => m === 'batch job finished').length, 1);
    assert.equal(await finaliseIfComplete(d, jobId), undefined, 'a finished job is not finished again');
  });

  it('ends a job partial with the dead-lettered chunk and its reason', async () => {
    const jobId = '20260101-000000-99999999';
    await writeJob(d, job(jobId));
    await mark(jobId, 0, 3, 3, 0);
    const failure = {
      chunk: 1,
      firstRow: 4,
      rows: 2,
      reason: 'the endpoint kept failing',
      attempts: 3,
      at: 'x',
    };
    await d.store.write(d.settings.outputBucket, keys.chunkFailed(jobId, 1), JSON.stringify(failure));
    const s = await finaliseIfComplete(d, jobId);
    assert.equal(s?.status, 'partial');
    assert.equal(s?.rowsFailed, 2);
    assert.deepEqual(s?.failedChunks, [failure]);
    assert.match(s?.reason ?? '', /1 of 2 chunk\(s\) failed .*chunk 1: the endpoint kept failing/);
  });

  it('answers "not yet" from one listing when the caller knows the chunk count, and finishes the same way', async () => {
    const jobId = '20260101-000000-77777777';
    await writeJob(d, job(jobId));
    await mark(jobId, 0, 3, 2, 1);
    const reads: string[] = [];
    const counting = spyOnStore('readText', (key) => reads.push(key));
    assert.equal(await finaliseIfComplete(counting, jobId, 2), undefined);
    assert.deepEqual(reads, [], 'no object read while a chunk is missing');
    await mark(jobId, 1, 2, 2, 0);
    const s = await finaliseIfComplete(counting, jobId, 2);
    assert.deepEqual([s?.status, s?.rowsScored, s?.rowsRejected], ['succeeded', 4, 1]);
  });

  it('answers "not yet" from a one-chunk listing while the last chunk is missing, and still finishes out of order', async () => {
    const jobId = '20260101-000000-55555555';
    await writeJob(d, job(jobId, { chunks: 5 }));
    const listed: string[] = [];
    const counting = spyOnStore('list', (prefix) => listed.push(prefix.slice(jobId.length)));
    await mark(jobId, 1, 1, 1, 0);
    assert.equal(await finaliseIfComplete(counting, jobId, 5, 1), undefined);
    assert.deepEqual(listed, ['/_chunks/000004.'], 'one probe of the last chunk, no listing of every marker');
    // Chunks finish out of order: the last chunk early, the middle one last.
    for (const c of [4, 0, 3]) {
      await mark(jobId, c, 1, 1, 0);
      assert.equal(
        await finaliseIfComplete(counting, jobId, 5, c),
        undefined,
        `chunk 2 is still missing after ${c}`,
      );
    }
    await mark(jobId, 2, 1, 1, 0);
    const s = await finaliseIfComplete(counting, jobId, 5, 2);
    assert.deepEqual([s?.status, s?.rowsScored], ['succeeded', 5]);
  });

  it('leaves a job that failed at its split alone', async () => {
    const jobId = '20260101-000000-88888888';
    await writeJob(d, job(jobId, { state: 'failed', chunks: 0 }));
    assert.equal(await finaliseIfComplete(d, jobId), undefined);
  });

  it('takes a finished chunk redelivered past its attempts as done, not as failed', async () => {
    const jobId = '20260101-000000-66666666';
    await writeJob(d, job(jobId));
    await mark(jobId, 0, 3, 3, 0);
    const msg = {
      v: 1 as const,
      jobId,
      bucket: d.settings.inputBucket,
      key: 'never-read.csv',
      etag: '"x"',
      format: 'csv' as const,
      model: 'fraud-detector',
      version: '1',
      chunk: 0,
      chunks: 2,
      start: 0,
      end: 10,
      firstRow: 1,
      rows: 3,
      headerLines: 1,
    };
    // SQS brought it back a fourth time, with its neighbours: maxAttempts is 3.
    const scorer = { ...d, predict: () => Promise.reject(new Error('a finished chunk is not scored again')) };
    assert.equal(await processChunk(scorer, msg, 4), 'already-done');
    const failed: string[] = [];
    for await (const o of d.store.list(d.settings.outputBucket, `${jobId}/_chunks/`)) failed.push(o.key);
    assert.deepEqual(failed, [keys.chunkDone(jobId, { chunk: 0, rowsRead: 3, scored: 3, rejected: 0 })]);
  });
});
