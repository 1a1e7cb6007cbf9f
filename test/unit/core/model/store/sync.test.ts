/**
 * The model store's core against a real store folder: publishing, one model's record changing
 * alone, and a serving process following it within its ttl, fetching and verifying packages into
 * a bounded cache. The clock is the test's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FolderModelStore } from '../../../../../functions/adapters/model-store/folder.ts';
import { NotFoundError, PreconditionFailedError } from '../../../../../functions/core/errors.ts';
import { DEFAULT_PLACEMENT_POLICY } from '../../../../../functions/core/model/placement.ts';
import { ModelRegistry } from '../../../../../functions/core/model/registry.ts';
import { PackageCache } from '../../../../../functions/core/model/repository/package-cache.ts';
import { publishModel, readRecord } from '../../../../../functions/core/model/store/publish.ts';
import {
  changePolicy,
  goldenCaseOf,
  liveGoldenCases,
} from '../../../../../functions/core/model/store/release.ts';
import { StoreSync } from '../../../../../functions/core/model/store/sync.ts';
import { release } from '../../../../../functions/core/model/traffic.ts';
import type { ModelStore } from '../../../../../functions/core/ports.ts';
import { writeModel } from '../../../../../scripts/make-models.ts';

const work = mkdtempSync(join(tmpdir(), 'infera-store-unit-'));
const models = join(work, 'models');
after(() => rmSync(work, { recursive: true, force: true }));

/** A store that counts record reads and can be made to fail. */
class Watched extends FolderModelStore {
  reads = 0;
  failing = false;
  override async readRecord(model: string) {
    this.reads++;
    if (this.failing) throw new Error('store down');
    return super.readRecord(model);
  }
}

const publish = (store: ModelStore, name: string, versions: string[]) =>
  publishModel(store, join(models, name), name, versions, {
    routing: DEFAULT_PLACEMENT_POLICY,
    reason: 'test',
  });

function serving(store: ModelStore, opts: { ttlMs?: number; cacheMb?: number } = {}) {
  let now = 1_000_000;
  const registry = ModelRegistry.empty('store');
  const stale: string[] = [];
  const cacheDir = mkdtempSync(join(work, 'cache-'));
  const cache = new PackageCache(cacheDir, store, (opts.cacheMb ?? 100) * 1024 * 1024);
  const sync = new StoreSync(store, cache, registry, {
    ttlMs: opts.ttlMs ?? 5000,
    routing: DEFAULT_PLACEMENT_POLICY,
    now: () => now,
    onStale: (m, p) => stale.push(`${m}: ${p}`),
  });
  return { registry, sync, cache, cacheDir, stale, tick: (ms: number) => (now += ms) };
}

before(async () => {
  for (const [name, seed] of [
    ['alpha', 1],
    ['beta', 2],
    ['gamma', 3],
  ] as const)
    await writeModel(models, name, '1', { seed });
  await writeModel(models, 'alpha', '2', { seed: 11, live: false });
});

describe('publishing to a model store', () => {
  it("adds versions to a model's record, starting its policy from aliases.json, and moves no traffic after", async () => {
    const store = new FolderModelStore(join(work, 'publish'));
    const first = await publish(store, 'alpha', ['1']);
    assert.deepEqual(first.record.aliases, { live: '1' });
    assert.equal(first.record.revision, 1);
    const second = await publish(store, 'alpha', ['2']);
    assert.deepEqual(Object.keys(second.record.versions), ['1', '2']);
    assert.deepEqual(second.record.aliases, { live: '1' });
    assert.equal(second.record.revision, 2);
    const again = await publish(store, 'alpha', ['1', '2']);
    assert.equal(again.record.revision, 2, 'publishing the same bytes again changes nothing');
    assert.ok(again.published.every((p) => p.already && p.uploaded === 0));
  });

  it('refuses other bytes under a published version, before uploading anything', async () => {
    const store = new FolderModelStore(join(work, 'immutable'));
    await publish(store, 'beta', ['1']);
    const objects = readdirSync(join(work, 'immutable', 'objects', 'sha256')).length;
    const dir = mkdtempSync(join(work, 'other-'));
    await writeModel(dir, 'beta', '1', { seed: 99 });
    await assert.rejects(
      publishModel(store, join(dir, 'beta'), 'beta', ['1'], {
        routing: DEFAULT_PLACEMENT_POLICY,
        reason: 't',
      }),
      (err: unknown) => err instanceof PreconditionFailedError && /immutable/.test(err.message),
    );
    assert.equal(readdirSync(join(work, 'immutable', 'objects', 'sha256')).length, objects);
  });

  it('refuses a version folder whose model file does not hash to its manifest', async () => {
    const dir = mkdtempSync(join(work, 'broken-'));
    await writeModel(dir, 'delta', '1', { seed: 4 });
    writeFileSync(join(dir, 'delta', '1', 'model.onnx'), 'not the model');
    await assert.rejects(
      publishModel(new FolderModelStore(join(work, 'broken-store')), join(dir, 'delta'), 'delta', ['1'], {
        routing: DEFAULT_PLACEMENT_POLICY,
        reason: 't',
      }),
      /sha256 does not match model.onnx/,
    );
  });
});

