/**
 * npm start with many models: 500 generated models (scripts/make-models.ts) are loaded, checked and
 * served by one predict function, as a shared model function serves them on AWS, with a session
 * cache that holds about 30 of them; a canary and a rollback of one model leave every other
 * model's answers unchanged; and the dashboard stays usable: its model list shows at most 40
 * buttons and a filter finds any model.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { diffWithin, goldenSchema } from '#core/model/golden.ts';
import { makeModels, writeModel } from '../../scripts/make-models.ts';
import { cli, type RunningPlatform, startPlatform } from '../helpers.ts';
import { launchBrowser } from '../support/browser.ts';

const COUNT = 500;
const CANARIED = 'iris-007';
const row = { sepal_length_cm: 6.0, sepal_width_cm: 2.9, petal_length_cm: 4.5, petal_width_cm: 1.5 };

/** Every model's answer to the same rows, as the response bodies' predictions. */
async function answers(url: string, names: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of names) {
    const res = await fetch(`${url}/v1/models/${name}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [row, { ...row, petal_length_cm: 1.4, petal_width_cm: 0.2 }] }),
    });
    assert.equal(res.status, 200, name);
    const body = (await res.json()) as { predictions: unknown; version: string };
    out.set(name, JSON.stringify({ predictions: body.predictions, version: body.version }));
  }
  return out;
}
let dir: string;
let p: RunningPlatform;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infera-many-'));
  await makeModels(dir, COUNT);
  // A second version of one model, not yet live: the one the canary below releases.
  await writeModel(dir, CANARIED, '2', { seed: 99, live: false });
  // About 30 of the 500 sessions fit: requests below keep loading and releasing them.
  p = await startPlatform({ MODEL_CACHE_MB: '16' }, [
    '--models',
    dir,
    '--no-batch',
    '--no-sagemaker',
    '--quiet',
  ]);
});
after(async () => {
  await p?.stop();
});

/** The versions of the canaried model that 40 callers, each with its own routing key, are served. */
/**
 * Waits until the running platform has applied aliases.json (it watches the file, so a change
 * lands a moment after the CLI wrote it), judged by the live versions GET /v1/models/{m} reports.
 */
async function applied(url: string, live: string[]): Promise<void> {
  let seen: string[] = [];
  for (let i = 0; i < 100; i++) {
    const body = (await (await fetch(`${url}/v1/models/${CANARIED}`)).json()) as {
      traffic: { live: { version: string }[] };
    };
    seen = body.traffic.live.map((l) => l.version).sort();
    if (JSON.stringify(seen) === JSON.stringify(live)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the platform still serves ${seen.join(', ')}, not ${live.join(', ')}`);
}

async function versionsSeen(url: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${url}/v1/models/${CANARIED}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-infera-routing-key': `caller-${i}` },
      body: JSON.stringify({ instances: [row] }),
    });
    assert.equal(res.status, 200);
    seen.add(((await res.json()) as { version: string }).version);
  }
  return seen;
}

describe(`npm start with ${COUNT} models`, () => {
  it('lists every model and answers each one its golden fixtures', async () => {
    const { models } = (await (await fetch(`${p.url}/v1/models`)).json()) as { models: { name: string }[] };
    assert.equal(models.length, COUNT);
    for (const name of ['iris-001', 'iris-250', 'iris-500']) {
      const g = goldenSchema.parse(
        JSON.parse(await readFile(join(dir, name, '1', 'fixtures', 'golden.json'), 'utf8')),
      );
      const res = await fetch(`${p.url}/v1/models/${name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: g.instances }),
      });
      assert.equal(res.status, 200, name);
      const body = (await res.json()) as { predictions: unknown[] };
      body.predictions.forEach((pred, i) => {
        assert.deepEqual(diffWithin(g.expected[i], pred, g.tolerance, `${name}[${i}]`), []);
      });
    }
  });

  it('a canary and a rollback of one model change its answers only; every other model answers identically', async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `iris-${String(i + 1).padStart(3, '0')}`);
    const others = names.filter((n) => n !== CANARIED);
    const before = await answers(p.url, names);

    const release = await cli(['release', CANARIED, '2', '--canary', '50', '--models', dir]);
    assert.equal(release.code, 0, release.stderr);
    await applied(p.url, ['1', '2']);
    // Sticky routing keys put callers on both sides of the 50% split.
    const seen = await versionsSeen(p.url);
    assert.deepEqual([...seen].sort(), ['1', '2'], 'the canary serves both versions');
    const during = await answers(p.url, others);
    for (const n of others) assert.equal(during.get(n), before.get(n), `${n} during the canary`);

    const rollback = await cli(['rollback', CANARIED, '--models', dir]);
    assert.equal(rollback.code, 0, rollback.stderr);
    await applied(p.url, ['1']);
    assert.deepEqual([...(await versionsSeen(p.url))], ['1'], 'every caller is back on version 1');
    const afterRollback = await answers(p.url, names);
    for (const n of names) assert.equal(afterRollback.get(n), before.get(n), `${n} after the rollback`);
    assert.equal((await fetch(`${p.url}/v2/health/ready`)).status, 200, 'the server stays ready');
  });

  describe('the dashboard', () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it('shows at most 40 model buttons, and its filter finds any model', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${p.url}/dashboard#iris-055`);
      await page.waitForFunction(() => Number(document.body.dataset.renders) >= 1, null, { timeout: 15_000 });
      const buttons = () =>
        page.$$eval('#models button', (bs) => bs.map((b) => (b as HTMLElement).dataset.model));
      const first = await buttons();
      assert.equal(first.length, 41, 'the first 40 and the selected one');
      assert.equal(first[0], 'iris-055');
      assert.equal(await page.locator('#models button[aria-pressed="true"]').innerText(), 'iris-055');
      assert.equal(await page.locator('#model-filter').isVisible(), true);

      await page.fill('#model-filter', 'IRIS-05');
      assert.deepEqual(
        await buttons(),
        Array.from({ length: 10 }, (_, i) => `iris-05${i}`),
      );
      assert.equal(await page.locator('#models-shown').innerText(), `10 of 10 matching, ${COUNT} models`);
      await page.click('#models button[data-model="iris-057"]');
      await page.waitForFunction(() => location.hash === '#iris-057');
      assert.equal(await page.locator('#models button[aria-pressed="true"]').innerText(), 'iris-057');

      await page.fill('#model-filter', 'no-such-model');
      assert.deepEqual(await buttons(), []);
      assert.deepEqual(errors, []);
    });
  });
});
