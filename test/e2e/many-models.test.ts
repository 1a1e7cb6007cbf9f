/**
 * npm start with many models: 60 generated models (scripts/make-models.ts) are loaded, checked and
 * served, and the dashboard stays usable: its model list shows at most 40 buttons and a filter
 * finds any model.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { diffWithin, goldenSchema } from '#core/golden.ts';
import { makeModels } from '../../scripts/make-models.ts';
import { type RunningPlatform, startPlatform } from '../helpers.ts';
import { launchBrowser } from '../support/browser.ts';

const COUNT = 60;
let dir: string;
let p: RunningPlatform;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infera-many-'));
  await makeModels(dir, COUNT);
  p = await startPlatform({}, ['--models', dir, '--no-batch', '--no-sagemaker', '--quiet']);
});
after(async () => {
  await p?.stop();
});

describe(`npm start with ${COUNT} models`, () => {
  it('lists every model and answers each one its golden fixtures', async () => {
    const { models } = (await (await fetch(`${p.url}/v1/models`)).json()) as { models: { name: string }[] };
    assert.equal(models.length, COUNT);
    for (const name of ['iris-001', 'iris-030', 'iris-060']) {
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
