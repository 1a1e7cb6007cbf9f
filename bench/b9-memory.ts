/**
 * B9: does `npm start` give memory back? The platform (a child process, as a user starts it) gets
 * rounds of hostile traffic: request bodies up to the 5 MB limit (a million-number v2 tensor,
 * 60,000-row predicts, junk "images", megabytes of text) and fuzzed requests from the fuzz suite,
 * 8 connections at a time. Its resident memory (VmRSS from /proc) is read after each round and a
 * pause. Then two batch jobs run on its on-disk state, and the memory is read after each.
 *
 * The baseline is the same platform with `INFERA_MEMORY_TUNING=off`: no cap on V8's young
 * generation and glibc's default malloc thresholds (infra/local/memory.ts). Talks only to 127.0.0.1.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { type UploadTicket, uploadToTicket } from '../cli/upload.ts';
import { makeBatchFile } from '../scripts/make-batch-file.ts';
import { apiRequest } from '../test/fuzz/requests.ts';
import { send } from '../test/fuzz/run.ts';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { type Proc, startProcess } from './lib/proc.ts';
import { summarize } from './lib/stats.ts';

const ROOT = new URL('..', import.meta.url).pathname;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The large bodies of a hostile round: each near the 5 MB body limit, most of them refused. */
function bigBodies(scale: number): { path: string; type: string; body: Buffer }[] {
  const iris = { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 };
  const n = Math.round(1_000_000 * scale);
  return [
    {
      path: '/v2/models/iris/infer',
      type: 'application/json',
      body: Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [n / 4, 4], data: Array(n).fill(1.5) }] })),
    },
    {
      path: '/v1/models/iris/predict',
      type: 'application/json',
      body: Buffer.from(JSON.stringify({ instances: Array(Math.round(60_000 * scale)).fill(iris) })),
    },
    { path: '/v1/models/dominant-color/predict', type: 'image/png', body: Buffer.alloc(Math.round(4_900_000 * scale), 7) },
    { path: '/v1/models/ticket-router/predict', type: 'text/plain', body: Buffer.from('word '.repeat(Math.round(900_000 * scale))) },
    {
      path: '/v1/models/fraud-detector-xl/predict',
      type: 'application/json',
      body: Buffer.from(JSON.stringify({ instances: Array(Math.round(20_000 * scale)).fill({ amount: 1 }) })),
    },
  ];
}

async function hostileRound(url: string, round: number, big: number, fuzzed: number): Promise<void> {
  const bodies = bigBodies(1);
  const requests = [
    ...Array.from({ length: big }, (_, i) => {
      const b = bodies[i % bodies.length] as (typeof bodies)[number];
      return { target: 'api' as const, method: 'POST', path: b.path, headers: { 'content-type': b.type }, body: b.body };
    }),
    ...fc.sample(apiRequest, { numRuns: fuzzed, seed: 9000 + round }),
  ];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++] as (typeof requests)[number];
      const a = await send(url, r, 60_000);
      if (a.status >= 500) throw new Error(`B9: ${r.method} ${r.path} answered ${a.status}: ${a.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function batchJob(url: string, file: string): Promise<void> {
  const { size } = statSync(file);
  const post = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fraud-detector', bytes: size }),
  });
  const t = (await post.json()) as UploadTicket;
  if (!post.ok) throw new Error(`B9: POST /v1/batch answered ${post.status}: ${JSON.stringify(t)}`);
  const parts = await uploadToTicket(t, file, size, 'text/csv');
  if (t.multipart) {
    await fetch(`${url}/v1/batch/${t.jobId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: t.key, uploadId: t.multipart.uploadId, parts }),
    });
  }
  for (;;) {
    const s = (await (await fetch(`${url}/v1/batch/${t.jobId}`)).json()) as { status: string };
    if (s.status === 'succeeded') return;
    if (s.status === 'failed' || s.status === 'partial') throw new Error(`B9: the batch job ended ${s.status}`);
    await sleep(250);
  }
}

interface Readings {
  readonly start: number;
  readonly rounds: number[];
  readonly jobs: number[];
}

