/**
 * Post-processing declared in a manifest: softmax or sigmoid over logits, top-k labels, labels from
 * a file, and embedding pooling (attention-mask mean or CLS, then L2). Real graphs built here, real
 * onnxruntime sessions, the shipped ticket-router tokenizer.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import type { ModelPackageError } from '#core/errors.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { sigmoid } from '#core/tensor/postprocess.ts';
import { editJson, MODELS, writeTensorModel } from '../../../helpers.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1 };
const LABELS = ['cat', 'dog', 'bird', 'fish'];
const D = 3;
let root: string;
let scorer: Scorer;
let registry: ModelRegistry;
let vocab: number;
/** The embedder's token table: row t is token t's vector. */
const table = (t: number) => [Math.sin(t + 1), Math.cos(t * 0.5), (t % 7) - 3];

async function logitsModel(name: string, manifest: (o: Record<string, unknown>) => void): Promise<string> {
  const dir = await writeTensorModel(root, name, {
    description: 'Returns its input as logits.',
    graph: (g) => {
      g.op('Identity', [g.input('x', 'float32', ['N', 4])], {}, 'logits');
      g.output('logits', 'float32', ['N', 4]);
    },
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 4] }],
  });
  await editJson(join(dir, 'model.json'), (o) => {
    o.task = 'multiclass-classification';
    o.outputs = { tensor: 'logits' };
    manifest(o);
  });
  return dir;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'infera-post-'));
  const clf = await logitsModel('logits', (o) => {
    o.outputs = { tensor: 'logits', labelsFile: 'labels.txt', activation: 'softmax', topK: 2 };
  });
  await writeFile(join(clf, 'labels.txt'), `${LABELS.join('\n')}\n`);
  const tokenizerJson = JSON.parse(await readFile(join(MODELS, 'ticket-router/1/tokenizer.json'), 'utf8'));
  vocab = Object.keys(tokenizerJson.model.vocab).length;
  for (const pooling of ['mean', 'cls'] as const) {
    const dir = await writeTensorModel(root, `embed-${pooling}`, {
      description: 'Token vectors from a fixed table: [N, L, D].',
      graph: (g) => {
        const ids = g.input('input_ids', 'int64', ['N', 'L']);
        g.input('attention_mask', 'int64', ['N', 'L']);
        g.op(
          'Gather',
          [g.constant('table', Array.from({ length: vocab }, (_, t) => table(t)).flat(), [vocab, D]), ids],
          { axis: 0 },
          'states',
        );
        g.output('states', 'float32', ['N', 'L', D]);
      },
      inputs: [],
      outputs: [],
    });
    await copyFile(join(MODELS, 'ticket-router/1/tokenizer.json'), join(dir, 'tokenizer.json'));
    await editJson(join(dir, 'model.json'), (o) => {
      o.task = 'embedding';
      o.inputs = {
        kind: 'tensors',
        text: { maxLength: 16 },
        tensors: [
          { name: 'input_ids', datatype: 'INT64', shape: [-1, -1], tokens: 'ids' },
          { name: 'attention_mask', datatype: 'INT64', shape: [-1, -1], tokens: 'mask' },
        ],
      };
      o.outputs = { tensor: 'states', pooling, normalize: true };
    });
  }
  registry = await ModelRegistry.load(root);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), threads);
  await scorer.warmup();
});

describe('classifier post-processing from the manifest', () => {
  it('applies softmax to logits, names classes from labels.txt and lists the top 2', async () => {
    const [p] = await scorer.predict(registry.resolve('logits'), [{ x: [2, 0.5, 3, -1] }]);
    const e = [2, 0.5, 3, -1].map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    const probs = p?.probabilities ?? {};
    for (const [c, l] of LABELS.entries()) {
      assert.ok(Math.abs((probs[l] as number) - (e[c] as number) / sum) < 1e-6, l);
    }
    assert.equal(p?.label, 'bird');
    assert.deepEqual(
      ((p?.top ?? []) as { label: string }[]).map((t) => t.label),
      ['bird', 'cat'],
    );
  });

  it('applies sigmoid element by element, as binary logits need', () => {
    const t = sigmoid({ type: 'float32', data: Float32Array.from([0, 2, -2]), dims: [3, 1] });
    assert.deepEqual(
      Array.from(t.data as Float32Array, (v) => Math.round(v * 1e6) / 1e6),
      [0.5, 0.880797, 0.119203],
    );
  });

  it('names a missing labels file, a blank label and a count the graph contradicts', async () => {
    const dir = await logitsModel('bad-labels', (o) => {
      o.outputs = { tensor: 'logits', labelsFile: 'labels.txt' };
    });
    await assert.rejects(
      ModelRegistry.load(root, { only: ['bad-labels'] }),
      /bad-labels\/1\/labels\.txt: outputs\.labelsFile names it, but it is missing/,
    );
    await writeFile(join(dir, 'labels.txt'), 'a\n\nb\nc\n');
    await assert.rejects(ModelRegistry.load(root, { only: ['bad-labels'] }), /labels\.txt: line 2 is blank/);
    await writeFile(join(dir, 'labels.txt'), 'a\nb\nc\n');
    const reg = await ModelRegistry.load(root, { only: ['bad-labels'] });
    await assert.rejects(
      new Scorer(reg, new OnnxRuntimeEngine(), threads).warmup(),
      (e: ModelPackageError) => {
        assert.match(
          e.details?.join('\n') ?? '',
          /has 4 classes in model\.onnx but the manifest has 3 labels \(labels\.txt\)/,
        );
        return true;
      },
    );
  });
});

describe('embedding post-processing: pooling over the attention mask, then L2', () => {
  const tok = async () =>
    new Tokenizer(JSON.parse(await readFile(join(MODELS, 'ticket-router/1/tokenizer.json'), 'utf8')), {});
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  it('mean-pools only the real tokens of each text, so padding does not move the vector', async () => {
    const texts = ['refund my card', 'the parcel is very very late today'];
    const [short] = await scorer.predict(registry.resolve('embed-mean'), [{ text: texts[0] }]);
    const both = await scorer.predict(
      registry.resolve('embed-mean'),
      texts.map((text) => ({ text })),
    );
    const ids = (await tok()).encode(texts[0] as string).ids;
    const mean = [0, 1, 2].map(
      (k) => ids.reduce((a: number, t: number) => a + (table(t)[k] as number), 0) / ids.length,
    );
    const want = unit(mean);
    for (const got of [short?.embedding, both[0]?.embedding] as number[][]) {
      for (const [k, v] of got.entries())
        assert.ok(Math.abs(v - (want[k] as number)) < 1e-6, `component ${k}`);
    }
    const second = (both[1]?.embedding ?? []) as number[];
    assert.ok(Math.abs(Math.hypot(...second) - 1) < 1e-6, 'unit length');
  });

  it('takes the first token with CLS pooling, and answers v2 with one [N, D] embedding output', async () => {
    const res = await scorer.infer(registry.resolve('embed-cls'), {
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['hello', 'refund'] }],
    });
    assert.deepEqual(
      res.outputs.map((o) => [o.name, o.shape]),
      [['embedding', [2, D]]],
    );
    const cls = unit(table(2)); // [CLS] is id 2, first in every text
    const first = ((res.outputs[0]?.data ?? []) as number[]).slice(0, D);
    for (const [k, v] of first.entries()) assert.ok(Math.abs(v - (cls[k] as number)) < 1e-6);
  });
});
