/**
 * processor.ts, the typed escape hatch: preprocess and postprocess hooks beside model.json, pinned by
 * sha256, run by the same Scorer that serves Lambda, the container, batch and npm start. Real
 * TypeScript files imported by Node 24, real onnxruntime sessions.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import type { InferaError, ModelPackageError } from '#core/errors.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { editJson, golden, MODELS } from '../../helpers.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1 };
const TYPES = join(MODELS, '..', 'functions', 'core', 'processor.ts');

/** iris, plus a processor: nested measurements in, a species code out; "explode" tests errors. */
const PROCESSOR = `import type { Postprocess, Preprocess } from ${JSON.stringify(TYPES)};
export const preprocess: Preprocess = (i) => {
  if (i.explode === 'status') throw Object.assign(new Error('sepal must be two numbers'), { status: 422 });
  if (i.explode === 'bug') throw new TypeError('cannot read properties of undefined');
  const [sl, sw] = i.sepal as number[];
  const [pl, pw] = i.petal as number[];
  return { sepal_length_cm: sl, sepal_width_cm: sw, petal_length_cm: pl, petal_width_cm: pw };
};
export const postprocess: Postprocess = (p) => ({ ...p, species_code: String(p.label).slice(0, 3).toUpperCase() });
`;

let root: string;
let registry: ModelRegistry;
let scorer: Scorer;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'infera-proc-'));
  await cp(join(MODELS, 'iris'), join(root, 'iris'), { recursive: true });
  await cp(join(MODELS, 'iris'), join(root, 'iris-proc'), { recursive: true });
  await writeFile(join(root, 'iris-proc', '1', 'processor.ts'), PROCESSOR);
  await editJson(join(root, 'iris-proc', '1', 'model.json'), (m) => {
    m.name = 'iris-proc';
    m.processor = { file: 'processor.ts', sha256: sha(PROCESSOR) };
  });
  registry = await ModelRegistry.load(root);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), threads);
  await scorer.warmup();
});

