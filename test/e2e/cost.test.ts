/**
 * `infera cost` as a user runs it: the real predict handler measured on every shipped model's
 * golden fixtures, the routes priced, a recommendation per version, every assumption printed; and
 * the JSON figures recomputed here from the measured times with the same arithmetic.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lambdaRoute, sagemakerRoute } from '#core/cost/estimate.ts';
import { PRICES } from '#core/cost/prices.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { cli, copyModels, MODELS } from '../helpers.ts';
import { modelsWithGpuScorer } from '../support/gpu-models.ts';

const registry = await ModelRegistry.load(MODELS);

describe('infera cost', () => {
  it('prints every route, a recommendation and the assumptions for every shipped model version', async () => {
    const r = await cli(['cost', '--calls', '20', '--batch', '4']);
    assert.equal(r.code, 0, r.stderr);
    for (const e of registry.list()) {
      for (const v of e.versions) {
        const at = r.stdout.indexOf(`\n${e.name} v${v.version}`);
        assert.ok(at >= 0, `${e.name} v${v.version} is in the output`);
        const block = r.stdout.slice(at, r.stdout.indexOf('\n\n', at + 1));
        for (const route of [
          'Lambda x86_64',
          'Lambda arm64',
          'SageMaker ml.',
          'SageMaker Serverless',
          'batch, 5,000-row chunks',
        ])
          assert.ok(block.includes(route), `${e.name} v${v.version}: ${route}`);
        assert.match(
          block,
          /recommended \(at 1 row a request\): .+: \$[\d.,]+ a month at 1,000,000 predictions; /,
        );
        assert.doesNotMatch(block, /note: /, `${e.name} v${v.version} measured without problems`);
      }
    }
    assert.ok(r.stdout.includes('text-direction v1'), 'the PaddleOCR text-direction classifier is priced');
    assert.match(r.stdout, /Assumptions \(these figures are estimates\):/);
    assert.match(r.stdout, /one vCPU at 1769 MB/);
    assert.match(r.stdout, /Prices: us-east-1 list prices of \d{4}-\d{2}-\d{2}/);
    assert.match(r.stdout, /Idle cost of the deployment as configured/);
  });

  it('gives JSON whose figures follow from the measured times', async () => {
    const r = await cli([
      'cost',
      'fraud-detector',
      '--version',
      '1',
      '--calls',
      '20',
      '--json',
      '--utilization',
      '0.25',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.versions.length, 1);
    const v = out.versions[0];
    assert.equal(v.model, 'fraud-detector');
    assert.equal(v.version, '1');
    const a = { cpuFactor: 1, utilization: 0.25 };
    const t = v.measured.single;
    assert.ok(t.p50Ms > 0 && t.p99Ms >= t.p50Ms && t.requestBytes > 0 && t.responseBytes > 0);
    const lambda = lambdaRoute(t, 1024, 'x86_64', PRICES, a);
    assert.equal(v.routes.batch1[0].route, 'Lambda x86_64 1024 MB');
    assert.equal(v.routes.batch1[0].perMillion, lambda.perMillion);
    const endpoint = sagemakerRoute(t, 'ml.c6i.xlarge', 1, 1024, PRICES, a);
    assert.equal(v.routes.batch1[2].perMillion, endpoint.perMillion);
    assert.equal(v.routes.batchN[0].route, 'Lambda x86_64 1024 MB');
    assert.ok(v.routes.batch.perMillion > 0);
    assert.match(v.recommendation.reason, /no latencyBudgetMs is set/);
    assert.ok(out.assumptions.some((s: string) => s.includes('25% busy')));
  });

  it('takes a price file that overrides part of the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-cost-'));
    const file = join(dir, 'prices.json');
    await writeFile(
      file,
      JSON.stringify({ region: 'eu-west-1', apiGateway: { httpRequest: { usd: 0.000002 } } }),
    );
    const r = await cli(['cost', 'iris', '--calls', '10', '--json', '--prices', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.prices.region, 'eu-west-1');
    const api = out.versions[0].routes.batch1[0].lines.find(
      (l: { what: string }) => l.what === 'HTTP API requests',
    );
    assert.ok(Math.abs(api.usd - 2) < 1e-9, `HTTP API at $2.00 a million, got ${api.usd}`);
  });

  it('refuses bad input before measuring anything, naming the field and the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-cost-'));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ lambda: { request: { usd: 'cheap' } } }));
    const cases: [string[], number, RegExp][] = [
      [['cost', '--prices', bad], 1, /lambda\.request\.usd: /],
      [['cost', '--prices', join(dir, 'missing.json')], 1, /Cannot read the price file/],
      [['cost', '--utilization', '2'], 2, /--utilization must be a number from 0\.01 to 1, got '2'/],
      [['cost', '--calls', 'lots'], 2, /--calls must be a whole number/],
      [['cost', 'no-such-model'], 2, /No model 'no-such-model'[\s\S]*Models: /],
      [['cost', 'iris', '--version', '9'], 2, /Versions of iris: 1/],
      [['cost', '--version', '1'], 2, /--version needs a model/],
      [['cost', '--bogus'], 2, /Unknown option '--bogus'[\s\S]*See: infera cost --help/],
      [
        ['cost', '--models', join(dir, 'no-models')],
        1,
        /cannot read the models directory[\s\S]*Point --models/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  it('prices a GPU route at the GPU time of a test:gpu report, and at CPU time, saying so, without one', async () => {
    const models = modelsWithGpuScorer();
    after(() => rm(models, { recursive: true, force: true }));
    const report = join(models, 'gpu-check.json');
    const timing = (p50Ms: number) => ({ calls: 200, p50Ms, p99Ms: p50Ms * 1.5 });
    await writeFile(
      report,
      JSON.stringify({
        model: 'gpu-scorer',
        version: '1',
        gpu: 'NVIDIA A10G, driver 550.127.05',
        provider: 'cuda',
        mode: 'image',
        placement: { CUDAExecutionProvider: 14, CPUExecutionProvider: 2 },
        tolerance: 0.001,
        maxAbsDiff: 0.00002,
        latency: { cpu: { 1: timing(2), 64: timing(6) }, checked: { 1: timing(0.9), 64: timing(1.2) } },
        measuredAt: '2026-12-07T10:00:00.000Z',
        command: 'npm run test:gpu -- --image',
      }),
    );
    const args = ['cost', 'gpu-scorer', '--models', models, '--calls', '20', '--json'];
    const withGpu = await cli([...args, '--gpu-report', report]);
    assert.equal(withGpu.code, 0, withGpu.stderr);
    type Out = { versions: { routes: { batch1: { route: string; p50Ms: number; timedOn?: string }[] } }[] };
    const gpuRoute = (JSON.parse(withGpu.stdout) as Out).versions[0]?.routes.batch1.find((r) =>
      r.route.startsWith('SageMaker ml.g5'),
    );
    assert.equal(gpuRoute?.p50Ms, 0.9);
    assert.equal(gpuRoute?.timedOn, 'test:gpu on NVIDIA A10G, driver 550.127.05, 2026-12-07');

    const without = await cli(['cost', 'gpu-scorer', '--models', models, '--calls', '20']);
    assert.equal(without.code, 0, without.stderr);
    assert.match(
      without.stdout,
      /SageMaker ml\.g5\.xlarge ×1: priced at CPU time; no GPU time for this version \(npm run test:gpu/,
    );

    const missing = await cli([...args, '--gpu-report', join(models, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No test:gpu report at .*nope\.json/);
  });

  it('prices the other versions and says what to add for one without golden fixtures, never a stack trace', async () => {
    const models = await copyModels();
    after(() => rm(models, { recursive: true, force: true }));
    await rm(join(models, 'iris', '1', 'fixtures'), { recursive: true });
    const r = await cli(['cost', 'iris', '--models', models, '--calls', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /iris v1: fixtures\/golden\.json is missing; infera cost times the handler on those inputs/,
    );
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /ENOENT|at async/);
  });

  it('explains itself with --help', async () => {
    const r = await cli(['cost', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: infera cost \[model\]/);
    assert.match(r.stdout, /--prices <file>/);
  });
});
