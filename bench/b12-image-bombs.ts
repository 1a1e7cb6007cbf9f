/**
 * B12: does one process keep answering while it decodes decompression bombs? `npm start` (a child
 * process, as a user starts it) gets 20 concurrent requests, each one valid 5000 x 5000 black PNG
 * of about 73 KB (25 MP declared), to the image model; meanwhile an iris predict is timed every
 * 50 ms. Its resident memory is read before, and again after the bombs are answered and the
 * image workers have gone idle.
 *
 * The baseline is the same platform with IMAGE_WORKERS=0: every file decoded on the one thread
 * that answers everyone (what a Lambda function does, serving one request at a time). Talks only
 * to 127.0.0.1 and stops by itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blackPng } from '../test/support/png.ts';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { type Proc, startProcess } from './lib/proc.ts';
import { quantile, sortNumbers, summarize } from './lib/stats.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const IRIS = { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function irisMs(url: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${url}/v1/models/iris/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [IRIS] }),
  });
  await r.arrayBuffer();
  return performance.now() - t;
}

interface Run {
  readonly usualP50: number;
  readonly underP50: number;
  readonly underMax: number;
  readonly probes: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly statuses: string;
  readonly bombsMs: number;
}

async function measure(opts: BenchOptions, workers: number, bombs: number): Promise<Run> {
  let platform: Proc | undefined;
  try {
    platform = await startProcess(
      [join(ROOT, 'infra/local/start.ts'), '--port', '0', '--no-batch', '--no-sagemaker', '--quiet'],
      /infera is running at (http:\/\/\S+)/,
      {
        name: 'npm start',
        cwd: ROOT,
        env: { ...process.env, PORT: '', POWERTOOLS_LOG_LEVEL: 'CRITICAL', IMAGE_WORKERS: String(workers) },
      },
    );
    const url = platform.match[1] as string;
    const pid = platform.child.pid as number;
    const usual: number[] = [];
    for (let i = 0; i < 50; i++) usual.push(await irisMs(url));
    await sleep(1000);
    const rssBefore = rssMb(pid);
    opts.progress(`B12 (IMAGE_WORKERS=${workers}): ${bombs} bombs in flight, iris timed meanwhile`);
    const bomb = new Uint8Array(blackPng(5000));
    const started = performance.now();
    let inFlight = true;
    const answers = Promise.all(
      Array.from({ length: bombs }, () =>
        fetch(`${url}/v1/models/text-direction/predict`, {
          method: 'POST',
          headers: { 'content-type': 'image/png' },
          body: bomb,
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    ).finally(() => {
      inFlight = false;
    });
    const under: number[] = [];
    while (inFlight) {
      under.push(await irisMs(url));
      await sleep(50);
    }
    const statuses = await answers;
    const bombsMs = performance.now() - started;
    await sleep(4000); // the image workers' idle timeout, and a moment for the allocator
    const rssAfter = rssMb(pid);
    const sorted = sortNumbers(under);
    const counts = new Map<number, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    return {
      usualP50: quantile(sortNumbers(usual), 0.5),
      underP50: quantile(sorted, 0.5),
      underMax: sorted[sorted.length - 1] ?? Number.NaN,
      probes: under.length,
      rssBefore,
      rssAfter,
      statuses: [...counts].map(([s, n]) => `${n} × ${s}`).join(', '),
      bombsMs,
    };
  } finally {
    await platform?.stop();
  }
}

export async function b12(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const bombs = opts.quick ? 6 : 20;
  const pooled = await measure(opts, 1, bombs);
  const inline = await measure(opts, 0, bombs);
  const one = (x: number) => summarize([x]);
  const slower = (r: Run) => r.underMax - r.usualP50;
  const figures: Figure[] = [
    {
      label: `slowest iris predict while ${bombs} bombs decode, above its usual p50`,
      unit: 'ms',
      platform: one(slower(pooled)),
      baseline: one(slower(inline)),
      compare: 'absolute',
      value: one(slower(pooled)),
      target: { text: '≤ 100 ms', met: slower(pooled) <= 100 },
    },
    {
      label: 'RSS after the bombs, above where it started',
      unit: 'MB',
      platform: one(pooled.rssAfter - pooled.rssBefore),
      baseline: one(inline.rssAfter - inline.rssBefore),
      compare: 'absolute',
      value: one(pooled.rssAfter - pooled.rssBefore),
      target: { text: '≤ 100 MB', met: pooled.rssAfter - pooled.rssBefore <= 100 },
    },
  ];
  const line = (name: string, r: Run) =>
    `${name}: usual iris p50 ${r.usualP50.toFixed(1)} ms; under the bombs p50 ${r.underP50.toFixed(1)} ms, slowest ${r.underMax.toFixed(0)} ms over ${r.probes} probes; the bombs answered ${r.statuses} in ${(r.bombsMs / 1000).toFixed(1)} s; RSS ${r.rssBefore.toFixed(0)} → ${r.rssAfter.toFixed(0)} MB.`;
  return {
    id: 'B12',
    title: `an iris predict while ${bombs} decompression-bomb PNGs decode (\`npm start\`)`,
    baseline: 'the same platform with IMAGE_WORKERS=0 (every file decoded on the serving thread)',
    target: 'the slowest iris predict within 100 ms of its usual p50, and RSS back within 100 MB',
    figures,
    notes: [
      `Each bomb: a valid 5000 x 5000 black RGB PNG, ${blackPng(5000).length.toLocaleString('en-US')} bytes, as the raw body of POST /v1/models/text-direction/predict, all ${bombs} at once.`,
      line('IMAGE_WORKERS=1', pooled),
      line('IMAGE_WORKERS=0', inline),
    ],
  };
}
