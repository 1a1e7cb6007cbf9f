import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelPackageError, NotFoundError } from '#core/errors.ts';
import { knownModels, ModelRegistry } from '#core/model/registry.ts';
import { copyModels, editJson, MODELS, SHIPPED_MODELS, writeEchoModel } from '../../../helpers.ts';

async function loadError(root: string): Promise<ModelPackageError> {
  const err = await ModelRegistry.load(root).then(
    () => assert.fail('expected the load to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ModelPackageError, `expected ModelPackageError, got ${err}`);
  return err;
}

describe('ModelRegistry', () => {
  it('loads every shipped model and resolves the live alias by default', async () => {
    const registry = await ModelRegistry.load(MODELS, { only: [...SHIPPED_MODELS] });
    assert.deepEqual(
      registry.list().map((m) => m.name),
      ['dominant-color', 'fraud-detector', 'fraud-detector-xl', 'iris', 'text-direction', 'ticket-router'],
    );
    assert.equal(registry.resolve('fraud-detector').version, '1');
    assert.equal(registry.resolve('fraud-detector', '2').version, '2');
    assert.equal(registry.resolve('fraud-detector', 'live').version, '1');
  });

  it('names the known versions and aliases when a version does not exist', async () => {
    const registry = await ModelRegistry.load(MODELS);
    assert.throws(() => registry.resolve('fraud-detector', '7'), {
      name: 'NotFoundError',
      message:
        "Model 'fraud-detector' has no version or alias '7'. Known versions: 1, 2. Aliases: live -> 1.",
    });
    assert.throws(
      () => registry.resolve('nope'),
      (e: unknown) =>
        e instanceof NotFoundError &&
        /Known models: dominant-color, fraud-detector, fraud-detector-xl, iris/.test(e.message),
    );
  });

  it('names the nearest of many known models, not all of them, when a model does not exist', () => {
    const names = Array.from({ length: 500 }, (_, i) => `iris-${String(i + 1).padStart(3, '0')}`);
    const text = knownModels(names, 'iris-04');
    assert.equal(
      text,
      'Nearest of the 500 known models: iris-040, iris-041, iris-042, iris-043, iris-044, iris-045, iris-046, iris-047, iris-048, iris-049; GET /v1/models lists them all.',
    );
    assert.equal(knownModels(['a', 'b'], 'c'), 'Known models: a, b.');
  });

  it('fails naming the file and the field when a manifest breaks the schema', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.task = 'clustering';
      (m.inputs as { features: { min?: number }[] }).features[0]!.min = 'zero' as never;
    });
    const err = await loadError(root);
    const text = err.details.join('\n');
    assert.match(text, /iris\/1\/model\.json: task: must be one of: "binary-classification"/);
    assert.match(text, /iris\/1\/model\.json: inputs\.features\[0\]\.min: expected number, got string/);
  });

  it('fails with both hashes and the fix when model.onnx does not match its sha256', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.sha256 = 'a'.repeat(64);
    });
    const err = await loadError(root);
    assert.match(
      err.message,
      /iris\/1\/model\.json: sha256 does not match model\.onnx \(file hashes to [0-9a-f]{64}, manifest says a{64}\)/,
    );
    assert.match(err.message, /create a new version folder/);
  });

  it('rejects a misspelt field instead of ignoring it', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.descriptoin = 'typo';
    });
    assert.match((await loadError(root)).message, /iris\/1\/model\.json: unknown field "descriptoin"/);
  });

  it('requires a default for an optional feature, so a missing value can be imputed', async () => {
    const root = await copyModels();
    await editJson(join(root, 'fraud-detector', '1', 'model.json'), (m) => {
      const f = (m.inputs as { features: Record<string, unknown>[] }).features[3] as Record<string, unknown>;
      delete f.default;
    });
    assert.match(
      (await loadError(root)).message,
      /fraud-detector\/1\/model\.json: inputs\.features\[3\]\.default: feature "distance_from_home_km" is optional \(required: false\) but has no default/,
    );
  });

  it('fails when the folder and manifest disagree, model.onnx is missing, or an alias points nowhere, listing all at once', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.name = 'irises';
    });
    await rm(join(root, 'dominant-color', '1', 'model.onnx'));
    await writeFile(join(root, 'fraud-detector', 'aliases.json'), '{"live": "9"}');
    const err = await loadError(root);
    assert.equal(err.details.length, 3);
    assert.match(err.message, /name is "irises" but the folder is "iris"; make them the same/);
    assert.match(err.message, /dominant-color\/1\/model\.onnx: missing/);
    assert.match(err.message, /alias "live" points to version "9", which does not exist \(known: 1, 2\)/);
  });

  it('reports a manifest that is not JSON with the parser position', async () => {
    const root = await copyModels();
    await writeFile(join(root, 'iris', '1', 'model.json'), '{"name": "iris",');
    assert.match((await loadError(root)).message, /iris\/1\/model\.json: not valid JSON/);
  });

  it('serves a new model dropped into the folder with no code change', async () => {
    const root = await copyModels();
    await writeEchoModel(root);
    const registry = await ModelRegistry.load(root);
    assert.equal(registry.resolve('echo-tensors').manifest.task, 'tensor');
  });

  it('points at MODELS_DIR when the models folder does not exist', async () => {
    assert.match(
      (await loadError('/nonexistent/models')).message,
      /cannot read the models directory \(ENOENT\)\. Set MODELS_DIR/,
    );
  });
});

describe('ModelRegistry traffic policies (aliases.json)', () => {
  it('reloads a valid aliases.json edit, and keeps the old policy when the edit is invalid', async () => {
    const dir = await copyModels();
    const registry = await ModelRegistry.load(dir, { only: ['fraud-detector'] });
    const path = join(dir, 'fraud-detector', 'aliases.json');
    await writeFile(path, JSON.stringify({ live: { '1': 0.7, '2': 0.2 } }));
    const bad = await registry.reloadAliases('fraud-detector');
    assert.equal(bad.changed, false);
    assert.match(bad.problems.join('\n'), /aliases\.json: live: the weights of a split must add up to 1/);
    assert.equal(registry.pickVersion('fraud-detector').mv.version, '1');
    await writeFile(path, JSON.stringify({ live: '2', shadow: '1' }));
    assert.deepEqual(await registry.reloadAliases('fraud-detector'), { changed: true, problems: [] });
    const routed = registry.pickVersion('fraud-detector');
    assert.equal(routed.mv.version, '2');
    assert.equal(routed.via, 'live');
    assert.equal(routed.shadow?.version, '1');
    // ?version= names a version outright: no split, no shadow.
    const pinned = registry.pickVersion('fraud-detector', '1');
    assert.equal(pinned.via, 'requested');
    assert.equal(pinned.shadow, undefined);
  });

  it('fails the load naming a split version that does not exist', async () => {
    const dir = await copyModels();
    await writeFile(
      join(dir, 'fraud-detector', 'aliases.json'),
      JSON.stringify({ live: { '1': 0.9, '3': 0.1 } }),
    );
    await assert.rejects(ModelRegistry.load(dir, { only: ['fraud-detector'] }), (e: unknown) => {
      assert.match(
        (e as { details: string[] }).details.join('\n'),
        /alias "live" points to version "3", which does not exist \(known: 1, 2\)/,
      );
      return true;
    });
  });
});