async function measure(opts: BenchOptions, tuned: boolean, file: string | undefined): Promise<Readings> {
  const rounds = opts.quick ? 1 : 3;
  const state = await mkdtemp(join(tmpdir(), 'infera-b9-state-'));
  let platform: Proc | undefined;
  try {
    platform = await startProcess(
      [join(ROOT, 'infra/local/start.ts'), '--port', '0', '--aws-port', '0', '--sagemaker-port', '0', '--quiet', '--state', state],
      /infera is running at (http:\/\/\S+)/,
      {
        name: 'npm start',
        cwd: ROOT,
        env: { ...process.env, PORT: '', POWERTOOLS_LOG_LEVEL: 'CRITICAL', INFERA_MEMORY_TUNING: tuned ? '' : 'off' },
      },
    );
    const url = platform.match[1] as string;
    const pid = platform.child.pid as number;
    await sleep(2000);
    const out: Readings = { start: rssMb(pid), rounds: [], jobs: [] };
    for (let r = 0; r < rounds; r++) {
      opts.progress(`B9 (${tuned ? 'tuned' : 'untuned'}): hostile round ${r + 1} of ${rounds}`);
      await hostileRound(url, r, opts.quick ? 10 : 200, opts.quick ? 50 : 500);
      await sleep(3000);
      out.rounds.push(rssMb(pid));
    }
    if (file) {
      for (let j = 0; j < 2; j++) {
        opts.progress(`B9 (${tuned ? 'tuned' : 'untuned'}): batch job ${j + 1} of 2`);
        await batchJob(url, file);
        await sleep(3000);
        out.jobs.push(rssMb(pid));
      }
    }
    return out;
  } finally {
    await platform?.stop();
    await rm(state, { recursive: true, force: true });
  }
}

export async function b9(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const rows = opts.quick ? 2_000 : 200_000;
  const dir = await mkdtemp(join(tmpdir(), 'infera-b9-'));
  try {
    const path = join(dir, 'tx.csv');
    await makeBatchFile(path, rows, 'csv', 4);
    const tuned = await measure(opts, true, path);
    const untuned = await measure(opts, false, path);
    const last = (xs: number[]) => xs[xs.length - 1] as number;
    const one = (x: number) => summarize([x]);
    const figure = (label: string, platform: number, baseline: number, limit: number): Figure => ({
      label,
      unit: 'MB',
      platform: one(platform),
      baseline: one(baseline),
      compare: 'absolute',
      value: one(platform),
      target: { text: `≤ ${limit} MB`, met: platform <= limit },
    });
    return {
      id: 'B9',
      title: 'memory given back after hostile traffic and batch jobs (`npm start`)',
      baseline: 'the same platform with INFERA_MEMORY_TUNING=off (V8 and glibc defaults)',
      target: 'resident memory ≤ 100 MB above its idle size after hostile rounds, and flat from round to round and job to job',
      figures: [
        figure('RSS growth after the hostile rounds', last(tuned.rounds) - tuned.start, last(untuned.rounds) - untuned.start, 100),
        figure(
          'RSS change from the first hostile round to the last',
          last(tuned.rounds) - (tuned.rounds[0] as number),
          last(untuned.rounds) - (untuned.rounds[0] as number),
          20,
        ),
        figure(
          `RSS change from the first ${rows.toLocaleString('en-US')}-row batch job to the second`,
          (tuned.jobs[1] as number) - (tuned.jobs[0] as number),
          (untuned.jobs[1] as number) - (untuned.jobs[0] as number),
          20,
        ),
      ],
      notes: [
        `Each hostile round: ${opts.quick ? 10 : 200} bodies near the 5 MB limit (a 1,000,000-number v2 tensor, 60,000-row predicts, junk image/png, 4.5 MB of text, 20,000 rows for the SageMaker route) and ${opts.quick ? 50 : 500} fuzzed requests (test/fuzz/requests.ts), 8 at a time; RSS read 3 s after each round. No answer was a 5xx.`,
        `Idle RSS: ${tuned.start.toFixed(0)} MB tuned, ${untuned.start.toFixed(0)} MB untuned. After each round (tuned): ${tuned.rounds.map((x) => x.toFixed(0)).join(', ')} MB; untuned: ${untuned.rounds.map((x) => x.toFixed(0)).join(', ')} MB. After each batch job (tuned): ${tuned.jobs.map((x) => x.toFixed(0)).join(', ')} MB; untuned: ${untuned.jobs.map((x) => x.toFixed(0)).join(', ')} MB.`,
        'Batch state is on disk (--state), as npm start keeps it by default; with --ephemeral the emulator holds each job’s input and results in memory by design.',
      ],
      limits: [
        'Not pinned down yet. On 2026-12-07 the growth after the hostile rounds was 137–141 MB in runs of `--only B9` at commit 3cafb00 (before that day\'s work), at 0dc9483 and at d88e812 alike, against 81 MB in the run of 2026-11-26; the tuned rounds move by tens of MB within a run (273, 272, 306 MB after each round in one of them). So it came with changes between those two days (bring-your-own models, processors and NaN handling landed then) or with the host. Next: heap snapshots of npm start after each round, to tell the JavaScript heap from native memory (onnxruntime, glibc).',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
