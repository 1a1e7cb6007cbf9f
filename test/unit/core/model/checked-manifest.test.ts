/**
 * Manifests checked at build time: infra/lib/package-models.ts writes model.checked.json beside
 * each model.json of a bundle, and a start-up reads it instead of running the schema, only while
 * it was made from the same model.json bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelRegistry } from '#core/model/registry.ts';
import { CHECKED_MANIFEST } from '#core/model/repository/checked-manifest.ts';
import { packageModels } from '../../../../infra/lib/package-models.ts';
import { MODELS, SHIPPED_MODELS, writeEchoModel } from '../../../helpers.ts';

/** Only what JSON carries: a checked manifest read back must be the object the schema gave. */
function assertPlainJson(v: unknown, at = 'manifest'): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    assert.ok(Number.isFinite(v), `${at} is ${v}, which JSON cannot carry`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      assertPlainJson(x, `${at}[${i}]`);
    });
    return;
  }
  assert.equal(Object.getPrototypeOf(v), Object.prototype, `${at} is a plain object`);
  for (const [k, x] of Object.entries(v as object)) {
    assert.notEqual(x, undefined, `${at}.${k} is undefined: JSON would drop the key`);
    assertPlainJson(x, `${at}.${k}`);
  }
}

function bundle(from: string, models: readonly string[]): string {
  const to = join(mkdtempSync(join(tmpdir(), 'infera-checked-')), 'models');
  packageModels({ from, to, models });
  return to;
}

describe('manifests checked at build time', () => {
  it('carries, for every shipped model and a tensor model, the manifest the schema gives, through JSON unchanged', async () => {
    const extra = mkdtempSync(join(tmpdir(), 'infera-checked-src-'));
    await writeEchoModel(extra);
    for (const [from, names] of [
      [MODELS, SHIPPED_MODELS],
      [extra, ['echo-tensors']],
    ] as const) {
      const parsed = await ModelRegistry.load(from, { only: [...names] });
      const fromBuild = await ModelRegistry.load(bundle(from, names), { only: [...names] });
      for (const name of names) {
        for (const mv of parsed.list().find((m) => m.name === name)?.versions ?? []) {
          const built = fromBuild.resolve(name, mv.version).manifest;
          assertPlainJson(mv.manifest, `${name}@${mv.version}`);
          assert.deepEqual(built, mv.manifest, `${name}@${mv.version}`);
        }
      }
    }
  });

  it('is what a start-up reads while model.json is unchanged, and is ignored once a byte of it changes', async () => {
    const models = bundle(MODELS, ['iris']);
    const dir = join(models, 'iris', '1');
    const checked = JSON.parse(readFileSync(join(dir, CHECKED_MANIFEST), 'utf8'));
    // Mark the checked copy: a start-up that reads it shows the mark, one that parses model.json does not.
    checked.manifest.description = 'read from model.checked.json';
    writeFileSync(join(dir, CHECKED_MANIFEST), JSON.stringify(checked));
    const fromChecked = await ModelRegistry.load(models, { only: ['iris'] });
    assert.equal(fromChecked.resolve('iris', '1').manifest.description, 'read from model.checked.json');

    writeFileSync(join(dir, 'model.json'), `${readFileSync(join(dir, 'model.json'), 'utf8')} `);
    const reparsed = await ModelRegistry.load(models, { only: ['iris'] });
    assert.notEqual(reparsed.resolve('iris', '1').manifest.description, 'read from model.checked.json');
  });

  it('still refuses a broken model.json with its message when a stale checked manifest sits beside it', async () => {
    const models = bundle(MODELS, ['iris']);
    const path = join(models, 'iris', '1', 'model.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.task = 'clustering';
    writeFileSync(path, JSON.stringify(json));
    await assert.rejects(ModelRegistry.load(models, { only: ['iris'] }), /model\.json: task/);
  });
});
