/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Manifest } from '#core/model/manifest.ts';
import { rng } from '../../scripts/lib/ml.ts';
import { rowSampler } from '../../scripts/traffic.ts';
import { cli, copyModels, ROOT, type RunningPlatform, run, startPlatform } from '../helpers.ts';
import { launchBrowser } from '../support/browser.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts');

async function predict(url: string, instances: unknown[], headers: Record<string, string> = {}, query = '') {
  const res = await fetch(`${url}/v1/models/fraud-detector/predict${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ instances }),
  });
  const body = (await res.json()) as { version?: string; predictions?: unknown[] };
  return { status: res.status, version: res.headers.get('x-model-version'), body };
}

async function monitoring(url: string) {
  const res = await fetch(`${url}/v1/models/fraud-detector/monitoring`);
  assert.equal(res.status, 200);
  return (await res.json()) as {
    policy: { live: { version: string; weight: number }[]; shadow: string | null };
    comparisons: { primary: string; shadow: string; requests: number; agreement: number | null }[];
  };
}

/** Waits until the running platform has applied a policy change (it watches aliases.json). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const liveIs = (url: string, want: string) =>
  until(`live = ${want}`, async () => {
    const m = await monitoring(url);
    return m.policy.live.map((w) => `${w.version}:${w.weight}`).join(',') === want ? true : undefined;
  });

describe('model lifecycle and monitoring on npm start', () => {
  let p: RunningPlatform;
  let models: string;
  let webhook: Server;
  const events: { kind: string; feature: string; model: string; version: string; psi: number }[] = [];
  let instance: Record<string, unknown>;
  /** One row drawn from the training distribution: traffic that must not look drifted. */
  let row: () => Record<string, unknown>;

  before(async () => {
    models = await copyModels();
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        events.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/drift`;
    p = await startPlatform({}, [
      '--models',
      models,
      '--no-batch',
      '--no-sagemaker',
      '--quiet',
      '--drift-webhook',
      hook,
    ]);
    const manifest = (await (await fetch(`${p.url}/v1/models/fraud-detector`)).json()) as Manifest;
    row = rowSampler(manifest, rng(5));
    instance = row();
  });
  after(async () => {
    await p.stop();
    webhook.close();
  });

  it('infera release --canary 20 splits live traffic about 80/20, without a restart', async () => {
    const r = await cli(['release', 'fraud-detector', '2', '--canary', '20', '--models', models]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /live -> 1 \(80%\) \+ 2 \(20%, canary\)/);
    await liveIs(p.url, '1:0.8,2:0.2');
    const served = { '1': 0, '2': 0 } as Record<string, number>;
    for (let round = 0; round < 100; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => predict(p.url, [row()])));
      for (const b of batch) {
        assert.equal(b.status, 200);
        assert.equal(b.body.version, b.version, 'the body and the header name the same version');
        served[b.version as string] = (served[b.version as string] ?? 0) + 1;
      }
    }
    const share = (served['2'] as number) / 1000;
    assert.ok(share > 0.15 && share < 0.25, `canary share ${share} of 1000`);
    // The running canary is visible wherever live is shown.
    const detail = (await (await fetch(`${p.url}/v1/models/fraud-detector`)).json()) as {
      traffic: { live: { version: string; weight: number }[] };
    };
    assert.deepEqual(detail.traffic.live, [
      { version: '1', weight: 0.8 },
      { version: '2', weight: 0.2 },
    ]);
    const list = await cli(['models', '--url', p.url]);
    assert.match(list.stdout, /fraud-detector\s+binary-classification\s+1,2\s+1 80% \/ 2 20%/);
    const deployments = await cli(['deployments', 'fraud-detector', '--models', models]);
    assert.match(deployments.stdout, /\* 1\s+80%/);
    assert.match(deployments.stdout, /\* 2\s+20%/);
  });

  it('keeps a caller on one version when it sends x-infera-routing-key', async () => {
    const seen = new Map<string, Set<string>>();
    for (let k = 0; k < 40; k++) {
      const key = `customer-${k}`;
      for (let i = 0; i < 5; i++) {
        const r = await predict(p.url, [row()], { 'x-infera-routing-key': key });
        seen.set(key, (seen.get(key) ?? new Set()).add(r.version as string));
      }
    }
    for (const [key, versions] of seen) assert.equal(versions.size, 1, `${key} saw ${[...versions]}`);
    const onCanary = [...seen.values()].filter((v) => v.has('2')).length;
    assert.ok(onCanary > 0 && onCanary < 40, `${onCanary} of 40 callers on the canary`);
  });

  it('infera compare reports both versions from the recorded traffic', async () => {
    const r = await cli(['compare', 'fraud-detector', '1', '2', '--url', p.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /v1\s+v2/);
    assert.match(r.stdout, /policy\s+live 80%\s+live 20%/);
    assert.match(r.stdout, /requests\s+\d+\s+\d+/);
    assert.match(
      r.stdout,
      /latency p50\/p90\/p99 ms\s+[\d.]+ \/ [\d.]+ \/ [\d.]+\s+[\d.]+ \/ [\d.]+ \/ [\d.]+/,
    );
    assert.match(r.stdout, /No paired traffic.*\n.*infera shadow fraud-detector 2/);
  });

  it('infera rollback under load moves every request back to v1 and drops none', async () => {
    let stop = false;
    let rolledBackAt = Number.POSITIVE_INFINITY;
    const results: { status: number; version: string | null; startedAt: number }[] = [];
    const worker = async () => {
      while (!stop) {
        const startedAt = Date.now();
        const r = await predict(p.url, [row()]);
        results.push({ status: r.status, version: r.version, startedAt });
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 300));
    const rb = await cli(['rollback', 'fraud-detector', '--models', models]);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /live 1 \(80%\) \+ 2 \(20%\) -> version 1/);
    await liveIs(p.url, '1:1');
    rolledBackAt = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await Promise.all(workers);
    assert.ok(results.length > 100, `${results.length} requests`);
    assert.deepEqual(
      results.filter((r) => r.status !== 200),
      [],
    );
    const late = results.filter((r) => r.startedAt > rolledBackAt);
    assert.ok(late.length > 10);
    assert.deepEqual([...new Set(late.map((r) => r.version))], ['1']);
  });

  it('a shadow version never changes the response, and its comparison is recorded', async () => {
    const r = await cli(['shadow', 'fraud-detector', '2', '--models', models]);
    assert.equal(r.code, 0, r.stderr);
    await until('shadow applied', async () =>
      (await monitoring(p.url)).policy.shadow === '2' ? true : undefined,
    );
    for (let i = 0; i < 20; i++) {
      instance = row();
      const plain = await predict(p.url, [instance], {}, '?version=1');
      const shadowed = await predict(p.url, [instance]);
      assert.equal(shadowed.version, '1');
      assert.deepEqual(shadowed.body, plain.body);
    }
    const c = await until('shadow comparisons', async () => {
      const m = await monitoring(p.url);
      const found = m.comparisons.find((x) => x.primary === '1' && x.shadow === '2');
      return found && found.requests >= 20 ? found : undefined;
    });
    assert.ok(c.agreement !== null && c.agreement >= 0 && c.agreement <= 1);
    const cmp = await cli(['compare', 'fraud-detector', '1', '2', '--url', p.url]);
    assert.match(cmp.stdout, /Paired on the same requests \(v1 live, v2 shadow\)/);
    assert.match(cmp.stdout, /agreement\s+\d+(\.\d)?%/);
    const off = await cli(['shadow', 'fraud-detector', '--off', '--models', models]);
    assert.equal(off.code, 0, off.stderr);
  });

  it('an invalid aliases.json edit is refused by the CLI and the live policy stays', async () => {
    const r = await cli(['release', 'fraud-detector', '7', '--models', models]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /fraud-detector has no version '7'\. Known versions: 1, 2\./);
    const c = await cli(['release', 'fraud-detector', '2', '--canary', '120', '--models', models]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--canary must be a percentage above 0 and below 100/);
    assert.equal((await monitoring(p.url)).policy.live[0]?.version, '1');
  });

  it('release and rollback with --url (no --models) edit the folder the running platform serves', async () => {
    const r = await cli(['release', 'fraud-detector', '2', '--url', p.url]);
    assert.equal(r.code, 0, r.stderr);
    await liveIs(p.url, '2:1');
    const back = await cli(['rollback', 'fraud-detector'], { INFERA_URL: p.url });
    assert.equal(back.code, 0, back.stderr);
    await liveIs(p.url, '1:1');
    const nowhere = await cli(['release', 'fraud-detector', '2', '--url', 'http://127.0.0.1:9']);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /is not a local infera platform.*--models <dir>.*--stack <name>/);
  });

  it('release with neither --url nor --models edits the folder the running platform serves, named in its info file', async () => {
    const files = await readdir(process.env.INFERA_INFO_DIR as string);
    assert.equal(files.length, 1, `one platform runs: ${files.join(', ')}`);
    const info = JSON.parse(
      await readFile(join(process.env.INFERA_INFO_DIR as string, files[0] as string), 'utf8'),
    ) as {
      url: string;
      modelsDir: string;
    };
    assert.equal(info.url, p.url);
    assert.equal(info.modelsDir, models);
    const r = await cli(['release', 'fraud-detector', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Acting on ${models}, the models folder npm start serves at ${p.url}`));
    await liveIs(p.url, '2:1');
    const back = await cli(['rollback', 'fraud-detector']);
    assert.equal(back.code, 0, back.stderr);
    await liveIs(p.url, '1:1');
  });

  it('the drifted traffic generator raises exactly one drift event for the drifted feature', async () => {
    const t = await run(process.execPath, [
      'scripts/traffic.ts',
      '--url',
      p.url,
      '--drift',
      'amount',
      '--duration',
      '4',
      '--rate',
      '50',
    ]);
    assert.equal(t.code, 0, t.stderr + t.stdout);
    assert.match(t.stdout, /drifting amount/);
    const featureEvents = await until('a drift event at the webhook', async () => {
      const f = events.filter((e) => e.kind === 'feature');
      return f.length > 0 ? f : undefined;
    });
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(
      events.filter((e) => e.kind === 'feature').map((e) => `${e.model}@${e.version}:${e.feature}`),
      ['fraud-detector@1:amount'],
    );
    assert.ok((featureEvents[0]?.psi ?? 0) >= 0.2);
    assert.match(p.output(), /"message":"drift detected".*"feature":"amount"/);
  });

  describe('the dashboard in a real browser (Chromium from @sparticuz/chromium)', () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it('renders every chart with data, the drifting feature and its event; saves a screenshot', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${p.url}/dashboard#fraud-detector`);
      await page.waitForFunction(() => Number(document.body.dataset.renders) >= 1, null, { timeout: 15_000 });
      await page.waitForSelector('tr[data-feature="amount"][data-drifting="true"]', { timeout: 15_000 });
      const painted = await page.$$eval('canvas', (canvases) =>
        canvases.map((c) => {
          const canvas = c as HTMLCanvasElement;
          const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
          let inked = 0;
          for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) inked++;
          return { id: canvas.id, inked };
        }),
      );
      assert.deepEqual(
        painted.map((c) => c.id),
        [
          'split-chart',
          'rate-chart',
          'latency-chart',
          'error-chart',
          'drift-chart',
          'quality-chart',
          'score-chart',
        ],
      );
      // No labels are sent here, so the quality series is empty (test/e2e/quality.test.ts draws it).
      for (const c of painted.filter((x) => x.id !== 'quality-chart'))
        assert.ok(c.inked > 500, `${c.id} has ${c.inked} painted pixels`);
      const stable = await page.$$eval('tr[data-feature][data-drifting="false"]', (rows) =>
        rows.map((r) => (r as HTMLElement).dataset.feature),
      );
      assert.equal(stable.length, 7);
      assert.equal(await page.locator('tr[data-event-feature="amount"]').count(), 1);
      const versions = await page.locator('#versions-table').innerText();
      assert.match(versions, /v1\s+live/);
      // The estimated cost of a million predictions on v1's route, from its p50 here.
      assert.match(versions, /est\. \$ \/ 1M/);
      const monitoring = (await (await fetch(`${p.url}/v1/models/fraud-detector/monitoring`)).json()) as {
        costs: { version: string; route: string; perMillionUsd: number | null; basis: string }[];
      };
      const v1 = monitoring.costs.find((c) => c.version === '1');
      assert.equal(v1?.route, 'Lambda x86_64 1024 MB');
      assert.ok((v1?.perMillionUsd ?? 0) > 0, `v1 has a cost: ${v1?.perMillionUsd}`);
      assert.match(v1?.basis ?? '', /us-east-1 list prices of .*p50/);
      assert.ok(versions.includes(`$${(v1?.perMillionUsd ?? 0).toFixed(2)}`), versions);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      assert.deepEqual(errors, []);
    });
  });
});
