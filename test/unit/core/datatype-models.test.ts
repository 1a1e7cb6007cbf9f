/**
 * Models a user writes only as a graph and a manifest, with the datatypes real models use:
 * UINT8 images, FP16 graphs, and every other element type onnxruntime-node runs. Real
 * onnxruntime sessions; nothing is mocked.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { BatchingModel } from '#container/microbatch.ts';
import { scoreChunk } from '#core/batch/chunk.ts';
import type { Line } from '#core/batch/lines.ts';
import { createRowDecoder } from '#core/batch/rows.ts';
import { type ModelPackageError, ValidationError } from '#core/errors.ts';
import { DATATYPES } from '#core/model/manifest.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { DATATYPE_TO_TYPE } from '#core/tensor/tensors.ts';
import type { ElemType } from '../../../scripts/lib/onnx.ts';
import { MODELS, writeTensorModel } from '../../helpers.ts';
import { EDGES } from '../../support/datatype-samples.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1 };
const FLOAT = 1; // ONNX TensorProto.FLOAT, for Cast

let root: string;
let scorer: Scorer;
let registry: ModelRegistry;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'infera-types-'));
  await writeTensorModel(root, 'pixel-mean', {
    description: 'Mean of each channel of a UINT8 NHWC image.',
    graph: (g) => {
      const x = g.op('Cast', [g.input('pixels', 'uint8', ['N', 'H', 'W', 3])], { to: FLOAT });
      g.op('ReduceMean', [x], { axes: [1, 2], keepdims: 0 }, 'mean');
      g.output('mean', 'float32', ['N', 3]);
    },
    inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [-1, -1, -1, 3] }],
    outputs: [{ name: 'mean', datatype: 'FP32', shape: [-1, 3] }],
  });
  await writeTensorModel(root, 'half', {
    description: 'An FP16 graph: echoes its input, and casts it to FP32.',
    graph: (g) => {
      const x = g.input('x', 'float16', ['N', 3]);
      g.op('Identity', [x], {}, 'y16');
      g.op('Cast', [x], { to: FLOAT }, 'y');
      g.output('y16', 'float16', ['N', 3]);
      g.output('y', 'float32', ['N', 3]);
    },
    inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 3] }],
    outputs: [
      { name: 'y16', datatype: 'FP16', shape: [-1, 3] },
      { name: 'y', datatype: 'FP32', shape: [-1, 3] },
    ],
  });
  await writeTensorModel(root, 'every-type', {
    description: 'Echoes one input of every datatype.',
    graph: (g) => {
      for (const d of DATATYPES) {
        const type = DATATYPE_TO_TYPE[d] as ElemType;
        g.op('Identity', [g.input(`in_${d}`, type, ['N'])], {}, `out_${d}`);
        g.output(`out_${d}`, type, ['N']);
      }
    },
    inputs: DATATYPES.map((d) => ({ name: `in_${d}`, datatype: d, shape: [-1] })),
    outputs: DATATYPES.map((d) => ({ name: `out_${d}`, datatype: d, shape: [-1] })),
  });
  registry = await ModelRegistry.load(root);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), threads);
  await scorer.warmup();
});

describe('models of every datatype, written only as a manifest', () => {
  it('serves a UINT8 [N,H,W,3] image through v2 JSON and v1', async () => {
    const image = [
      [
        [0, 10, 255],
        [2, 20, 255],
      ],
      [
        [4, 30, 255],
        [6, 40, 255],
      ],
    ];
    const v2 = await scorer.infer(registry.resolve('pixel-mean'), {
      inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 2, 2, 3], data: [image] }],
    });
    assert.deepEqual(v2.outputs, [{ name: 'mean', datatype: 'FP32', shape: [1, 3], data: [3, 25, 255] }]);
    const v1 = await scorer.predict(registry.resolve('pixel-mean'), [{ pixels: image }, { pixels: image }]);
    assert.deepEqual(v1, [{ mean: [3, 25, 255] }, { mean: [3, 25, 255] }]);
  });

  it('names the input and the element when a UINT8 value is 256', async () => {
    await assert.rejects(
      scorer.infer(registry.resolve('pixel-mean'), {
        inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 1, 1, 3], data: [1, 256, 3] }],
      }),
      (e: ValidationError) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.details, ['inputs[0].data[1]: 256 is outside the UINT8 range (0 to 255)']);
        return true;
      },
    );
  });

  it('serves an FP16 graph: FP16 in, FP16 and FP32 out, rounded as IEEE 754 half precision', async () => {
    const res = await scorer.infer(registry.resolve('half'), {
      inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], data: [1, 0.5, 1 / 3] }],
    });
    const out = Object.fromEntries(res.outputs.map((o) => [o.name, o]));
    assert.deepEqual(out.y16, {
      name: 'y16',
      datatype: 'FP16',
      shape: [1, 3],
      data: [1, 0.5, 0.333251953125],
    });
    assert.deepEqual(out.y?.data, [1, 0.5, 0.333251953125]);
  });

  it('echoes every datatype onnxruntime-node supports, after the start-up signature check passed', async () => {
    const res = await scorer.infer(registry.resolve('every-type'), {
      inputs: DATATYPES.map((d) => ({
        name: `in_${d}`,
        datatype: d,
        shape: [2],
        data: EDGES[d] as unknown[],
      })),
    });
    assert.equal(res.outputs.length, DATATYPES.length);
    for (const d of DATATYPES) {
      const o = res.outputs.find((x) => x.name === `out_${d}`);
      assert.deepEqual(o, { name: `out_${d}`, datatype: d, shape: [2], data: EDGES[d] }, d);
    }
  });

  it('fails start-up when a fixed dimension in the manifest contradicts the graph', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-types-'));
    await writeTensorModel(dir, 'wrong-channels', {
      description: 'The graph takes 3 channels; the manifest says 4.',
      graph: (g) => {
        g.op('Identity', [g.input('image', 'float32', ['N', 3, 'H', 'W'])], {}, 'same');
        g.output('same', 'float32', ['N', 3, 'H', 'W']);
      },
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 4, -1, -1] }],
      outputs: [{ name: 'same', datatype: 'FP32', shape: [-1, 4, -1, -1] }],
    });
    const s = new Scorer(await ModelRegistry.load(dir), new OnnxRuntimeEngine(), threads);
    await assert.rejects(s.warmup(), (e: ModelPackageError) => {
      assert.match(
        e.details.join('\n'),
        /input "image" dimension 1 is 4 in the manifest but 3 in model\.onnx \(graph shape \[N, 3, H, W\]\); make them the same, or use -1/,
      );
      return true;
    });
  });

  it('answers the zero-size amplification request with a 400 naming the dimension, before running anything', async () => {
    const shipped = await ModelRegistry.load(MODELS);
    const s = new Scorer(shipped, new OnnxRuntimeEngine(), threads);
    await assert.rejects(
      s.infer(shipped.resolve('dominant-color'), {
        inputs: [{ name: 'image', shape: [1000000, 3, 0, 1], datatype: 'FP32', data: [] }],
      }),
      (e: ValidationError) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /^inputs\[0\]\.shape: dimension 2 is 0 in shape \[1000000, 3, 0, 1\]/);
        return true;
      },
    );
    await assert.rejects(
      s.infer(
        shipped.resolve('dominant-color'),
        { inputs: [{ name: 'image', shape: [60000, 3, 1, 1], datatype: 'FP32', data: [] }] },
        { maxRows: 1000 },
      ),
      /dimension 0 \(rows\) is 60000; the limit is 1000 per request \(MAX_INSTANCES\)/,
    );
    await assert.rejects(
      s.predict(shipped.resolve('dominant-color'), [{ image: [[], [], []] }]),
      /instances\[0\]\.image: dimension 2 is 0/,
    );
  });

  it('micro-batches concurrent calls of every datatype, as the serving container does, and hands each caller its own rows', async () => {
    let batching: BatchingModel | undefined;
    const batched = new Scorer(registry, new OnnxRuntimeEngine(), threads, {
      wrap: (m) => {
        batching = new BatchingModel(m, { maxBatchRows: 64, maxDelayMs: 20 });
        return batching;
      },
    });
    const mv = registry.resolve('every-type');
    const request = (k: number) => ({
      inputs: DATATYPES.map((d) => ({
        name: `in_${d}`,
        datatype: d,
        shape: [1],
        data: [(EDGES[d] as unknown[])[k % 2]],
      })),
    });
    const answers = await Promise.all([0, 1, 2, 3].map((k) => batched.infer(mv, request(k))));
    answers.forEach((res, k) => {
      for (const d of DATATYPES) {
        assert.deepEqual(
          res.outputs.find((o) => o.name === `out_${d}`)?.data,
          [(EDGES[d] as unknown[])[k % 2]],
          d,
        );
      }
    });
    assert.ok(batching && batching.stats.runs < 4, `4 calls in ${batching?.stats.runs} session runs`);
  });

  it('scores a batch chunk of UINT8 images, rejecting only the row with a value out of range', async () => {
    const mv = registry.resolve('pixel-mean');
    const rows = [
      { id: 'a', pixels: [[[0, 10, 20]]] },
      { id: 'b', pixels: [[[0, 256, 20]]] },
      { id: 'c', pixels: [[[4, 6, 8]]] },
    ];
    const out = await scoreChunk({
      lines: (async function* (): AsyncGenerator<Line[]> {
        yield rows.map((r) => ({ text: JSON.stringify(r) }) as Line);
      })(),
      firstRow: 1,
      rows: rows.length,
      headerLines: 0,
      format: 'jsonl',
      decoder: createRowDecoder(mv.manifest, 'jsonl'),
      manifest: mv.manifest,
      hasId: true,
      predict: (instances) => scorer.predict(mv, instances),
    });
    assert.equal(out.scored, 2);
    assert.equal(out.rejected, 1);
    assert.deepEqual(
      Buffer.from(out.results)
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { row: 1, id: 'a', mean: [0, 10, 20] },
        { row: 3, id: 'c', mean: [4, 6, 8] },
      ],
    );
    assert.match(JSON.parse(out.errors).error, /256 is outside the UINT8 range \(0 to 255\)/);
  });
});