describe("changing one model's policy", () => {
  it("writes only that model's record, on the revision it read", async () => {
    const store = new FolderModelStore(join(work, 'policy'));
    await publish(store, 'alpha', ['1', '2']);
    await publish(store, 'beta', ['1']);
    const beta = await readRecord(store, 'beta');
    const c = await changePolicy(store, 'alpha', (f, p) => release(f, p, '2', 10), 'canary');
    assert.ok(c.changed);
    assert.deepEqual(c.after.aliases, { live: { '1': 0.9, '2': 0.1 }, previous: '1' });
    assert.deepEqual(await readRecord(store, 'beta'), beta);
    // A writer holding the old revision loses, and nothing moves.
    await assert.rejects(
      changePolicy(store, 'alpha', (f, p) => release(f, p, '2', 50), 'late', c.before),
      PreconditionFailedError,
    );
    assert.equal((await readRecord(store, 'alpha'))?.revision, c.after.revision);
    const history = (await store.history('alpha', 10)) as { revision: number; reason: string }[];
    assert.deepEqual(
      history.map((h) => h.revision),
      [c.after.revision, c.before.revision],
    );
  });

  it('refuses a version that is not published, and says how to publish it', async () => {
    const store = new FolderModelStore(join(work, 'policy'));
    await assert.rejects(
      changePolicy(store, 'alpha', (f, p) => release(f, p, '7', 10), 't'),
      (err: unknown) => err instanceof NotFoundError && /infera publish alpha 7/.test(err.message),
    );
  });

  it("reads a version's golden fixtures from its own package, and every live version's", async () => {
    const store = new FolderModelStore(join(work, 'policy'));
    const record = await readRecord(store, 'alpha');
    assert.ok(record);
    const c = await goldenCaseOf(store, record, '2');
    assert.equal(c?.version, '2');
    assert.ok((c?.golden.instances.length ?? 0) > 0);
    const live = await liveGoldenCases(store);
    assert.deepEqual(live.map((x) => `${x.model}@${x.version}`).sort(), ['alpha@1', 'alpha@2', 'beta@1']);
  });
});

