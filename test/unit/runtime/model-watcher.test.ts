import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { type ModelReport, watchModels } from '#runtime/model-watcher.ts';
import { copyModels, editJson, golden } from '../../helpers.ts';

type Report = Parameters<ModelReport>[1] & { model: string };

describe('npm start following models/', () => {
  let root: string;
  let registry: ModelRegistry;
  let scorer: Scorer;
  let stop: () => void;
  let waiting: ((r: Report) => void) | undefined;
  const next = () =>
    new Promise<Report>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no report within 10 s')), 10_000);
      waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });

  before(async () => {
    root = await copyModels();
    registry = await ModelRegistry.load(root, { only: undefined });
    scorer = new Scorer(
      registry,
      new OnnxRuntimeEngine(),
      { intraOpThreads: 1, interOpThreads: 1 },
      { serveAll: true },
    );
    stop = watchModels(registry, scorer, (model, r) => {
      waiting?.({ model, ...r });
      waiting = undefined;
    });
  });
  after(async () => {
    stop?.();
    await rm(root, { recursive: true, force: true });
  });

  it('serves a model folder copied in, once its graph is checked', async () => {
    const seen = next();
    await cp(join(root, 'iris'), join(root, '.iris-new'), { recursive: true });
    await editJson(join(root, '.iris-new', '1', 'model.json'), (m) => {
      m.name = 'iris-new';
    });
    // As a user drops a finished folder in: one rename.
    const { rename } = await import('node:fs/promises');
    await rename(join(root, '.iris-new'), join(root, 'iris-new'));
    assert.deepEqual(await seen, { model: 'iris-new', change: 'added', problems: [] });
    const [p] = await scorer.predict(
      registry.resolve('iris-new'),
      (await golden('iris', '1')).instances.slice(0, 1),
    );
    assert.ok(p?.label);
  });

  it('leaves a broken folder out, naming its problem, while the other models keep serving', async () => {
    const seen = next();
    await cp(join(root, 'iris'), join(root, 'iris-broken'), { recursive: true });
    await writeFile(join(root, 'iris-broken', '1', 'model.json'), '{"name": "iris-broken", "version": "1"}');
    const r = await seen;
    assert.equal(r.change, 'unchanged');
    assert.match(r.problems.join('\n'), /iris-broken\/1\/model\.json: /);
    assert.throws(() => registry.get('iris-broken'), /does not exist/);
    assert.ok(registry.get('iris'));
  });

  it('stops serving a model whose folder is removed', async () => {
    const seen = next();
    await rm(join(root, 'iris-new'), { recursive: true });
    assert.deepEqual(await seen, { model: 'iris-new', change: 'removed', problems: [] });
    assert.throws(() => registry.get('iris-new'), /does not exist/);
  });
});
