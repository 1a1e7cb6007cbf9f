/**
 * npm start --store: the local platform serving a model store folder through the same code as a
 * store-backed function on AWS, and the CLI's publish, release and rollback acting on it. A
 * release sends the new version's golden fixtures to the running platform first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeModels, writeModel } from '../../scripts/make-models.ts';
import { cli, type RunningPlatform, startPlatform } from '../helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'infera-store-e2e-'));
const models = join(work, 'models');
const store = join(work, 'store');
let platform: RunningPlatform;
const INSTANCE = { sepal_length_cm: 6.1, sepal_width_cm: 2.8, petal_length_cm: 4.7, petal_width_cm: 1.2 };

async function predict(model: string, key?: string) {
  const res = await fetch(`${platform.url}/v1/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-infera-routing-key': key } : {}) },
    body: JSON.stringify({ instances: [INSTANCE] }),
  });
  return { status: res.status, version: res.headers.get('x-model-version'), body: await res.text() };
}

const storeRecord = (model: string) =>
  JSON.parse(readFileSync(join(store, 'records', `${model}.json`), 'utf8')) as {
    revision: number;
    aliases: unknown;
  };

before(async () => {
  await makeModels(models, 3, { prefix: 'loc' });
  const r = await cli(['publish', '--all', '--models', models, '--store', store]);
  assert.equal(r.code, 0, r.stderr);
  platform = await startPlatform(
    { POWERTOOLS_LOG_LEVEL: 'ERROR', MODEL_POLICY_TTL_MS: '0', MODEL_PACKAGE_CACHE_DIR: join(work, 'cache') },
    ['--store', store, '--no-batch', '--no-sagemaker', '--quiet'],
  );
});
after(async () => {
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('npm start serving a model store folder', () => {
  it('lists and serves every published model, fetched on its first request', async () => {
    const list = (await (await fetch(`${platform.url}/v1/models`)).json()) as { models: { name: string }[] };
    assert.deepEqual(
      list.models.map((m) => m.name),
      ['loc-001', 'loc-002', 'loc-003'],
    );
    // Ready before its first request, as the store-backed function is: its session loads on use.
    assert.equal((await fetch(`${platform.url}/v2/models/loc-001/ready`)).status, 200);
    for (const m of ['loc-001', 'loc-002', 'loc-003']) assert.equal((await predict(m)).status, 200);
    const missing = await predict('loc-404');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /infera publish loc-404/);
  });

  it('releases one model with its golden fixtures checked first, and rolls it back', async () => {
    const others = { a: (await predict('loc-001')).body, c: (await predict('loc-003')).body };
    await writeModel(models, 'loc-002', '2', { seed: 55, live: false });
    assert.equal((await cli(['publish', 'loc-002', '2', '--models', models, '--store', store])).code, 0);
    const r = await cli([
      'release',
      'loc-002',
      '2',
      '--canary',
      '30',
      '--store',
      store,
      '--url',
      platform.url,
      '--bake',
      '0',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /answered its golden fixtures/);
    assert.deepEqual(storeRecord('loc-002').aliases, { live: { '1': 0.7, '2': 0.3 }, previous: '1' });
    const versions = new Set<string | null>();
    for (let i = 0; i < 40; i++) versions.add((await predict('loc-002', `k${i}`)).version);
    assert.deepEqual([...versions].sort(), ['1', '2']);
    assert.equal((await predict('loc-001')).body, others.a);
    assert.equal((await predict('loc-003')).body, others.c);
    const back = await cli(['rollback', 'loc-002', '--store', store]);
    assert.equal(back.code, 0, back.stderr);
    for (let i = 0; i < 10; i++) assert.equal((await predict('loc-002', `k${i}`)).version, '1');
  });

  it('moves nothing when the version fails its golden fixtures on the platform', async () => {
    await writeModel(models, 'loc-003', '2', { seed: 56, live: false });
    const golden = join(models, 'loc-003', '2', 'fixtures', 'golden.json');
    const g = JSON.parse(readFileSync(golden, 'utf8')) as { expected: { label: string }[] };
    for (const e of g.expected) e.label = e.label === 'setosa' ? 'virginica' : 'setosa';
    writeFileSync(golden, JSON.stringify(g));
    assert.equal((await cli(['publish', 'loc-003', '2', '--models', models, '--store', store])).code, 0);
    const before = storeRecord('loc-003');
    const r = await cli(['release', 'loc-003', '2', '--store', store, '--url', platform.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed its golden fixtures .* traffic did not move/);
    assert.deepEqual(storeRecord('loc-003'), before);
  });
});
