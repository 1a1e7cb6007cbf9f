/**
 * The cost arithmetic against sums worked out by hand (in the comments), with the shipped price
 * table: us-east-1 list prices, Lambda $0.0000166667 per GB-second (x86_64), $0.20 per million
 * requests, HTTP API $1.00 per million, ml.c6i.xlarge $0.238 an hour with 4 vCPU, Serverless
 * $0.00002 per GB-second and $0.016 per GB of data, S3 $0.005 per 1,000 PUT/LIST and $0.0004 per
 * 1,000 GET, SQS $0.40 per million.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  batchRoute,
  lambdaRoute,
  sagemakerRoute,
  scaleToMemory,
  serverlessRoute,
} from '#core/cost/estimate.ts';
import { withOverrides } from '#core/cost/price-table.ts';
import { PRICES } from '#core/cost/prices.ts';
import { monthlyCost, recommend } from '#core/cost/recommend.ts';

const a = { cpuFactor: 1, utilization: 0.5 };
const near = (got: number, want: number, what = '', tolerance = 1e-9) =>
  assert.ok(Math.abs(got - want) <= tolerance * Math.max(1, Math.abs(want)), `${what} ${got} ≈ ${want}`);
/** A sum worked out by hand to 7 decimals. */
const byHand = (got: number, want: number) => near(got, want, 'by hand', 1e-7);
const t = (p50Ms: number, p99Ms: number, rows = 1) => ({
  rows,
  p50Ms,
  p99Ms,
  requestBytes: 200,
  responseBytes: 300,
});

