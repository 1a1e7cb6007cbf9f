/**
 * `infera init --sample` on three ONNX files from outside the repository (a tabular classifier
 * given a CSV with an id and a text label column, an image model given a folder of PNGs, a tensor
 * model with a scalar input given JSON Lines), then what a new user does next: npm start serves
 * them, the golden fixtures pass the pre-traffic check, npm run traffic sends each of them traffic
 * the dashboard compares with training, and infera cost prices them.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode as encodePng } from 'fast-png';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { checkGolden, goldenSchema } from '#core/model/golden.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { rng } from '../../scripts/lib/ml.ts';
import { GraphBuilder } from '../../scripts/lib/onnx.ts';
import { cli, MODELS, type RunningPlatform, run, startPlatform } from '../helpers.ts';
import { launchBrowser } from '../support/browser.ts';

let work: string;
let models: string;
const rand = rng(7);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'infera-init-sample-'));
  models = join(work, 'models');
  // A tabular classifier: iris's graph, one FP32 input [N, 4]. Its CSV has an id and the label.
  const lines = ['flower_id,sepal_length,sepal_width,petal_length,petal_width,species'];
  for (let i = 0; i < 60; i++) {
    const kind = i % 3;
    const petal = [1.4, 4.3, 5.6][kind] as number;
    lines.push(
      [
        `f${i}`,
        5 + rand(),
        3 + rand() / 2,
        (petal + rand() / 2).toFixed(2),
        (petal / 3).toFixed(2),
        `kind${kind}`,
      ].join(','),
    );
  }
  await writeFile(join(work, 'flowers.csv'), `${lines.join('\n')}\n`);
  await writeFile(join(work, 'flowers.txt'), 'setosa\nversicolor\nvirginica\n');
  // An image model: [N, 3, 8, 8] -> the softmax of the channel means, and a folder of PNGs.
  const img = new GraphBuilder();
  const means = img.op('ReduceMean', [img.input('pixels', 'float32', ['N', 3, 8, 8])], {
    axes: [2, 3],
    keepdims: 0,
  });
  img.op('Softmax', [means], { axis: 1 }, 'scores');
  img.output('scores', 'float32', ['N', 3]);
  await writeFile(join(work, 'tint.onnx'), img.build({ name: 'tint', doc: 'channel means' }));
  await writeFile(join(work, 'tint.txt'), 'red\ngreen\nblue\n');
  await mkdir(join(work, 'photos'));
  for (let i = 0; i < 6; i++) {
    const data = new Uint8Array(10 * 12 * 3).map(
      (_, k) => (k % 3 === i % 3 ? 200 : 30) + Math.floor(rand() * 40),
    );
    await writeFile(
      join(work, 'photos', `p${i}.png`),
      encodePng({ width: 10, height: 12, data, channels: 3, depth: 8 }),
    );
  }
  // A tensor model with a scalar input, as Silero VAD's sr, and JSON Lines of instances.
  const g = new GraphBuilder();
  const sr = g.op('Cast', [g.input('sr', 'int64', [])], { to: 1 });
  g.op('Mul', [g.input('audio', 'float32', ['batch', 'samples']), sr], {}, 'out');
  g.output('out', 'float32', ['batch', 'samples']);
  await writeFile(join(work, 'gain.onnx'), g.build({ name: 'gain', doc: 'scales by a scalar' }));
  const jsonl = Array.from({ length: 40 }, () =>
    JSON.stringify({ audio: Array.from({ length: 6 }, () => Number((rand() - 0.5).toFixed(3))), sr: 2 }),
  );
  await writeFile(join(work, 'gain.jsonl'), `${jsonl.join('\n')}\n`);
});
after(() => rm(work, { recursive: true, force: true }));

/** The parts of a drafted model.json these tests read. */
interface Drafted {
  inputs: { kind: string; features: { name: string }[]; tensors: { image?: unknown }[] };
  trainingStats: {
    rows: number;
    features: Record<string, { quantiles: unknown[]; bins: number[] }>;
    score: { quantiles: unknown[] };
    inputs: Record<string, { mean: number; std: number; min: number; max: number; shape?: number[] }>;
  };
}
const manifestOf = async (name: string) =>
  JSON.parse(await readFile(join(models, name, '1', 'model.json'), 'utf8')) as Drafted;