describe('processor.ts around the manifest pipeline', () => {
  it('reshapes the request before validation and adds to each prediction after mapping', async () => {
    const flower = (await golden('iris', '1')).instances[0] as Record<string, number>;
    const [plain] = await scorer.predict(registry.resolve('iris'), [flower]);
    const [p] = await scorer.predict(registry.resolve('iris-proc'), [
      {
        sepal: [flower.sepal_length_cm, flower.sepal_width_cm],
        petal: [flower.petal_length_cm, flower.petal_width_cm],
      },
    ]);
    assert.deepEqual(p, { ...plain, species_code: String(plain?.label).slice(0, 3).toUpperCase() });
  });

  it("keeps a thrown status (a 422 naming the instance and the model), and hides a bug's message behind a 500", async () => {
    await assert.rejects(
      scorer.predict(registry.resolve('iris-proc'), [{ explode: 'status' }]),
      (e: InferaError) => {
        assert.equal(e.status, 422);
        assert.equal(e.code, 'processor_error');
        assert.equal(
          e.message,
          "instances[0]: model 'iris-proc' processor preprocess rejected it: sepal must be two numbers",
        );
        assert.equal(e.expose, true);
        return true;
      },
    );
    await assert.rejects(
      scorer.predict(registry.resolve('iris-proc'), [{ explode: 'bug' }]),
      (e: InferaError) => {
        assert.equal(e.status, 500);
        assert.equal(e.expose, false);
        assert.match(e.message, /processor preprocess failed: cannot read properties of undefined/);
        return true;
      },
    );
  });

  it("runs the shipped text-direction processor: rotate only for 180 at PaddleOCR's 0.9 threshold", async () => {
    const g = await golden('text-direction', '1');
    const preds = await scorer.predict(
      await ModelRegistry.load(MODELS).then((r) => r.resolve('text-direction')),
      g.instances,
    );
    assert.deepEqual(
      preds.map((p) => [p.label, p.rotate]),
      [
        ['0', false],
        ['180', true],
        ['0', false],
        ['180', true],
      ],
    );
  });

  it('runs the postprocess for a v2 request too, and answers the fields it adds as output tensors', async () => {
    const flower = (await golden('iris', '1')).instances[0] as Record<string, number>;
    const [plain] = await scorer.predict(registry.resolve('iris'), [flower]);
    const v2 = await scorer.infer(registry.resolve('iris-proc'), {
      inputs: Object.entries(flower).map(([name, value]) => ({
        name,
        datatype: 'FP64',
        shape: [1],
        data: [value],
      })),
    });
    assert.deepEqual(
      v2.outputs.find((o) => o.name === 'species_code'),
      {
        name: 'species_code',
        datatype: 'BYTES',
        shape: [1],
        data: [String(plain?.label).slice(0, 3).toUpperCase()],
      },
    );
    assert.ok(v2.outputs.some((o) => o.name === 'label'));
  });

  it('lets a v2 request ask for a processor output by name, and names them all for an unknown one', async () => {
    const flower = (await golden('iris', '1')).instances[0] as Record<string, number>;
    const inputs = Object.entries(flower).map(([name, value]) => ({
      name,
      datatype: 'FP64',
      shape: [1],
      data: [value],
    }));
    const only = await scorer.infer(registry.resolve('iris-proc'), {
      inputs,
      outputs: [{ name: 'species_code' }],
    });
    assert.deepEqual(
      only.outputs.map((o) => o.name),
      ['species_code'],
    );
    await assert.rejects(
      scorer.infer(registry.resolve('iris-proc'), { inputs, outputs: [{ name: 'nope' }] }),
      /outputs\[0\]\.name: unknown output 'nope'; this model returns: probabilities, label, score, species_code/,
    );
  });

  it("answers text-direction over v2 with its processor's rotate flag as a BOOL tensor", async () => {
    const g = await golden('text-direction', '1');
    const files = g.instances.map((i) => String((i as { x: { b64: string } }).x.b64));
    const v2 = await scorer.infer(await ModelRegistry.load(MODELS).then((r) => r.resolve('text-direction')), {
      inputs: [
        {
          name: 'x',
          datatype: 'BYTES',
          shape: [files.length],
          data: files,
          parameters: { content_type: 'base64' },
        },
      ],
    });
    assert.deepEqual(
      v2.outputs.find((o) => o.name === 'rotate'),
      {
        name: 'rotate',
        datatype: 'BOOL',
        shape: [4],
        data: [false, true, false, true],
      },
    );
  });
});

describe('a processor is pinned and checked like the model', () => {
  it('refuses to load a processor whose bytes do not match its sha256, naming both hashes', async () => {
    const dir = join(root, 'iris-proc', '1');
    await writeFile(join(dir, 'processor.ts'), `${PROCESSOR}// edited\n`);
    try {
      await assert.rejects(
        ModelRegistry.load(root, { only: ['iris-proc'] }),
        /processor\.sha256 does not match processor\.ts \(file hashes to [0-9a-f]{64}\)/,
      );
    } finally {
      await writeFile(join(dir, 'processor.ts'), PROCESSOR);
    }
  });

  it('fails start-up when the processor exports neither hook', async () => {
    const other = await mkdtemp(join(tmpdir(), 'infera-proc-bad-'));
    await cp(join(MODELS, 'iris'), join(other, 'iris'), { recursive: true });
    const code = 'export const nothing = 1;\n';
    await writeFile(join(other, 'iris', '1', 'processor.ts'), code);
    await editJson(join(other, 'iris', '1', 'model.json'), (m) => {
      m.processor = { file: 'processor.ts', sha256: sha(code) };
    });
    const reg = await ModelRegistry.load(other);
    await assert.rejects(
      new Scorer(reg, new OnnxRuntimeEngine(), threads).warmup(),
      (e: ModelPackageError) => {
        assert.match(e.details.join('\n'), /processor\.ts: exports neither preprocess nor postprocess/);
        return true;
      },
    );
  });
});
