/**
 * Property-based fuzzing of everything npm start listens on: every API route, the local SageMaker
 * runtime and the S3 + SQS emulator, with hostile methods, paths, headers and bodies (test/fuzz/requests.ts). Each request
 * must get an answer within the time bound, never a 5xx, and a JSON error body naming the problem
 * when it is refused; the platform must stay up and its memory bounded. A fixed seed and a bounded
 * count here (FUZZ_RUNS, default 300); `npm run fuzz` runs 10,000.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  apiRequest,
  awsRequest,
  type FuzzRequest,
  fileRequest,
  s3KeyRequest,
  sagemakerRequest,
} from '../fuzz/requests.ts';
import { type FuzzAnswer, send } from '../fuzz/run.ts';
import { type RunningPlatform, startPlatform } from '../helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

/** `npm run fuzz` sets FUZZ_RUNS and holds the platform to its stall bound; npm test reports it. */
const STRICT = process.env.FUZZ_RUNS !== undefined;
/** The platform's state lives two folders down, so anything written beside it shows. */
const root = mkdtempSync(join(tmpdir(), 'infera-fuzz-'));
const state = join(root, 'nested', 'state');
mkdirSync(state, { recursive: true });

let platform: RunningPlatform;
before(async () => {
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, ['--quiet', '--state', state]);
});
after(async () => {
  await platform?.stop();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Runs `work` while an iris predict is timed, one after another, every 20 ms; returns the slowest.
 * A stall of the one thread that answers everyone shows here.
 */
async function probed(work: () => Promise<void>): Promise<number> {
  let running = true;
  let slowest = 0;
  const probe = (async () => {
    while (running) {
      const t = performance.now();
      await fetch(`${platform.url}/v1/models/iris/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"instances":[{"sepal_length_cm":5.1,"sepal_width_cm":3.5,"petal_length_cm":1.4,"petal_width_cm":0.2}]}',
      }).then((r) => r.arrayBuffer());
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await probe;
  }
  return slowest;
}

/** No hostile request may be a 5xx: a 2xx, or a 4xx that refuses it. */
function assertNot5xx(r: FuzzRequest, a: FuzzAnswer): void {
  assert.ok(
    a.status >= 200 && a.status < 500,
    `${r.method} ${r.path} ${JSON.stringify(r.headers)} answered ${a.status}: ${a.body.slice(0, 300)}`,
  );
}

/** Resident memory of the platform process, from /proc. */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(line?.[1] ?? 0) / 1024;
}

describe(`fuzzing npm start (${RUNS} requests per listener, seed ${SEED})`, () => {
  it('answers every hostile API request with a 4xx that names the problem, or a 2xx; never a 5xx', async () => {
    const before = rssMb(platform.proc.pid as number);
    await fc.assert(
      fc.asyncProperty(apiRequest, async (r) => {
        const a = await send(platform.url, r);
        assertNot5xx(r, a);
        if (a.status >= 400 && r.method !== 'HEAD') {
          const b = JSON.parse(a.body) as { error?: unknown };
          assert.equal(
            typeof b.error,
            'string',
            `${r.method} ${r.path}: ${a.status} without an error message`,
          );
          assert.ok((b.error as string).length > 10);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const health = await fetch(`${platform.url}/v2/health/live`);
    assert.equal(health.status, 200, 'the platform is still up');
    const grown = rssMb(platform.proc.pid as number) - before;
    assert.ok(grown < 100, `memory grew ${grown.toFixed(0)} MB over the run`);
  });

  it('answers every hostile request to the local SageMaker runtime without a 5xx or a crash', async () => {
    const runtime = platform.sagemakerEndpoint as string;
    await fc.assert(
      fc.asyncProperty(sagemakerRequest, async (r) => {
        const a = await send(runtime, r);
        assertNot5xx(r, a);
        if (a.status >= 400) assert.ok(a.body.length > 0, `${r.path}: ${a.status} with an empty body`);
      }),
      { numRuns: RUNS, seed: SEED + 1, endOnFailure: true },
    );
    const alive = await send(runtime, { target: 'sagemaker', method: 'GET', path: '/', headers: {} });
    assert.ok(alive.status > 0);
  });

  it('answers hostile PNGs, JPEGs and text with a 2xx or a 4xx, never stalling the platform', async (t) => {
    const slowest = await probed(() =>
      fc.assert(
        fc.asyncProperty(fileRequest, async (r) => {
          const a = await send(platform.url, r);
          assertNot5xx(r, a);
          if (a.status >= 400)
            assert.equal(typeof (JSON.parse(a.body) as { error?: unknown }).error, 'string');
        }),
        { numRuns: RUNS, seed: SEED + 3, endOnFailure: true },
      ),
    );
    t.diagnostic(`slowest concurrent iris predict: ${slowest.toFixed(0)} ms`);
    if (STRICT) assert.ok(slowest < 1000, `a concurrent predict waited ${slowest.toFixed(0)} ms`);
  });

  it('keeps every path-like S3 key inside the state folder', async () => {
    const aws = platform.awsEndpoint as string;
    const beside = () => readdirSync(root).concat(readdirSync(join(root, 'nested')));
    const before = beside();
    await fc.assert(
      fc.asyncProperty(s3KeyRequest, async (r) => {
        const a = await send(aws, r);
        assertNot5xx(r, a);
      }),
      { numRuns: RUNS, seed: SEED + 4, endOnFailure: true },
    );
    assert.deepEqual(beside(), before, 'nothing was written beside the state folder');
  });

  it('answers every hostile request to the S3 + SQS emulator without a 5xx or a crash', async () => {
    const aws = platform.awsEndpoint as string;
    await fc.assert(
      fc.asyncProperty(awsRequest, async (r) => {
        const a = await send(aws, r);
        assertNot5xx(r, a);
      }),
      { numRuns: RUNS, seed: SEED + 2, endOnFailure: true },
    );
    const health = await fetch(`${platform.url}/v2/health/live`);
    assert.equal(health.status, 200, 'the platform is still up');
  });
});