/** The version's golden fixtures, checked as the pre-traffic hook checks a deployment's answers. */
async function goldenPasses(name: string): Promise<number> {
  const golden = goldenSchema.parse(
    JSON.parse(await readFile(join(models, name, '1', 'fixtures', 'golden.json'), 'utf8')),
  );
  const registry = await ModelRegistry.load(models, { only: [name] });
  const scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
  const mv = registry.resolve(name);
  const predictions = await scorer.predict(mv, golden.instances);
  const result = checkGolden(
    { model: name, version: '1', golden },
    { status: 200, body: { version: '1', predictions } },
  );
  assert.deepEqual(result.problems, []);
  return golden.instances.length;
}

describe('infera init --sample', () => {
  it('makes a tabular model of a CSV, leaving out its id and text label, with golden fixtures and feature statistics', async () => {
    const r = await cli([
      'init',
      join(MODELS, 'iris', '1', 'model.onnx'),
      '--name',
      'flowers',
      '--labels',
      join(work, 'flowers.txt'),
      '--sample',
      join(work, 'flowers.csv'),
      '--models',
      models,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /guessed: column 'flower_id' is a row id/);
    assert.match(r.stdout, /guessed: column\(s\) species hold text, so they are left out/);
    assert.match(r.stdout, /Recorded 8 golden instances/);
    assert.match(r.stdout, /Recorded trainingStats from 60 instances \(4 features, the score\)/);
    const m = await manifestOf('flowers');
    assert.equal(m.inputs.kind, 'tabular');
    assert.deepEqual(
      m.inputs.features.map((f) => f.name),
      ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    );
    assert.equal(m.trainingStats.rows, 60);
    const petal = m.trainingStats.features.petal_length as { quantiles: unknown[]; bins: number[] };
    assert.equal(petal.quantiles.length, 11);
    assert.equal(
      petal.bins.reduce((a, b) => a + b, 0).toFixed(3),
      '1.000',
      'the drift bins hold every sample row',
    );
    assert.ok(m.trainingStats.score.quantiles.length > 0);
    assert.equal(await goldenPasses('flowers'), 8);
  });

  it('makes the 4-D input of an image model take PNG files from a folder of images', async () => {
    const r = await cli([
      'init',
      join(work, 'tint.onnx'),
      '--labels',
      join(work, 'tint.txt'),
      '--sample',
      join(work, 'photos'),
      '--models',
      models,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /guessed: input 'pixels' takes PNG\/JPEG files: NCHW, RGB/);
    const m = await manifestOf('tint');
    assert.deepEqual(m.inputs.tensors[0]?.image, { layout: 'NCHW', colorOrder: 'RGB', resize: 'stretch' });
    assert.deepEqual(Object.keys(m.trainingStats.inputs), ['pixels[0]', 'pixels[1]', 'pixels[2]']);
    const red = m.trainingStats.inputs['pixels[0]'] as { mean: number; min: number; max: number };
    assert.ok(red.min >= 0 && red.max <= 1 && red.mean > 0.1, 'channel statistics after scaling by 1/255');
    assert.equal(await goldenPasses('tint'), 6);
  });

  it('records a tensor model with a scalar input from JSON Lines, the scalar shared by each request', async () => {
    const r = await cli([
      'init',
      join(work, 'gain.onnx'),
      '--sample',
      join(work, 'gain.jsonl'),
      '--models',
      models,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const m = await manifestOf('gain');
    assert.deepEqual(m.trainingStats.inputs.audio?.shape, [6]);
    const sr = m.trainingStats.inputs.sr;
    assert.deepEqual({ mean: sr?.mean, std: sr?.std }, { mean: 2, std: 0 });
    assert.equal(await goldenPasses('gain'), 8);
  });

  it('refuses a sample that does not fit the graph before writing anything, naming the fix', async () => {
    const fixed = new GraphBuilder();
    fixed.op('Identity', [fixed.input('x', 'float32', [1, 4])], {}, 'y');
    fixed.output('y', 'float32', [1, 4]);
    await writeFile(join(work, 'fixed.onnx'), fixed.build({ name: 'fixed', doc: 'batch of one' }));
    await writeFile(join(work, 'bad.csv'), 'a,b\n1,2\n');
    await writeFile(join(work, 'bad.jsonl'), '{"inputs": []}\n');
    const cases: [string[], RegExp][] = [
      [
        ['init', join(work, 'fixed.onnx'), '--sample', join(work, 'gain.jsonl')],
        /fixed first dimension[\s\S]*dynamic_axes/,
      ],
      [
        ['init', join(MODELS, 'iris', '1', 'model.onnx'), '--name', 'two', '--sample', join(work, 'bad.csv')],
        /2 numeric columns, but input '.*' takes 4 features/,
      ],
      [
        ['init', join(work, 'gain.onnx'), '--name', 'req', '--sample', join(work, 'bad.jsonl')],
        /a request, not an instance/,
      ],
      [
        ['init', join(work, 'gain.onnx'), '--name', 'pics', '--sample', join(work, 'photos')],
        /holds images, but the model's inputs are sr INT64 \[\], audio FP32 \[-1, -1\]/,
      ],
      [
        ['init', join(work, 'gain.onnx'), '--name', 'none', '--sample', join(work, 'nowhere.csv')],
        /Cannot read the sample/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, '--models', models]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.deepEqual((await readdir(models)).sort(), ['flowers', 'gain', 'tint'], 'no folder was written');
  });

  describe('then served by npm start', () => {
    let p: RunningPlatform;
    before(async () => {
      p = await startPlatform({}, ['--models', models, '--no-sagemaker']);
    });
    after(() => p?.stop());

    for (const [model, args] of [
      ['gain', []],
      ['tint', []],
      ['flowers', ['--sample', 'flowers.csv']],
    ] as const) {
      it(`npm run traffic sends ${model} traffic that its monitoring compares with training, priced per request`, async () => {
        const t = await run(process.execPath, [
          'scripts/traffic.ts',
          '--url',
          p.url,
          '--model',
          model,
          '--duration',
          '2',
          '--rate',
          '10',
          '--batch',
          '2',
          ...args.map((a) => (a.endsWith('.csv') ? join(work, a) : a)),
        ]);
        assert.equal(t.code, 0, t.stdout + t.stderr);
        assert.match(t.stdout, /Done\. Status codes: 200: \d+\./);
        const res = await fetch(`${p.url}/v1/models/${model}/monitoring`);
        const report = (await res.json()) as {
          versions: {
            window: { requests: number };
            inputs: { training: unknown; window: { count: number } }[];
            features: { window: { bins: unknown } }[];
          }[];
          costs: { perMillionUsd: number | null; basis: string }[];
        };
        const v = report.versions[0];
        assert.ok(v && v.window.requests > 0);
        if (model === 'flowers')
          assert.ok(
            v.features.every((f) => f.window.bins !== null),
            'every feature has drift bins',
          );
        else
          assert.ok(
            v.inputs.every((i) => i.training !== null && i.window.count > 0),
            'live inputs beside training',
          );
        const cost = report.costs[0]?.perMillionUsd ?? Number.NaN;
        assert.ok(cost > 0 && cost < 50, `a sane cost per million: ${cost} (${report.costs[0]?.basis})`);
      });
    }

    it('the dashboard shows a tensor model its inputs beside training, and says what a model without trainingStats lacks', async () => {
      const bare = await cli(['init', join(work, 'gain.onnx'), '--name', 'bare', '--models', models]);
      assert.equal(bare.code, 0, bare.stderr);
      assert.match(bare.stdout, /No golden fixtures or trainingStats: run infera init again with --sample/);
      // A running platform picks the new folder up; then one request gives the dashboard data.
      let answered = 0;
      for (let i = 0; i < 50 && answered !== 200; i++) {
        await new Promise((r) => setTimeout(r, 200));
        answered = (
          await fetch(`${p.url}/v1/models/bare/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ instances: [{ audio: [0.1, 0.2], sr: 2 }] }),
          })
        ).status;
      }
      assert.equal(answered, 200);
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${p.url}/dashboard#gain`);
        await page.waitForSelector('tr[data-input="audio"]', { timeout: 15_000 });
        assert.equal(await page.textContent('#drift-title'), 'Input statistics');
        assert.match((await page.textContent('tr[data-input="sr"]')) ?? '', /2\.000 \(2\.000\)/);
        assert.match((await page.textContent('#score-hint')) ?? '', /answers have no score/);
        const second = await browser.newPage();
        second.on('pageerror', (e) => errors.push(e.message));
        await second.goto(`${p.url}/dashboard#bare`);
        await second.waitForFunction(
          () => /has no trainingStats/.test(document.getElementById('drift-hint')?.textContent ?? ''),
          null,
          { timeout: 15_000 },
        );
        assert.match((await second.textContent('#drift-hint')) ?? '', /infera init <model\.onnx> --sample/);
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    });

    it('infera cost prices every version from its golden fixtures', async () => {
      const r = await cli(['cost', '--models', models, '--calls', '20']);
      assert.equal(r.code, 0, r.stderr);
      for (const m of ['flowers', 'gain', 'tint']) assert.match(r.stdout, new RegExp(`${m} v1 \\(live\\)`));
      // The model drafted without --sample is priced without numbers, saying how to record them.
      assert.match(
        r.stderr + r.stdout,
        /bare v1: fixtures\/golden\.json .*infera init <model\.onnx> --sample/,
      );
    });
  });
});
