import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Manifest, manifestSchema } from '#core/model/manifest.ts';
import { rng } from '../../../scripts/lib/ml.ts';
import { tensorRequestSampler, tensorTrafficProblem } from '../../../scripts/lib/tensor-traffic.ts';

const manifest = (inputs: unknown, stats?: Record<string, unknown>): Manifest =>
  manifestSchema.parse({
    name: 'm',
    version: '1',
    task: 'tensor',
    inputs: { kind: 'tensors', tensors: inputs },
    outputs: { tensors: [{ name: 'y', datatype: 'FP32', shape: [-1] }] },
    sha256: 'a'.repeat(64),
    ...(stats ? { trainingStats: { rows: 10, features: {}, inputs: stats } } : {}),
  });

describe('tensor traffic drawn from trainingStats.inputs', () => {
  it('fills the batch, the dynamic dimensions from the recorded shape, and sends a scalar once', () => {
    const m = manifest(
      [
        { name: 'audio', datatype: 'FP32', shape: [-1, -1] },
        { name: 'sr', datatype: 'INT64', shape: [] },
      ],
      {
        audio: { mean: 0, std: 1, min: -0.5, max: 0.5, shape: [6] },
        sr: { mean: 16000, std: 0, min: 16000, max: 16000 },
      },
    );
    const { inputs } = tensorRequestSampler(m, 3, rng(1))();
    assert.deepEqual(
      inputs.map((i) => [i.name, i.shape, i.data.length]),
      [
        ['audio', [3, 6], 18],
        ['sr', [], 1],
      ],
    );
    assert.ok(
      inputs[0]?.data.every((v) => typeof v === 'number' && v >= -0.5 && v <= 0.5),
      'within min and max',
    );
    assert.deepEqual(inputs[1]?.data, [16000]);
  });

  it('draws an image channel by channel, and scales a drifted input', () => {
    const m = manifest([{ name: 'px', datatype: 'FP32', shape: [-1, 3, 2, 2], image: {} }], {
      'px[0]': { mean: 0.1, std: 0, min: 0, max: 1 },
      'px[1]': { mean: 0.5, std: 0, min: 0, max: 1 },
      'px[2]': { mean: 0.9, std: 0, min: 0, max: 1 },
    });
    const [clean] = tensorRequestSampler(m, 1, rng(1))().inputs;
    assert.deepEqual(clean?.shape, [1, 3, 2, 2]);
    assert.deepEqual(clean?.data, [0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9]);
    const [drifted] = tensorRequestSampler(m, 1, rng(1), { input: 'px', factor: 2 })().inputs;
    assert.deepEqual(drifted?.data.slice(0, 5), [0.2, 0.2, 0.2, 0.2, 1]);
  });

  it('says what is missing when it cannot make the inputs up', () => {
    assert.match(
      tensorTrafficProblem(manifest([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }])) ?? '',
      /no trainingStats\.inputs[\s\S]*infera init <model\.onnx> --sample/,
    );
    assert.match(
      tensorTrafficProblem(
        manifest([{ name: 'x', datatype: 'FP32', shape: [-1, -1] }], {
          x: { mean: 0, std: 1, min: -1, max: 1 },
        }),
      ) ?? '',
      /dynamic dimensions \(\[-1, -1\]\) and its trainingStats\.inputs entry no "shape"/,
    );
    assert.match(
      tensorTrafficProblem(manifest([{ name: 's', datatype: 'BYTES', shape: [-1] }], {})) ?? '',
      /holds strings/,
    );
  });
});
