/**
 * The scale-test model generator: each generated model is real (its own weights, its sha256
 * verified when the registry loads it) and answers its own golden fixtures through the real
 * scorer; the same arguments write the same bytes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { diffWithin, goldenSchema } from '#core/model/golden.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { makeModels } from '../../../scripts/make-models.ts';

describe('the model generator', () => {
  it('writes distinct real models that load, verify and answer their golden fixtures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-many-'));
    const names = await makeModels(dir, 4, { prefix: 'shop' });
    assert.deepEqual(names, ['shop-001', 'shop-002', 'shop-003', 'shop-004']);
    const registry = await ModelRegistry.load(dir);
    assert.deepEqual(
      registry.list().map((e) => e.name),
      names,
    );
    const hashes = new Set(names.map((n) => registry.resolve(n).manifest.sha256));
    assert.equal(hashes.size, 4, 'every model has its own weights');
    const scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
    for (const n of names) {
      const mv = registry.resolve(n);
      const g = goldenSchema.parse(
        JSON.parse(await readFile(join(mv.dir, 'fixtures', 'golden.json'), 'utf8')),
      );
      const preds = await scorer.predict(mv, g.instances as Record<string, unknown>[]);
      preds.forEach((p, i) => {
        assert.deepEqual(diffWithin(g.expected[i], p, g.tolerance, `${n} predictions[${i}]`), []);
      });
    }
  });

  it('writes the same bytes for the same arguments', async () => {
    const a = await mkdtemp(join(tmpdir(), 'infera-many-'));
    const b = await mkdtemp(join(tmpdir(), 'infera-many-'));
    await makeModels(a, 2);
    await makeModels(b, 2);
    for (const f of ['iris-001/1/model.onnx', 'iris-002/1/model.json', 'iris-002/1/fixtures/golden.json'])
      assert.deepEqual(await readFile(join(a, f)), await readFile(join(b, f)), f);
  });
});
