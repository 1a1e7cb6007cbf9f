/**
 * npm start follows models/: a model folder copied in serves within seconds, through the API,
 * and a broken one is logged while the others keep answering.
 */
import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyModels, editJson, golden, type RunningPlatform, startPlatform } from '../helpers.ts';

let models: string;
let platform: RunningPlatform;
before(async () => {
  models = await copyModels();
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'INFO' }, ['--no-batch', '--models', models]);
});
after(async () => {
  await platform?.stop();
  await rm(models, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a model folder added while npm start runs', () => {
  it('serves within seconds, with no restart', async () => {
    await cp(join(models, 'iris'), join(models, 'iris-copy'), { recursive: true });
    await editJson(join(models, 'iris-copy', '1', 'model.json'), (m) => {
      m.name = 'iris-copy';
    });
    const instances = (await golden('iris', '1')).instances.slice(0, 1);
    const answer = await until('iris-copy answered', async () => {
      const r = await fetch(`${platform.url}/v1/models/iris-copy/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances }),
      });
      return r.status === 200 ? ((await r.json()) as { predictions: { label: string }[] }) : undefined;
    });
    assert.ok(answer.predictions[0]?.label);
  });

  it('logs a broken folder and keeps the other models answering', async () => {
    await cp(join(models, 'iris'), join(models, 'iris-broken'), { recursive: true });
    await writeFile(join(models, 'iris-broken', '1', 'model.json'), '{"name": "iris-broken"}');
    await until('the problem logged', async () =>
      /model folder not applied[\s\S]*iris-broken/.test(platform.output()) ? true : undefined,
    );
    const r = await fetch(`${platform.url}/v1/models/iris-broken/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"instances": [{}]}',
    });
    assert.equal(r.status, 404);
    const iris = await fetch(`${platform.url}/v2/models/iris/ready`);
    assert.equal(iris.status, 200);
  });
});