describe('a serving process following the store', () => {
  it("reads a model's record once per ttl, and concurrent requests share one read", async () => {
    const store = new Watched(join(work, 'follow'));
    await publish(store, 'alpha', ['1', '2']);
    const s = serving(store);
    store.reads = 0;
    await Promise.all(Array.from({ length: 20 }, () => s.sync.ensure('alpha')));
    assert.equal(store.reads, 1);
    s.tick(4000);
    await s.sync.ensure('alpha');
    assert.equal(store.reads, 1, 'within the ttl');
    s.tick(1001);
    await s.sync.ensure('alpha');
    assert.equal(store.reads, 2, 'the ttl passed');
    assert.equal(s.registry.pickVersion('alpha').mv.version, '1');
  });

  it("serves a release from its first request after the ttl, keeping the unchanged version's objects", async () => {
    const store = new Watched(join(work, 'follow'));
    const s = serving(store);
    await s.sync.ensure('alpha');
    const v1 = s.registry.resolve('alpha', '1');
    await changePolicy(store, 'alpha', (f, p) => release(f, p, '2', undefined), 'all');
    await s.sync.ensure('alpha');
    assert.equal(s.registry.pickVersion('alpha').mv.version, '1', 'the record in hand serves until the ttl');
    s.tick(5001);
    await s.sync.ensure('alpha');
    assert.equal(s.registry.pickVersion('alpha').mv.version, '2');
    assert.equal(s.registry.resolve('alpha', '1'), v1, 'the same object: its session and monitoring stay');
  });

  it('keeps serving what it has when the store does not answer, and asks again within a second', async () => {
    const store = new Watched(join(work, 'follow'));
    const s = serving(store);
    await s.sync.ensure('alpha');
    store.failing = true;
    s.tick(6000);
    await s.sync.ensure('alpha');
    assert.match(s.stale.join(), /store down/);
    assert.ok(s.registry.pickVersion('alpha'));
    store.failing = false;
    const reads = store.reads;
    s.tick(1001);
    await s.sync.ensure('alpha');
    assert.equal(store.reads, reads + 1);
  });

  it('answers 404 for a model the store does not have, and for a name that cannot be one', async () => {
    const s = serving(new FolderModelStore(join(work, 'follow')));
    await assert.rejects(
      s.sync.ensure('nope'),
      (err: unknown) => err instanceof NotFoundError && /infera publish nope/.test(err.message),
    );
    await assert.rejects(s.sync.ensure('../../etc'), NotFoundError);
  });

  it('fetches a version asked for by number once it is published, but reads the store at most once a second for it', async () => {
    const store = new Watched(join(work, 'late'));
    await publish(store, 'alpha', ['1']);
    const s = serving(store);
    await s.sync.ensure('alpha', '2');
    assert.throws(() => s.registry.resolve('alpha', '2'), NotFoundError);
    await publish(store, 'alpha', ['2']);
    const reads = store.reads;
    await s.sync.ensure('alpha', '2');
    assert.equal(store.reads, reads, 'not within a second of the last read');
    s.tick(1001);
    await s.sync.ensure('alpha', '2');
    assert.equal(s.registry.resolve('alpha', '2').version, '2');
  });

  it('refuses a package whose stored bytes were changed, and leaves nothing half-written', async () => {
    const root = join(work, 'tampered');
    const store = new FolderModelStore(root);
    const { record } = await publish(store, 'gamma', ['1']);
    const objects = join(root, 'objects', 'sha256');
    const index = JSON.parse(
      (await import('node:fs')).readFileSync(join(objects, record.versions['1'] as string), 'utf8'),
    ) as { files: { path: string; sha256: string }[] };
    const onnx = index.files.find((f) => f.path === 'model.onnx');
    assert.ok(onnx);
    writeFileSync(
      join(objects, onnx.sha256),
      Buffer.alloc((await import('node:fs')).statSync(join(objects, onnx.sha256)).size),
    );
    const s = serving(store);
    await assert.rejects(s.sync.ensure('gamma'), /does not hash to its name/);
    assert.deepEqual(readdirSync(s.cacheDir), []);
  });

  it('lets the least recently used models go when the package cache is full', async () => {
    const store = new FolderModelStore(join(work, 'budget'));
    for (const name of ['alpha', 'beta', 'gamma']) await publish(store, name, ['1']);
    // Room for two packages of these (about 4 KB each), not three.
    const one = (
      await new PackageCache(join(work, 'probe'), store, 1e9).open(
        (
          await readRecord(store, 'alpha')
        )?.versions['1'] as string,
        () => {},
      )
    ).bytes;
    const s = serving(store, { cacheMb: (one * 2.5) / 1024 / 1024 });
    await s.sync.ensure('alpha');
    s.tick(10);
    await s.sync.ensure('beta');
    s.tick(10);
    await s.sync.ensure('alpha');
    s.tick(10);
    await s.sync.ensure('gamma');
    assert.deepEqual(
      s.registry
        .list()
        .map((e) => e.name)
        .sort(),
      ['alpha', 'gamma'],
      'beta was used least recently',
    );
    assert.ok(s.cache.usedBytes <= s.cache.budgetBytes);
    assert.equal(readdirSync(s.cacheDir).length, 2);
    await s.sync.ensure('beta');
    assert.equal(s.registry.pickVersion('beta').mv.version, '1', 'and comes back on its next request');
  });
});
