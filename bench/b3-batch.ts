/**
 * B3: batch scoring end to end through the local S3 + SQS stack: multipart upload of a generated
 * CSV, the S3 event, split, SQS, score, results and `_SUCCESS.json` in the output bucket. Against
 * one process streaming the same file through session.run (bench/baseline/batch-stream.ts).
 *
 * Two processes, as on AWS: this one runs the S3 + SQS emulator (which holds the objects, as S3
 * would); a child runs the split and score handlers behind the SQS event source, and is the one
 * whose memory is measured (peak RSS from /proc, sampled every 100 ms). Talks only to 127.0.0.1.
 */
import { fork } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Message } from '@aws-sdk/client-sqs';
import { handlerEnv, type LocalAws, startLocalAws } from '../infra/local/aws.ts';
import { liveVersion } from './lib/models.ts';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { startProcess } from './lib/proc.ts';
import { summarize } from './lib/stats.ts';
import { s3EventFor } from '../infra/local/event-sources.ts';
import { makeBatchFile } from '../scripts/make-batch-file.ts';

const PART = 8 * 1024 * 1024;
const ROOT = new URL('..', import.meta.url).pathname;

async function worker(): Promise<void> {
  const { startSqsEventSource } = await import('../infra/local/event-sources.ts');
  const split = (await import('#batch/split.ts')).handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  const score = (await import('#batch/score.ts')).handler as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL });
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

/**
 * The score worker alone, in its own process: the job is split first (not timed), then the chunk
 * messages are taken off the queue and handed to the score function's handler in SQS events of up
 * to 10 records, as Lambda would. Timed: the handler only (ranged S3 reads, decode, score, result
 * and marker writes). Sends seconds.
 */
async function scoreOnly(): Promise<void> {
  const { batchDeps } = await import('#runtime/batch.ts');
  const { loadConfig } = await import('#runtime/config.ts');
  const { splitUpload } = await import('#core/batch/split-step.ts');
  const { createScoreHandler } = await import('#batch/score.ts');
  const { sqsEventFor } = await import('../infra/local/event-sources.ts');
  const { lambdaContext } = await import('../infra/local/gateway.ts');
  const { SQSClient, ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
  const d = await batchDeps(loadConfig(), { scoring: true });
  const [bucket, key, etag] = process.argv.slice(3) as [string, string, string];
  await splitUpload(d, { bucket, key, etag });
  const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL });
  const batches: Message[][] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: d.settings.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 900,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!r.Messages?.length) break;
    batches.push(r.Messages);
  }
  const handler = createScoreHandler(d);
  const arn = process.env.QUEUE_ARN as string;
  const started = performance.now();
  const cpu = process.cpuUsage();
  let chunks = 0;
  for (const batch of batches) {
    const res = await handler(sqsEventFor(batch, arn, 'us-east-1'), lambdaContext('score', 900_000));
    if (res.batchItemFailures.length > 0) throw new Error(`B3: ${res.batchItemFailures.length} chunk(s) failed`);
    chunks += batch.length;
  }
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  process.send?.({ seconds: (performance.now() - started) / 1000, cpuSeconds, chunks }, () => process.exit(0));
}