describe('cost of a million predictions', () => {
  it('scales a local time by the vCPU share Lambda gives the memory size, and never speeds it up', () => {
    near(scaleToMemory(2, 1769, a), 2);
    near(scaleToMemory(2, 884.5, a), 4);
    near(scaleToMemory(2, 3538, a), 2);
    near(scaleToMemory(2, 1769, { ...a, cpuFactor: 1.5 }), 3);
  });

  it('prices Lambda as duration rounded up to the ms, plus requests and HTTP API requests', () => {
    // 2.3 ms × 1769/1024 = 3.973 ms, billed 4 ms: 0.004 s × 1 GB × $0.0000166667 = $0.0000000666668
    // a request, $0.0666668 a million; + $0.20 requests + $1.00 HTTP API = $1.2666668.
    const r = lambdaRoute(t(2.3, 5), 1024, 'x86_64', PRICES, a);
    near(r.perMillion, 1.2666668, 'total');
    near(r.lines[0]?.usd ?? 0, 0.0666668, 'duration');
    near(r.p99Ms ?? 0, 5 * (1769 / 1024), 'p99');
    assert.equal(r.idleMonthly, 0);
    assert.match(r.lines[0]?.what ?? '', /4 ms × 1024 MB/);
  });

  it('prices arm64 at its own GB-second rate and counts a batch of rows as that many predictions', () => {
    // 10 rows per request, 20 ms at 1769 MB, arm64: 0.020 s × (1769/1024) GB × $0.0000133334 =
    // $0.000000460700 a request; per million rows ÷ 10: $0.0460700; requests $0.02, API $0.10.
    const r = lambdaRoute(t(20, 30, 10), 1769, 'arm64', PRICES, a);
    near(r.perMillion, ((0.02 * (1769 / 1024) * 0.0000133334) / 10) * 1e6 + 0.02 + 0.1, 'total');
    byHand(r.perMillion, 0.1660679);
  });

  it('prices a real-time endpoint at the stated utilization, plus the predict function waiting for it', () => {
    // 4 vCPU × 3,600,000 / 4 ms × 50% = 1,800,000 requests an hour; $0.238 / 1.8M = $0.132222 a
    // million; the predict function waits 4 ms at 1024 MB: $0.0666668 + $0.20 + $1.00. Total
    // $1.398889. Idle: $0.238 × 730 h = $173.74 a month.
    const r = sagemakerRoute(t(4, 9), 'ml.c6i.xlarge', 1, 1024, PRICES, a);
    near(r.perMillion, 0.238 / 1.8 + 1.2666668, 'total');
    near(r.idleMonthly, 173.74, 'idle');
    assert.equal(r.coldStarts, false);
  });

  it('prices a GPU instance at GPU time, one request at a time on its GPU, and says which time it used', () => {
    const gpu = { rows: 1, p50Ms: 2, p99Ms: 3, source: 'test:gpu on NVIDIA A10G, 2026-12-07' };
    // 1 GPU × 3,600,000 / 2 ms × 50% = 900,000 requests an hour; $1.408 / 0.9M = $1.564444 a
    // million; the predict function waits 2 ms at 1024 MB: $0.0333334 + $0.20 + $1.00.
    const r = sagemakerRoute(t(40, 90), 'ml.g5.xlarge', 1, 1024, PRICES, a, gpu);
    byHand(r.perMillion, 1.408 / 0.9 + 1.2333334);
    assert.equal(r.p50Ms, 2);
    assert.equal(r.timedOn, 'test:gpu on NVIDIA A10G, 2026-12-07');
    assert.match(r.lines[0]?.what ?? '', /of its GPU × 2.00 ms per 1-row call \(test:gpu on NVIDIA A10G/);
    // Without GPU time: the CPU time on 4 vCPU, and the line says so.
    const cpu = sagemakerRoute(t(40, 90), 'ml.g5.xlarge', 1, 1024, PRICES, a);
    assert.equal(cpu.timedOn, 'CPU (no accelerator time)');
    assert.match(
      cpu.lines[0]?.what ?? '',
      /CPU time: no time on its accelerator yet; npm run test:gpu measures one/,
    );
    // A CPU instance ignores a GPU time.
    assert.equal(sagemakerRoute(t(4, 9), 'ml.c6i.xlarge', 1, 1024, PRICES, a, gpu).timedOn, 'CPU');
  });

  it('names the fix when an instance type has no price', () => {
    const r = sagemakerRoute(t(4, 9), 'ml.p5.48xlarge', 1, 1024, PRICES, a);
    assert.ok(Number.isNaN(r.perMillion));
    assert.match(r.unpriced ?? '', /add sagemaker\.instances\["ml\.p5\.48xlarge"\] to a --prices file/);
  });

  it('prices Serverless as memory-seconds and data, plus the predict function waiting for it', () => {
    // 2048 MB is more than one vCPU's share: 10 ms stays 10 ms. 0.010 s × 2 GB × $0.00002 =
    // $0.40 a million; 500 bytes / 2^30 × $0.016 = $0.0074506 a million; the function waits 10 ms
    // at 1024 MB: $0.166667 + $0.20 + $1.00. Total $1.7741176.
    const r = serverlessRoute(t(10, 20), 2048, 1024, PRICES, a);
    near(r.perMillion, 0.4 + (500 / 2 ** 30) * 0.016 * 1e6 + 0.166667 + 1.2, 'total');
    byHand(r.perMillion, 1.7741176);
  });

  it("prices a million batch rows as both functions' duration and the S3 and SQS requests of 200 chunks", () => {
    // Score: 0.006 ms × 1M rows = 6 s × 3 GB × $0.0000166667 = $0.000300001. Split: 0.001 ms ×
    // 1769/1024 × 1M = 1.72754 s × 1 GB = $0.0000287923. 20 invocations × $0.0000002 = $0.000004.
    // S3: 200 × ($0.0000004 + 4 × $0.000005) = $0.00408. SQS: 200 × 0.3 × $0.0000004 = $0.000024.
    const r = batchRoute(0.006, 0.001, 5000, 3072, 1024, PRICES, a);
    near(r.perMillion, 0.000300001 + 1.7275390625 * 0.0000166667 + 0.000004 + 0.00408 + 0.000024, 'total');
    byHand(r.perMillion, 0.0044368);
  });
});

describe('the recommended route', () => {
  const lambda = lambdaRoute(t(2.3, 5), 1024, 'x86_64', PRICES, a);
  const endpoint = sagemakerRoute(t(4, 9), 'ml.c6i.xlarge', 1, 1024, PRICES, a);
  const serverless = serverlessRoute(t(10, 20), 2048, 1024, PRICES, a);
  const routes = [lambda, endpoint, serverless];
  const o = { coldStartMs: 1000, volumePerMonth: 1e6 };

  it('is the cheapest a month at the volume when no budget is set', () => {
    const r = recommend(routes, o);
    assert.equal(r?.route, lambda);
    near(r?.monthly ?? 0, 1.2666668);
    assert.match(r?.reason ?? '', /no latencyBudgetMs is set, so it is the cheapest of 3 routes/);
  });

  it('never charges an always-on endpoint less than its idle cost, whatever the volume', () => {
    near(monthlyCost(endpoint, 1e6), 173.74);
    near(monthlyCost(endpoint, 1e9), (0.238 / 1.8 + 1.2666668) * 1000);
  });

  it('skips routes that can cold start when the budget cannot cover a cold start', () => {
    const r = recommend(routes, { ...o, latencyBudgetMs: 50 });
    assert.equal(r?.route, endpoint);
    assert.match(
      r?.reason ?? '',
      /1 of 3 routes whose p99 \(9\.0 ms here\) fits the 50 ms budget without a cold start/,
    );
  });

  it('takes the fastest route that never cold starts when none meets the budget, and says so', () => {
    const r = recommend(routes, { ...o, latencyBudgetMs: 5 });
    assert.equal(r?.route, endpoint);
    assert.match(r?.reason ?? '', /no route meets the 5\.0 ms budget/);
  });

  it('leaves batch and unpriced routes out', () => {
    const unpriced = sagemakerRoute(t(1, 1), 'ml.p5.48xlarge', 1, 1024, PRICES, a);
    const batch = batchRoute(0.006, 0.001, 5000, 3072, 1024, PRICES, a);
    assert.equal(recommend([unpriced, batch], o), undefined);
  });
});

describe('the price table', () => {
  it('takes an override file of any subset and keeps the rest', () => {
    const p = withOverrides(PRICES, {
      region: 'eu-west-1',
      lambda: { gbSecondX86: { usd: 0.00002 } },
      sagemaker: {
        instances: {
          'ml.m5.large': {
            usd: 0.115,
            per: 'instance-hour',
            source: 'https://example.com/p',
            vcpus: 2,
            accelerator: 'none',
          },
        },
      },
    });
    assert.equal(p.region, 'eu-west-1');
    assert.equal(p.lambda.gbSecondX86.usd, 0.00002);
    assert.equal(p.lambda.gbSecondX86.source, PRICES.lambda.gbSecondX86.source);
    assert.equal(p.sagemaker.instances['ml.m5.large']?.vcpus, 2);
    assert.equal(p.sagemaker.instances['ml.c6i.xlarge']?.usd, 0.238);
  });

  it('refuses an override that is not a price, naming the field', () => {
    assert.throws(
      () => withOverrides(PRICES, { lambda: { request: { usd: -1 } } }),
      /lambda\.request\.usd: /,
    );
    assert.throws(
      () => withOverrides(PRICES, { sagemaker: { instances: { 'ml.x.y': { usd: 1 } } } }),
      /vcpus|source|per/,
    );
  });

  it('gives every number a source, a unit, the region and the date', () => {
    const prices: { usd: number; per: string; source: string }[] = [];
    const walk = (o: unknown) => {
      if (o && typeof o === 'object') {
        if ('usd' in o) prices.push(o as never);
        else for (const v of Object.values(o)) walk(v);
      }
    };
    walk(PRICES);
    assert.ok(prices.length >= 14);
    for (const p of prices) assert.match(p.source, /^https:\/\/aws\.amazon\.com\//);
    assert.match(PRICES.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(PRICES.region, 'us-east-1');
  });
});
