import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelPackageError, ValidationError } from '#core/errors.ts';
import { diffWithin } from '#core/model/golden.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { InferenceEngine, LoadedModel } from '#core/ports.ts';
import type { InferRequest } from '#core/protocol/schemas.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import {
  copyModels,
  editJson,
  golden,
  MODELS,
  SHIPPED_MODELS,
  toV2Columns,
  writeEchoModel,
} from '../../../helpers.ts';

/** The real engine, wrapped to count loads and runs. */
function countingEngine() {
  const real = new OnnxRuntimeEngine();
  const counts = { loads: 0, runs: 0 };
  const engine: InferenceEngine = {
    name: real.name,
    version: real.version,
    async load(bytes, opts) {
      counts.loads++;
      const m = await real.load(bytes, opts);
      const wrapped: LoadedModel = {
        inputs: m.inputs,
        outputs: m.outputs,
        run: (feeds, names) => {
          counts.runs++;
          return m.run(feeds, names);
        },
        release: () => m.release(),
      };
      return wrapped;
    },
  };
  return { engine, counts };
}

const threads = { intraOpThreads: 1, interOpThreads: 1 };

describe('Scorer', () => {
  let registry: ModelRegistry;
  let scorer: Scorer;
  let counts: { loads: number; runs: number };
  before(async () => {
    registry = await ModelRegistry.load(MODELS, { only: [...SHIPPED_MODELS] });
    const c = countingEngine();
    counts = c.counts;
    scorer = new Scorer(registry, c.engine, threads);
    await scorer.warmup();
  });

  // The heavy model is checked as its serving container runs it: in-process, whatever its route.
  for (const [model, version] of [
    ['fraud-detector-xl', '1'],
    ['fraud-detector', '1'],
    ['fraud-detector', '2'],
    ['iris', '1'],
    ['dominant-color', '1'],
    ['text-direction', '1'],
    ['ticket-router', '1'],
  ] as const) {
    it(`matches the golden outputs of ${model} v${version} within tolerance`, async () => {
      const g = await golden(model, version);
      const container = new Scorer(registry, new OnnxRuntimeEngine(), threads, { serveAll: true });
      const preds = await container.predict(registry.resolve(model, version), g.instances);
      assert.equal(preds.length, g.expected.length);
      // The pre-traffic hook's own comparison: every number the fixture states, within tolerance.
      preds.forEach((p, i) => {
        assert.deepEqual(diffWithin(g.expected[i], p, g.tolerance, `predictions[${i}]`), []);
      });
    });
  }

  it('creates one session per model version and scores a whole request in one run', async () => {
    const loadsBefore = counts.loads;
    const runsBefore = counts.runs;
    const g = await golden('fraud-detector', '2');
    const mv = registry.resolve('fraud-detector');
    const many = Array.from({ length: 200 }, (_, i) => g.instances[i % g.instances.length]!);
    for (let i = 0; i < 5; i++) await scorer.predict(mv, many);
    assert.equal(counts.loads, loadsBefore, 'no new session after warmup');
    assert.equal(counts.runs - runsBefore, 5, 'one session.run per request');
    assert.equal(counts.loads, 6, 'one session per locally served shipped model version');
  });

  it('returns the same probabilities over v2 columns as over v1 instances', async () => {
    for (const model of ['fraud-detector', 'iris']) {
      const mv = registry.resolve(model);
      const instance = (await golden(model, mv.version)).instances[1]!;
      const [v1] = await scorer.predict(mv, [instance]);
      const v2 = await scorer.infer(mv, toV2Columns(instance));
      const probs = v2.outputs.find((o) => o.name === 'probabilities');
      assert.deepEqual(probs?.data, Object.values(v1?.probabilities ?? {}));
      assert.deepEqual(v2.outputs.find((o) => o.name === 'label')?.data, [v1?.label]);
    }
  });

  it('imputes the manifest default when an optional feature is missing or null', async () => {
    const mv = registry.resolve('fraud-detector');
    const g = await golden('fraud-detector', mv.version);
    const base = { ...g.instances[4]!, distance_from_home_km: 12.5 };
    const dflt = (mv.manifest.inputs as { features: { name: string; default?: number }[] }).features.find(
      (f) => f.name === 'distance_from_home_km',
    )?.default;
    const [withDefault, missing, nulled] = await scorer.predict(mv, [
      { ...base, distance_from_home_km: dflt },
      { ...base, distance_from_home_km: undefined },
      { ...base, distance_from_home_km: null },
    ]);
    assert.equal(missing?.score, withDefault?.score);
    assert.equal(nulled?.score, withDefault?.score);
  });

  it('serves an image-shaped [N,3,H,W] FP32 tensor over v2, flat or nested, with any H and W', async () => {
    const mv = registry.resolve('dominant-color');
    const g = await golden('dominant-color', '1');
    const image = g.instances[2]!.image as number[][][];
    const nested = await scorer.infer(mv, {
      inputs: [{ name: 'image', shape: [1, 3, 4, 4], datatype: 'FP32', data: [image] }],
    });
    const flat = await scorer.infer(mv, {
      inputs: [{ name: 'image', shape: [1, 3, 4, 4], datatype: 'FP32', data: image.flat(2) }],
    });
    assert.deepEqual(nested.outputs, flat.outputs);
    assert.deepEqual(nested.outputs.find((o) => o.name === 'label')?.data, ['blue']);
    const small = await scorer.infer(mv, {
      inputs: [
        {
          name: 'image',
          shape: [2, 3, 1, 2],
          datatype: 'FP32',
          data: [0.9, 0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 0.8],
        },
      ],
    });
    assert.deepEqual(small.outputs.find((o) => o.name === 'label')?.data, ['red', 'blue']);
  });

  it('round-trips FP32, FP64, INT32, INT64 and BOOL tensors of a new model dropped into models/', async () => {
    const root = await copyModels();
    await writeEchoModel(root);
    const reg = await ModelRegistry.load(root);
    const s = new Scorer(reg, new OnnxRuntimeEngine(), threads);
    await s.warmup();
    const res = await s.infer(reg.resolve('echo-tensors'), {
      id: 'req-1',
      inputs: [
        { name: 'image', shape: [1, 3, 1, 1], datatype: 'FP32', data: [[[[0.5]], [[0.25]], [[1]]]] },
        { name: 'f64', shape: [1, 2], datatype: 'FP64', data: [0.1, 1e300] },
        { name: 'i32', shape: [1], datatype: 'INT32', data: [-2147483648] },
        { name: 'i64', shape: [1], datatype: 'INT64', data: ['9007199254740993'] },
        { name: 'flag', shape: [1], datatype: 'BOOL', data: [true] },
      ],
    });
    assert.equal(res.id, 'req-1');
    const out = Object.fromEntries(res.outputs.map((o) => [o.name, o]));
    assert.deepEqual(out.image_out?.data, [0.5, 0.25, 1]);
    assert.deepEqual(out.f64_out, { name: 'f64_out', datatype: 'FP64', shape: [1, 2], data: [0.1, 1e300] });
    assert.deepEqual(out.i32_out?.data, [-2147483648]);
    assert.deepEqual(out.i64_out, {
      name: 'i64_out',
      datatype: 'INT64',
      shape: [1],
      data: ['9007199254740993'],
    });
    assert.deepEqual(out.flag_not, { name: 'flag_not', datatype: 'BOOL', shape: [1], data: [false] });
  });

  it('fails warmup naming the file and the fix when the manifest and the graph disagree', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      (m.inputs as { tensor: string }).tensor = 'input';
    });
    const reg = await ModelRegistry.load(root);
    const err = await new Scorer(reg, new OnnxRuntimeEngine(), threads).warmup().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ModelPackageError);
    assert.match(
      err.message,
      /iris\/1\/model\.json: inputs\.tensor is "input" but model\.onnx has inputs: measurements; set "tensor"/,
    );
  });

  it('answers 501 for a model routed to SageMaker when the process has no SageMaker client', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.target = 'sagemaker';
    });
    const reg = await ModelRegistry.load(root);
    const s = new Scorer(reg, new OnnxRuntimeEngine(), threads);
    await s.warmup();
    const g = await golden('iris', '1');
    await assert.rejects(s.predict(reg.resolve('iris'), g.instances), {
      status: 501,
      message: /endpoint infera-iris-1, and this process has no SageMaker client configured/,
    });
    // Input is still checked first: a bad request is a 400, not a 501.
    await assert.rejects(s.predict(reg.resolve('iris'), [{}]), { status: 400 });
  });

  describe('rejects bad input with a ValidationError naming the problem', () => {
    const cases: [string, string, unknown[] | InferRequest, RegExp][] = [
      [
        'a value over its bound',
        'fraud-detector',
        [{ amount: 60000 }],
        /instances\[0\]\.amount: must be <= 50000/,
      ],
      [
        'a missing required feature',
        'iris',
        [{ sepal_length_cm: 1, sepal_width_cm: 1, petal_length_cm: 1 }],
        /instances\[0\]\.petal_width_cm: is required/,
      ],
      [
        'a wrong type',
        'iris',
        [{ sepal_length_cm: '5', sepal_width_cm: 1, petal_length_cm: 1, petal_width_cm: 1 }],
        /instances\[0\]\.sepal_length_cm: expected number, got string/,
      ],
      [
        'an unknown categorical value',
        'fraud-detector',
        [{ merchant_category: 'casino' }],
        /instances\[0\]\.merchant_category: must be one of: "grocery"/,
      ],
      [
        'an extra field',
        'iris',
        [{ sepal_length_cm: 1, sepal_width_cm: 1, petal_length_cm: 1, petal_width_cm: 1, colour: 'blue' }],
        /instances\[0\]: unknown field "colour"/,
      ],
      [
        'a fractional integer feature',
        'fraud-detector',
        [{ hour: 3.5 }],
        /instances\[0\]\.hour: expected int/,
      ],
      [
        'an extra v2 tensor',
        'dominant-color',
        {
          inputs: [
            { name: 'image', shape: [1, 3, 1, 1], datatype: 'FP32', data: [1, 0, 0] },
            { name: 'mask', shape: [1], datatype: 'FP32', data: [1] },
          ],
        },
        /inputs\[1\]\.name: unknown input 'mask'; this model's inputs are: image/,
      ],
      [
        'a v2 shape mismatch',
        'dominant-color',
        { inputs: [{ name: 'image', shape: [1, 4, 1, 1], datatype: 'FP32', data: [1, 0, 0, 0] }] },
        /inputs\[0\]\.shape: dimension 1 is 4, but input 'image' expects 3/,
      ],
      [
        'v2 data that does not fill the shape',
        'dominant-color',
        { inputs: [{ name: 'image', shape: [1, 3, 2, 2], datatype: 'FP32', data: [1, 0, 0] }] },
        /has 3 elements but shape \[1, 3, 2, 2\] needs 12/,
      ],
      [
        'a v2 datatype mismatch',
        'dominant-color',
        { inputs: [{ name: 'image', shape: [1, 3, 1, 1], datatype: 'INT64', data: [1, 0, 0] }] },
        /inputs\[0\]\.datatype: is INT64, but input 'image' expects FP32/,
      ],
      [
        'a non-finite v2 element',
        'dominant-color',
        { inputs: [{ name: 'image', shape: [1, 3, 1, 1], datatype: 'FP32', data: [1, null, 0] }] },
        /inputs\[0\]\.data\[1\]: expected a finite FP32 number, got null/,
      ],
      [
        'a missing v2 column',
        'iris',
        { inputs: [{ name: 'sepal_length_cm', shape: [1], datatype: 'FP64', data: [5] }] },
        /missing input\(s\) 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'/,
      ],
      [
        'a v2 column of the wrong datatype',
        'fraud-detector',
        { inputs: [{ name: 'merchant_category', shape: [1], datatype: 'FP32', data: [1] }] },
        /feature 'merchant_category' \(categorical\) takes BYTES/,
      ],
      [
        'an unknown v2 output',
        'iris',
        {
          inputs: [
            { name: 'sepal_length_cm', shape: [1], datatype: 'FP64', data: [5] },
            { name: 'sepal_width_cm', shape: [1], datatype: 'FP64', data: [3] },
            { name: 'petal_length_cm', shape: [1], datatype: 'FP64', data: [1] },
            { name: 'petal_width_cm', shape: [1], datatype: 'FP64', data: [0.2] },
          ],
          outputs: [{ name: 'logits' }],
        },
        /outputs\[0\]\.name: unknown output 'logits'; this model returns: probabilities, label, score/,
      ],
    ];
    for (const [what, model, input, message] of cases) {
      it(`rejects ${what}`, async () => {
        const mv = registry.resolve(model);
        const call = Array.isArray(input) ? scorer.predict(mv, input) : scorer.infer(mv, input);
        await assert.rejects(call, (e: unknown) => {
          assert.ok(e instanceof ValidationError, `expected ValidationError, got ${e}`);
          assert.match([e.message, ...e.details].join('\n'), message);
          return true;
        });
      });
    }
  });
});