/** Puts the file into the emulator's input bucket as a client would: a multipart upload. Returns its ETag. */
async function upload(aws: LocalAws, key: string, file: string, size: number): Promise<string> {
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
  const done = await aws.s3.send(
    new CompleteMultipartUploadCommand({ Bucket: aws.names.inputBucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return (done.ETag ?? '').replace(/"/g, '');
}

/** B3's worker-alone figure: the file already in the store, split, then scored chunk by chunk. */
export async function workerRun(file: string, rows: number, size: number): Promise<number> {
  const aws = await startLocalAws({ port: 0 });
  try {
    const key = `fraud-detector/worker-${rows}.csv`;
    const etag = await upload(aws, key, file, size);
    const child = fork(new URL(import.meta.url).pathname, ['--score-only', aws.names.inputBucket, key, etag], {
      env: { ...process.env, ...handlerEnv(aws), QUEUE_ARN: aws.queueArn, POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const got = await new Promise<{ seconds: number }>((resolve, reject) => {
      child.on('message', (m: { seconds: number }) => resolve(m));
      child.on('exit', (code) => reject(new Error(`B3: the score worker exited with ${code} before reporting`)));
    });
    // The worker exits by itself once it has reported (a profile run writes its profile then).
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    return got.seconds;
  } finally {
    await aws.close();
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

interface PlatformRun {
  readonly seconds: number;
  readonly rssPeakMb: number;
  readonly rssIdleMb: number;
  readonly scored: number;
}

/** One job through the platform: upload start to the summary in the output bucket. */
async function platformRun(file: string, rows: number, size: number): Promise<PlatformRun> {
  const aws = await startLocalAws({ port: 0 });
  const child = fork(new URL(import.meta.url).pathname, ['--worker'], {
    env: {
      ...process.env,
      ...handlerEnv(aws),
      QUEUE_ARN: aws.queueArn,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve) =>
    child.on('message', (m: { ready?: boolean }) => {
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
  await upload(aws, key, file, size);

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
  if (!summary) throw new Error(`the ${rows}-row job did not finish in 30 minutes`);
  if (summary.status !== 'succeeded' || Number(summary.rowsScored) !== rows)
    throw new Error(`the ${rows}-row job ended ${summary.status} with ${summary.rowsScored} rows scored`);
  return {
    seconds: (finished - started) / 1000,
    rssPeakMb: rssPeak / 1024,
    rssIdleMb: rssIdle / 1024,
    scored: Number(summary.rowsScored),
  };
}

export async function baselineRun(file: string, rows: number, outDir: string): Promise<number> {
  const mv = await liveVersion('fraud-detector');
  const started = performance.now();
  const p = await startProcess(
    [join(ROOT, 'bench/baseline/batch-stream.ts'), mv.dir, file, join(outDir, 'baseline.csv')],
    /done (\d+) /,
    { name: 'the batch baseline', cwd: ROOT, timeoutMs: 30 * 60_000 },
  );
  const seconds = (performance.now() - started) / 1000;
  await p.stop();
  if (Number(p.match[1]) !== rows) throw new Error(`the baseline scored ${p.match[1]} of ${rows} rows`);
  return seconds;
}

export async function b3(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const main = opts.quick ? 2000 : 1_000_000;
  const big = opts.quick ? 8000 : 4_000_000;
  const rounds = opts.quick ? 1 : 3;
  const dir = await mkdtemp(join(tmpdir(), 'infera-bench-'));
  try {
    const files = new Map<number, { file: string; size: number }>();
    for (const rows of [main, big]) {
      const file = join(dir, `tx-${rows}.csv`);
      opts.progress(`B3: generating ${rows.toLocaleString('en-US')} rows`);
      await makeBatchFile(file, rows, 'csv', 1);
      files.set(rows, { file, size: (await stat(file)).size });
    }
    const m = files.get(main) as { file: string; size: number };
    const plat: PlatformRun[] = [];
    const base: number[] = [];
    const alone: number[] = [];
    for (let r = 0; r < rounds; r++) {
      opts.progress(
        `B3: ${main.toLocaleString('en-US')} rows, round ${r + 1} of ${rounds}: platform, the worker alone, then baseline`,
      );
      plat.push(await platformRun(m.file, main, m.size));
      alone.push(await workerRun(m.file, main, m.size));
      base.push(await baselineRun(m.file, main, dir));
    }
    const aloneRatio = summarize(alone.map((s, i) => main / s / (main / (base[i] as number))));
    const b = files.get(big) as { file: string; size: number };
    opts.progress(`B3: ${big.toLocaleString('en-US')} rows, once (memory must stay flat)`);
    const bigRun = await platformRun(b.file, big, b.size);
    const bigBase = await baselineRun(b.file, big, dir);
    const ratio = summarize(plat.map((p, i) => main / p.seconds / (main / (base[i] as number))));
    const rss = summarize(plat.map((p) => p.rssPeakMb));
    const figures: Figure[] = [
      {
        label: `rows/s, ${main.toLocaleString('en-US')} rows (upload to _SUCCESS)`,
        unit: 'rows/s',
        platform: summarize(plat.map((p) => main / p.seconds)),
        baseline: summarize(base.map((s) => main / s)),
        compare: 'ratio',
        value: ratio,
        target: { text: '≥ 0.5×', met: ratio.median >= 0.5 },
      },
      {
        label: `rows/s, the score worker alone on a split ${main.toLocaleString('en-US')}-row job`,
        unit: 'rows/s',
        platform: summarize(alone.map((s) => main / s)),
        baseline: summarize(base.map((s) => main / s)),
        compare: 'ratio',
        value: aloneRatio,
        target: { text: '≥ 0.8×', met: aloneRatio.median >= 0.8 },
      },
      {
        label: `rows/s, ${big.toLocaleString('en-US')} rows`,
        unit: 'rows/s',
        platform: summarize([big / bigRun.seconds]),
        baseline: summarize([big / bigBase]),
        compare: 'ratio',
        value: summarize([big / bigRun.seconds / (big / bigBase)]),
        target: { text: '≥ 0.5×', met: big / bigRun.seconds / (big / bigBase) >= 0.5 },
      },
      {
        label: `functions' peak RSS, ${main.toLocaleString('en-US')} rows`,
        unit: 'MB',
        platform: rss,
        compare: 'absolute',
        value: rss,
        target: { text: '≤ 512 MB', met: rss.max <= 512 },
      },
      {
        label: `functions' peak RSS, ${big.toLocaleString('en-US')} rows, vs ${main.toLocaleString('en-US')}`,
        unit: 'MB',
        platform: summarize([bigRun.rssPeakMb]),
        baseline: rss,
        compare: 'ratio',
        value: summarize([bigRun.rssPeakMb / rss.median]),
        // Flat: four times the rows may not cost more than a tenth more memory.
        target: { text: '≤ 512 MB and ≤ 1.1× (flat)', met: bigRun.rssPeakMb <= 512 && bigRun.rssPeakMb / rss.median <= 1.1 },
      },
    ];
    return {
      id: 'B3',
      title: 'batch: CSV end to end through local S3 + SQS',
      baseline: 'one process streaming the file through session.run in 5,000-row batches',
      target: 'rows/s ≥ 50% of baseline; functions peak RSS ≤ 512 MB and flat',
      figures,
      notes: [
        `fraud-detector (live version), generated CSVs of ${(m.size / 1e6).toFixed(1)} MB and ${(b.size / 1e6).toFixed(1)} MB. The platform time runs from the first byte of the multipart upload to the job summary in the output bucket, with every row scored and accounted for; the baseline time from process start to its last row written.`,
        "RSS is the functions' process (split and score behind the SQS event source, 5,000-row chunks, 2 pollers); the emulator that stands in for S3 holds the objects in its own process and is not counted.",
      ],
      limits: [
        'The baseline reads a local file and writes a local file; the platform does what makes a batch job safe and resumable: a multipart upload into the S3 emulator, a split function that streams the object and writes 5,000-row chunk messages to SQS, two pollers receiving and deleting them, every row checked with a reason for every rejected one, each chunk\'s results written to S3, and a summary that counts every row. On 2 cores the emulator, the functions and the load share the CPU; on AWS, S3 and SQS run elsewhere and the score function scales out (up to 10 concurrent batches by default).',
        'The score worker alone, from `node --cpu-prof` of a 1,000,000-row job (200 chunks, 2026-12-07): turning lines into the input matrix about 25% of its time (cutting each line at its commas, reading each number, checking it against the manifest), writing the results 15% (each probability to 9 significant digits with toPrecision, about 90 ns a number), the AWS SDK\'s request path about 15% (SigV4 signing and the payload hash, the CRC32 checksum S3 uploads now carry, XML responses), waiting on the S3 emulator in the other process about 10%, socket writes 5%, garbage collection 5%, and session.run itself 5% (0.75 ms per 5,000 rows). Done since 2026-11-26: a chunk asks whether its job is complete with a one-key listing of the last and first chunks\' markers, not a listing of every marker (that grew with the square of the chunk count: 320,000 keys at 4M rows); numbers are read without a regular expression (a property test holds the reader equal to the grammar on any string) with one reader per column; labels are quoted once per chunk. Worker alone: 0.45–0.47× before, 0.49–0.50× after, measured alternately on the same quiet machine.',
        'What would remove the rest: decoding numbers from the bytes instead of from a string per line (no maintained package does it for CSV, and a hand-written one is not taken here); the shortest round-trip float32 text instead of 9 digits (a change of the results format); and for end to end, queueing chunks while the split still reads (the count would then come from the job record, and the split would finalise a job whose chunks all finished first). On 2 cores the emulator, the functions and the load generator share the CPU; on AWS, S3 and SQS run elsewhere and the score function scales out.',
        'End to end, a 1,000,000-row run split into phases (2026-11-26): the multipart upload into the emulator 1.4 s (the emulator buffers and hashes each part), then the split 0.9 s (it reads the whole object and cuts every chunk before the first message is sent, because each message carries the job\'s chunk count), then scoring; the baseline has the file on local disk from the start.',
        'RSS is not a leak: without a heap cap V8 sizes its heap to the work, so a longer job holds more garbage before collecting it. The live heap (what survives a full GC) stayed at 27–30 MB from 100k to 1M rows in a run with a capped heap; at 4M rows the peak is still under 512 MB.',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--worker')) await worker();
if (process.argv[2] === '--score-only') await scoreOnly();
