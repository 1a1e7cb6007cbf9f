/**
 * `infera init` on ONNX files from outside the repository: a tensor model with a scalar input and
 * a classifier given its labels each serve with no edit, and --check finds a manifest that has
 * drifted from its graph.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { GraphBuilder } from '../../scripts/lib/onnx.ts';
import { cli, MODELS } from '../helpers.ts';

let work: string;
let models: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'infera-init-'));
  models = join(work, 'models');
  const g = new GraphBuilder();
  const rate = g.op('Cast', [g.input('sr', 'int64', [])], { to: 1 });
  g.op('Add', [g.input('audio', 'float32', ['batch', 'samples']), rate], {}, 'out');
  g.output('out', 'float32', ['batch', 'samples']);
  await writeFile(join(work, 'Add_Rate.onnx'), g.build({ name: 'add-rate', doc: 'adds a scalar' }));
  await writeFile(join(work, 'labels.txt'), 'setosa\nversicolor\nvirginica\n');
});
after(() => rm(work, { recursive: true, force: true }));

const scorerFor = async () => {
  const registry = await ModelRegistry.load(models);
  return {
    registry,
    scorer: new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 }),
  };
};

describe('infera init', () => {
  it('drafts a tensor model with a scalar input that serves with no edit, saying what it guessed', async () => {
    const r = await cli(['init', join(work, 'Add_Rate.onnx'), '--models', models]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Wrote .*add_rate\/1\/model\.json/);
    assert.match(r.stdout, /guessed: task "tensor"/);
    assert.match(
      r.stdout,
      /guessed: input 'sr' is a scalar \(shape \[\]\): a v1 request gives it in every instance/,
    );
    assert.match(r.stdout, /add_rate loads, and its graph matches its manifest/);
    const { registry, scorer } = await scorerFor();
    const out = await scorer.infer(registry.resolve('add_rate'), {
      inputs: [
        { name: 'audio', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
      ],
    });
    assert.deepEqual(out.outputs[0]?.data, [16001, 16002, 16003]);
  });

  it('makes a classifier of a graph given its labels, and a second init is version 2', async () => {
    const args = ['init', join(MODELS, 'iris', '1', 'model.onnx'), '--name', 'flowers', '--models', models];
    const r = await cli([...args, '--labels', join(work, 'labels.txt')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /guessed: task "multiclass-classification": from the 3 labels/);
    const { registry, scorer } = await scorerFor();
    const [p] = await scorer.predict(registry.resolve('flowers'), [{ measurements: [5.1, 3.5, 1.4, 0.2] }]);
    assert.equal(p?.label, 'setosa');
    const again = await cli([...args, '--labels', join(work, 'labels.txt')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /flowers\/2\/model\.json/);
  });

  it("makes a classifier of a graph that names its classes in its metadata, as Ultralytics' exports do", async () => {
    const g = new GraphBuilder();
    g.op('Softmax', [g.input('x', 'float32', ['N', 3])], { axis: 1 }, 'p');
    g.output('p', 'float32', ['N', 3]);
    const file = join(work, 'named.onnx');
    await writeFile(
      file,
      g.build({ name: 'named', doc: 'softmax', metadata: { names: "{0: 'ok', 1: 'warn', 2: 'fail'}" } }),
    );
    const r = await cli(['init', file, '--models', models]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /guessed: labels: 3 from the graph's metadata "names"/);
    const { registry, scorer } = await scorerFor();
    const [p] = await scorer.predict(registry.resolve('named'), [{ x: [0, 5, 1] }]);
    assert.equal(p?.label, 'warn');
  });

  it('finds a manifest that has drifted from its graph with --check, changing nothing', async () => {
    const file = join(models, 'add_rate', '1', 'model.json');
    const ok = await cli(['init', '--check', 'add_rate', '--models', models]);
    assert.equal(ok.code, 0, ok.stderr);
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.inputs.tensors[1].shape = [1];
    await writeFile(file, JSON.stringify(m));
    const drift = await cli(['init', '--check', 'add_rate', '--models', models]);
    assert.equal(drift.code, 1);
    assert.match(drift.stderr, /the manifest differs from the graph[\s\S]*inputs: /);
  });

  it('refuses what it cannot draft from, naming the file', async () => {
    await writeFile(join(work, 'not.onnx'), 'not a model');
    const cases: [string[], number, RegExp][] = [
      [['init'], 2, /Name the ONNX file/],
      [['init', join(work, 'missing.onnx')], 2, /Cannot read .*missing\.onnx/],
      [
        ['init', join(work, 'not.onnx'), '--models', models],
        1,
        /not\.onnx is not an ONNX model onnxruntime can load/,
      ],
      [
        ['init', join(work, 'Add_Rate.onnx'), '--task', 'guess', '--models', models],
        2,
        /--task 'guess' is not a task/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
