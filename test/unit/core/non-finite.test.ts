/**
 * NaN and infinities in a tensor model's float inputs: passed to the model by default, as Triton
 * does (binary data, or the JSON strings "NaN", "Infinity", "-Infinity"), refused with the
 * element named when the manifest says "nonFinite": "refuse"; in JSON answers they travel as the
 * same strings, since JSON has no number for them and null would not say which.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { writeTensorModel } from '../../helpers.ts';

const root = await mkdtemp(join(tmpdir(), 'infera-nonfinite-'));
for (const name of ['echo', 'strict']) {
  await writeTensorModel(root, name, {
    description: 'y = x',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    graph: (g) => {
      g.op('Identity', [g.input('x', 'float32', ['N', 3])], {}, 'y');
      g.output('y', 'float32', ['N', 3]);
    },
  });
}
const strictFile = join(root, 'strict', '1', 'model.json');
const strict = JSON.parse(await readFile(strictFile, 'utf8'));
strict.inputs.nonFinite = 'refuse';
await writeFile(strictFile, JSON.stringify(strict));
const registry = await ModelRegistry.load(root);
const scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
const binaryX = new Uint8Array(new Float32Array([Number.NaN, Number.POSITIVE_INFINITY, 1]).buffer);

describe('NaN and infinities in float inputs', () => {
  it('passes them to a tensor model from binary data, and answers them in JSON as strings', async () => {
    const r = await scorer.run(registry.resolve('echo'), {
      protocol: 'v2',
      request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], raw: binaryX }] },
    });
    assert.deepEqual(r.response?.outputs[0]?.data, ['NaN', 'Infinity', 1]);
  });

  it('takes the strings "NaN", "Infinity" and "-Infinity" in JSON, in v2 and v1', async () => {
    const out = await scorer.infer(registry.resolve('echo'), {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: ['NaN', '-Infinity', 2] }],
    });
    assert.deepEqual(out.outputs[0]?.data, ['NaN', '-Infinity', 2]);
    const [p] = await scorer.predict(registry.resolve('echo'), [{ x: ['Infinity', 0, 'NaN'] }]);
    assert.deepEqual(p, { y: ['Infinity', 0, 'NaN'] });
  });

  it('refuses them, naming the element, for a model whose manifest says "nonFinite": "refuse"', async () => {
    await assert.rejects(
      scorer.run(registry.resolve('strict'), {
        protocol: 'v2',
        request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], raw: binaryX }] },
      }),
      /inputs\[0\]\.data\[0\]: expected a finite FP32 number, got NaN or an infinity/,
    );
    await assert.rejects(
      scorer.predict(registry.resolve('strict'), [{ x: ['NaN', 0, 1] }]),
      /expected a finite FP32 number, got a string/,
    );
  });

  it('still refuses a string that is not one of the three, saying how they are written', async () => {
    await assert.rejects(
      scorer.predict(registry.resolve('echo'), [{ x: ['nan', 0, 1] }]),
      /got a string \(NaN and infinities are sent as the strings "NaN", "Infinity", "-Infinity"\)/,
    );
  });
});
