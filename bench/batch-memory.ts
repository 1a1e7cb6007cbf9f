#!/usr/bin/env node
/**
 * Batch memory benchmark: does the functions' memory stay flat as the file grows?
 *
 *   npm run bench:batch                      # 100k and 1M rows
 *   npm run bench:batch -- --rows 2000000
 *
 * Two processes, as on AWS: this one runs the S3 + SQS emulator (which holds the uploaded object
 * in its own memory); a child runs the split and score handlers with the SQS event source, and is
 * the one measured: peak RSS from /proc, and the peak live V8 heap (after a full GC, each second),
 * under a 128 MB heap cap. Talks only to 127.0.0.1; stops by itself.
 */
import { fork } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { handlerEnv, startLocalAws } from '../infra/local/aws.ts';
import { s3EventFor } from '../infra/local/event-sources.ts';
import { makeBatchFile } from '../scripts/make-batch-file.ts';

const PART = 8 * 1024 * 1024;
const HEAP_CAP_MB = 128;

async function worker(): Promise<void> {
  const { startSqsEventSource } = await import('../infra/local/event-sources.ts');
  const split = (await import('#batch/split.ts')).handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  const score = (await import('#batch/score.ts')).handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL });
  // Live heap: what is still reachable after a full GC, sampled every second while the job runs.
  const gc = (globalThis as { gc?: () => void }).gc;
  let heapPeak = 0;
  setInterval(() => {
    gc?.();
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    process.send?.({ heapPeak });
  }, 1000).unref();
  const source = startSqsEventSource({
    sqs,
    queueUrl: process.env.BATCH_QUEUE_URL as string,
    queueArn: process.env.QUEUE_ARN as string,
    region: 'us-east-1',
    functionName: 'batch-score',
    handler: score,
    pollers: 2,
  });
  process.on('message', async (m: { event?: unknown; stop?: boolean }) => {
    if (m.event) await split(m.event, { getRemainingTimeInMillis: () => 900_000 });
    if (m.stop) {
      await source.stop();
      process.exit(0);
    }
  });
  process.send?.({ ready: true });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

async function runOnce(rows: number): Promise<Record<string, string | number>> {
  const dir = await mkdtemp(join(tmpdir(), 'infera-bench-'));
  const file = join(dir, `tx-${rows}.csv`);
  process.stderr.write(`generating ${rows.toLocaleString('en-US')} rows... `);
  await makeBatchFile(file, rows, 'csv', 1);
  const size = (await stat(file)).size;
  process.stderr.write(`${(size / 1e6).toFixed(1)} MB\n`);
  const aws = await startLocalAws({ port: 0 });
  const child = fork(new URL(import.meta.url).pathname, ['--worker'], {
    env: {
      ...process.env,
      ...handlerEnv(aws),
      QUEUE_ARN: aws.queueArn,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    // A capped V8 heap: if memory grew with the file, the big job would die here.
    execArgv: [...process.execArgv, '--expose-gc', `--max-old-space-size=${HEAP_CAP_MB}`],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let heapPeak = 0;
  await new Promise<void>((resolve) =>
    child.on('message', (m: { ready?: boolean; heapPeak?: number }) => {
      if (m.heapPeak) heapPeak = Math.max(heapPeak, m.heapPeak);
      if (m.ready) resolve();
    }),
  );
  const rssIdle = rssKb(child.pid as number);
  let rssPeak = rssIdle;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssKb(child.pid as number));
  }, 100);
  aws.onUpload((n) => child.send({ event: s3EventFor(n, aws.region) }));

  const key = `fraud-detector/tx-${rows}.csv`;
  const started = performance.now();
  const { UploadId } = await aws.s3.send(new CreateMultipartUploadCommand({ Bucket: aws.names.inputBucket, Key: key }));
  const parts: { PartNumber: number; ETag: string }[] = [];
  for (let n = 1, off = 0; off < size; n++, off += PART) {
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(file, { start: off, end: Math.min(size, off + PART) - 1 })) chunks.push(c as Buffer);
    const r = await aws.s3.send(
      new UploadPartCommand({ Bucket: aws.names.inputBucket, Key: key, UploadId, PartNumber: n, Body: Buffer.concat(chunks) }),
    );
    parts.push({ PartNumber: n, ETag: r.ETag as string });
  }
  await aws.s3.send(
    new CompleteMultipartUploadCommand({ Bucket: aws.names.inputBucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  const uploaded = performance.now();

  let summary: Record<string, unknown> | undefined;
  const deadline = Date.now() + 30 * 60_000;
  while (!summary && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const jobs = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: aws.names.outputBucket, Delimiter: '/' }),
    );
    for (const p of jobs.CommonPrefixes ?? []) {
      for (const name of ['_SUCCESS.json', '_FAILED.json']) {
        try {
          const r = await aws.s3.send(new GetObjectCommand({ Bucket: aws.names.outputBucket, Key: `${p.Prefix}${name}` }));
          summary = JSON.parse(await (r.Body as { transformToString(): Promise<string> }).transformToString());
        } catch {
          // not finished yet
        }
      }
    }
  }
  const finished = performance.now();
  clearInterval(sampler);
  child.send({ stop: true });
  await new Promise((r) => child.once('exit', r));
  await aws.close();
  await rm(dir, { recursive: true, force: true });
  if (!summary) throw new Error(`the ${rows}-row job did not finish in 30 minutes`);
  const secs = (finished - uploaded) / 1000;
  return {
    rows,
    'file MB': Number((size / 1e6).toFixed(1)),
    status: String(summary.status),
    scored: Number(summary.rowsScored),
    rejected: Number(summary.rowsRejected),
    'upload s': Number(((uploaded - started) / 1000).toFixed(1)),
    'score s': Number(secs.toFixed(1)),
    'rows/s': Math.round(rows / secs),
    'worker RSS idle MB': Math.round(rssIdle / 1024),
    'worker RSS peak MB': Math.round(rssPeak / 1024),
    'worker live heap peak MB': Math.round(heapPeak / 1024 / 1024),
  };
}

if (process.argv.includes('--worker')) {
  await worker();
} else if (import.meta.main) {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '100000,1000000' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(`Usage: npm run bench:batch -- [--rows 100000,1000000]

Scores generated CSVs of each size through the local batch pipeline (split -> SQS -> score) and
reports rows/s and the functions' peak memory. Flat memory means the peaks do not grow with rows.
The worker runs with a ${HEAP_CAP_MB} MB V8 heap cap, so a memory leak fails the big job.`);
    process.exit(0);
  }
  const sizes = (values.rows as string).split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`--rows must be comma-separated whole numbers, got '${values.rows}'`);
    process.exit(2);
  }
  const results = [];
  for (const n of sizes) results.push(await runOnce(n));
  console.table(results);
}
