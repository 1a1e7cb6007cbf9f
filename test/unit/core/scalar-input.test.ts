/**
 * A rank-0 (scalar) input, as Silero VAD's `sr` is: declared with shape [], sent over v2 with
 * shape [] and one element, through a real ONNX graph. In v1 a scalar has no batch dimension to
 * stack instances along, so the request shares one value.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { writeTensorModel } from '../../helpers.ts';

const root = await mkdtemp(join(tmpdir(), 'infera-scalar-'));
await writeTensorModel(root, 'add-rate', {
  description: 'Adds a scalar rate to every element: y = x + rate.',
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'rate', datatype: 'INT64', shape: [] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
  graph: (g) => {
    const rate = g.op('Cast', [g.input('rate', 'int64', [])], { to: 1 });
    g.op('Add', [g.input('x', 'float32', ['N', 2]), rate], {}, 'y');
    g.output('y', 'float32', ['N', 2]);
  },
});
const registry = await ModelRegistry.load(root);
const scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
await scorer.warmup();

describe('a scalar (rank-0) input', () => {
  it('loads from a manifest that declares shape [], and lists it so in v2 metadata', () => {
    const mv = registry.resolve('add-rate');
    assert.deepEqual(
      scorer.metadataV2(mv).inputs.find((i) => i.name === 'rate'),
      { name: 'rate', datatype: 'INT64', shape: [] },
    );
  });

  it('scores a v2 request that sends it with shape [] and one element', async () => {
    const out = await scorer.infer(registry.resolve('add-rate'), {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
        { name: 'rate', datatype: 'INT64', shape: [], data: [16000] },
      ],
    });
    assert.deepEqual(out.outputs[0]?.data, [16001, 16002, 16003, 16004]);
  });

  it('refuses a rank-1 value for it, naming the rank it expects', async () => {
    await assert.rejects(
      scorer.infer(registry.resolve('add-rate'), {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
          { name: 'rate', datatype: 'INT64', shape: [1], data: [16000] },
        ],
      }),
      /inputs\[1\]\.shape: shape \[1\] has rank 1, but input 'rate' expects rank 0 \[\]/,
    );
  });

  it('takes it in v1 as one value the whole request shares, refusing instances that disagree', async () => {
    const mv = registry.resolve('add-rate');
    const out = await scorer.predict(mv, [
      { x: [1, 2], rate: 16000 },
      { x: [3, 4], rate: 16000 },
    ]);
    assert.deepEqual(
      out.map((p) => (p as { y: number[] }).y),
      [
        [16001, 16002],
        [16003, 16004],
      ],
    );
    await assert.rejects(
      scorer.predict(mv, [
        { x: [1, 2], rate: 16000 },
        { x: [3, 4], rate: 8000 },
      ]),
      /instances\[1\]\.rate: is 8000, but instances\[0\] gave 16000; input 'rate' is a scalar \(shape \[\]\) that the whole request shares/,
    );
    await assert.rejects(scorer.predict(mv, [{ x: [1, 2] }]), /instances\[0\]\.rate: is required/);
  });
});
