/**
 * Property-based fuzzing of everything npm start listens on: every API route, the local SageMaker
 * runtime and the S3 + SQS emulator, with hostile methods, paths, headers and bodies (test/fuzz/requests.ts). Each request
 * must get an answer within the time bound, never a 5xx, and a JSON error body naming the problem
 * when it is refused; the platform must stay up and its memory bounded. A fixed seed and a bounded
 * count here (FUZZ_RUNS, default 300); `npm run fuzz` runs 10,000.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { apiRequest, awsRequest, type FuzzRequest, sagemakerRequest } from '../fuzz/requests.ts';
import { type FuzzAnswer, send } from '../fuzz/run.ts';
import { type RunningPlatform, startPlatform } from '../helpers.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

let platform: RunningPlatform;
before(async () => {
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, ['--quiet']);
});
after(() => platform?.stop());

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
