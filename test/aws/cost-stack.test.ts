/**
 * `infera cost --stack` against moto_server's CloudWatch: metric data put with the real AWS CLI,
 * as the predict handler's EMF lines would land, then read back by the real CLI over the
 * CloudWatch wire protocol. moto computes no percentiles, so this also checks the stated fallback
 * to the average.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lambdaRoute } from '#core/cost/estimate.ts';
import { PRICES } from '#core/cost/prices.ts';
import { cli, run } from '../helpers.ts';
import { type Moto, requireTools, startMoto } from '../support/moto.ts';

let moto: Moto;

before(async () => {
  requireTools('moto_server', 'aws');
  moto = await startMoto('us-east-1');
});
after(async () => {
  await moto?.close();
});

async function putMetrics(data: unknown[]): Promise<void> {
  const r = await run(
    'aws',
    ['cloudwatch', 'put-metric-data', '--namespace', 'infera', '--metric-data', JSON.stringify(data)],
    moto.env,
  );
  assert.equal(r.code, 0, r.stderr);
}

describe('infera cost --stack', () => {
  it("prices each version from the stack's own CloudWatch figures, and says which had no traffic", async () => {
    const dims = [
      { Name: 'service', Value: 'infera-fraud-detector' },
      { Name: 'model', Value: 'fraud-detector' },
      { Name: 'version', Value: '1' },
    ];
    const now = new Date().toISOString();
    // Four requests of 3, 5, 7 and 9 ms carrying 20 predictions: 5 rows a request, 6 ms on average.
    await putMetrics([
      ...[3, 5, 7, 9].map((v) => ({
        MetricName: 'PredictLatency',
        Dimensions: dims,
        Value: v,
        Unit: 'Milliseconds',
        Timestamp: now,
      })),
      ...[5, 5, 5, 5].map((v) => ({
        MetricName: 'Predictions',
        Dimensions: dims,
        Value: v,
        Unit: 'Count',
        Timestamp: now,
      })),
    ]);
    const r = await cli(['cost', 'fraud-detector', '--stack', 'Infera', '--window', '1', '--json'], moto.env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.source, /CloudWatch, stack Infera, the last 1 h/);
    const [v1, v2] = out.versions;
    assert.equal(v1.version, '1');
    assert.ok(
      v1.measured.problems.some((p: string) => /4 requests, 20 predictions/.test(p)),
      v1.measured.problems,
    );
    assert.ok(
      v1.measured.problems.some((p: string) =>
        /no percentiles.*; the average stands for p50 and p99/.test(p),
      ),
    );
    assert.equal(v1.measured.single.rows, 5);
    // On Lambda the observed 6 ms is brought back to one vCPU (× 1024/1769) and priced at 1024 MB,
    // where it becomes 6 ms again.
    const lambda = v1.routes.batch1[0];
    assert.equal(lambda.route, 'Lambda x86_64 1024 MB');
    assert.ok(Math.abs(lambda.p50Ms - 6) < 1e-9, `p50 ${lambda.p50Ms}`);
    const expected = lambdaRoute(
      { rows: 5, p50Ms: 6 * (1024 / 1769), p99Ms: 6 * (1024 / 1769), requestBytes: 0, responseBytes: 0 },
      1024,
      'x86_64',
      PRICES,
      {
        cpuFactor: 1,
        utilization: 0.5,
      },
    );
    assert.ok(Math.abs(lambda.perMillion - expected.perMillion) < 1e-12);
    // 6 ms → billed 6 ms × 1 GB = $0.0000001 a request; requests $0.20 and API $1.00 a million
    // requests; per million predictions at 5 a request: ($0.1 + $0.2 + $1.0) / 5 = $0.26.
    assert.ok(Math.abs(lambda.perMillion - 0.26) < 1e-6, String(lambda.perMillion));
    assert.equal(v2.version, '2');
    assert.ok(
      v2.measured.problems.some((p: string) =>
        /no traffic in CloudWatch infera\/PredictLatency of Infera-fraud-detector, model fraud-detector, version 2/.test(
          p,
        ),
      ),
    );
    assert.deepEqual(v2.routes.batch1, []);
  });

  it("reads a shared model function's figures, and prices it at the largest memory of all models", async () => {
    const dims = [
      { Name: 'service', Value: 'infera-shared-models' },
      { Name: 'model', Value: 'iris' },
      { Name: 'version', Value: '1' },
    ];
    const now = new Date().toISOString();
    await putMetrics([
      { MetricName: 'PredictLatency', Dimensions: dims, Value: 2, Unit: 'Milliseconds', Timestamp: now },
      { MetricName: 'Predictions', Dimensions: dims, Value: 1, Unit: 'Count', Timestamp: now },
    ]);
    const args = ['cost', 'iris', '--stack', 'Big', '--window', '1', '--json'];
    const shared = await cli([...args, '--model-functions', 'shared'], moto.env);
    assert.equal(shared.code, 0, shared.stderr);
    const [v] = JSON.parse(shared.stdout).versions;
    assert.ok(
      v.measured.problems.some((p: string) => /1 requests?, 1 predictions?/.test(p)),
      v.measured.problems,
    );
    // The largest Lambda target among all the shipped models is 1024 MB.
    assert.equal(v.routes.batch1[0].route, 'Lambda x86_64 1024 MB');
    // Its own function, on the same stack, has no figures: the metrics are the shared function's.
    const own = await cli([...args, '--model-functions', 'per-model'], moto.env);
    assert.equal(own.code, 0, own.stderr);
    const [o] = JSON.parse(own.stdout).versions;
    assert.ok(
      o.measured.problems.some((p: string) =>
        /no traffic in CloudWatch infera\/PredictLatency of Big-iris/.test(p),
      ),
      o.measured.problems,
    );
    const bad = await cli([...args, '--model-functions', 'grouped'], moto.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--model-functions must be one of auto, per-model, shared, got 'grouped'/);
  });

  it('refuses flags that only mean something for a local measurement', async () => {
    const r = await cli(['cost', '--stack', 'Infera', '--cpu-factor', '2'], moto.env);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--cpu-factor is for a measurement here; with --stack the times are the stack's own/,
    );
    const w = await cli(['cost', '--window', '3']);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /--window goes with --stack <name>/);
  });
});
