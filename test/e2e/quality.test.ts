/// <reference lib="dom" />
/**
 * Labelled quality on npm start, as a user meets it: traffic on fraud-detector (with a shadow),
 * labels for part of it by the API and by a file, and GET .../quality, `infera quality` and the
 * dashboard showing per version the accuracy, F1 and AUC computed here, independently, from what
 * the platform answered and the labels sent. Then labels sent again, an unknown id, batch rows,
 * and a canary rolled back on its labelled accuracy.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { QualityReport } from '#core/quality/report-schema.ts';
import { generateTransactions, type Transaction, toCsv } from '../../scripts/lib/fraud-data.ts';
import { cli, copyModels, editJson, type RunningPlatform, startPlatform } from '../helpers.ts';
import { launchBrowser } from '../support/browser.ts';
import { rocAuc } from '../support/metrics.ts';

type Answer = { id: string; label: string; fraud: number };

async function post(url: string, path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

async function quality(url: string): Promise<QualityReport> {
  const res = await fetch(`${url}/v1/models/fraud-detector/quality`);
  assert.equal(res.status, 200);
  return (await res.json()) as QualityReport;
}

/** accuracy_score, f1_score(pos_label='fraud') and roc_auc_score of one version's answers. */
function figures(answers: readonly Answer[], truth: ReadonlyMap<string, string>) {
  const joined = answers.filter((a) => truth.has(a.id));
  const t = joined.map((a) => truth.get(a.id));
  const tp = joined.filter((a, i) => a.label === 'fraud' && t[i] === 'fraud').length;
  const fp = joined.filter((a, i) => a.label === 'fraud' && t[i] !== 'fraud').length;
  const fn = joined.filter((a, i) => a.label !== 'fraud' && t[i] === 'fraud').length;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    labelled: joined.length,
    accuracy: joined.filter((a, i) => a.label === t[i]).length / joined.length,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    auc: rocAuc(
      t.map((x) => x === 'fraud'),
      joined.map((a) => a.fraud),
    ),
  };
}

const instanceOf = (t: Transaction, id?: string) => {
  const o: Record<string, unknown> = id ? { transaction_id: id } : {};
  for (const [k, v] of Object.entries(t)) if (v !== null) o[k] = v;
  return o;
};

describe('labelled quality on npm start', () => {
  let p: RunningPlatform;
  let models: string;
  const v1: Answer[] = [];
  const v2: Answer[] = [];
  const truth = new Map<string, string>();
  const apiLabels: { id: string; label: string }[] = [];
  let fileLabels: string;
  let webhook: Server;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    models = await copyModels();
    // Alarms judge from 20 labels here (the shipped manifests say 200).
    for (const v of ['1', '2'])
      await editJson(join(models, 'fraud-detector', v, 'model.json'), (m) => {
        const q = m.quality as { minLabels: number; alarms: Record<string, number> };
        q.minLabels = 20;
        // The canary test judges accuracy alone.
        if (v === '2') q.alarms = { accuracy: 0.9 };
      });
    // Quality events go where drift events go: here a webhook, judged every second.
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        events.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/events`;
    p = await startPlatform({ QUALITY_REPORT_TTL_MS: '0', QUALITY_EVALUATE_SECONDS: '1' }, [
      '--models',
      models,
      '--drift-webhook',
      hook,
    ]);
    const shadow = await cli(['shadow', 'fraud-detector', '2', '--models', models]);
    assert.equal(shadow.code, 0, shadow.stderr);
    await new Promise((r) => setTimeout(r, 500));
  });
  after(async () => {
    await p?.stop();
    webhook?.close();
  });

  it('joins labels sent by the API and by a file, and shows per version the figures computed from the answers', async () => {
    const { rows, labels } = generateTransactions(400, 4242);
    const send = async (batch: Transaction[], own: boolean) => {
      const ids = own ? batch.map((_, i) => `tx-${v1.length + i}`) : undefined;
      const instances = batch.map((t, i) => instanceOf(t, ids?.[i]));
      const res = await fetch(`${p.url}/v1/models/fraud-detector/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-model-version'), '1');
      const rid = res.headers.get('x-request-id') as string;
      const body = (await res.json()) as {
        predictions: { label: string; probabilities: { fraud: number } }[];
      };
      // The shadow's answers on the same rows, asked for by version: what it logged.
      const shadow = (
        await post(`${p.url}`, '/v1/models/fraud-detector/predict?version=2', {
          instances: batch.map((t) => instanceOf(t)),
        })
      ).body as { predictions: { label: string; probabilities: { fraud: number } }[] };
      return body.predictions.map((pr, i) => {
        const id = ids?.[i] ?? (batch.length === 1 ? rid : `${rid}#${i}`);
        v1.push({ id, label: pr.label, fraud: pr.probabilities.fraud });
        const s = shadow.predictions[i];
        v2.push({ id, label: s?.label ?? '', fraud: s?.probabilities.fraud ?? 0 });
        return id;
      });
    };
    // Rows with the caller's own id, one-row requests named by x-request-id, rows of larger ones.
    const ids: string[] = [];
    for (let i = 0; i < 200; i += 10) ids.push(...(await send(rows.slice(i, i + 10), true)));
    for (let i = 200; i < 300; i++) ids.push(...(await send(rows.slice(i, i + 1), false)));
    for (let i = 300; i < 400; i += 20) ids.push(...(await send(rows.slice(i, i + 20), false)));
    // Four in five get a label: half by the API, half by a file.
    const csv = ['id,label'];
    ids.forEach((id, i) => {
      if (i % 5 === 4) return;
      const label = labels[i] === 1 ? 'fraud' : 'legit';
      truth.set(id, label);
      if (i % 2 === 0) apiLabels.push({ id, label });
      else csv.push(`${id},${label}`);
    });
    for (let i = 0; i < apiLabels.length; i += 100) {
      const r = await post(p.url, '/v1/models/fraud-detector/feedback', apiLabels.slice(i, i + 100));
      assert.equal(r.res.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.accepted, Math.min(100, apiLabels.length - i));
    }
    fileLabels = join(models, 'chargebacks.csv');
    await writeFile(fileLabels, `${csv.join('\n')}\n`);
    const sub = await cli(['feedback', 'submit', fileLabels, '--model', 'fraud-detector']);
    assert.equal(sub.code, 0, sub.stdout + sub.stderr);
    assert.match(sub.stdout, new RegExp(`^${csv.length - 1} label\\(s\\) taken, 0 refused`, 'm'));

    const r = await quality(p.url);
    assert.equal(r.labels.ids, truth.size);
    for (const [version, answers] of [
      ['1', v1],
      ['2', v2],
    ] as const) {
      const want = figures(answers, truth);
      const got = r.versions.find((v) => v.version === version);
      assert.ok(got, `version ${version}`);
      assert.equal(got.labelled, want.labelled);
      assert.ok(
        Math.abs((got.accuracy ?? -1) - want.accuracy) < 1e-6,
        `v${version} accuracy ${got.accuracy} vs ${want.accuracy}`,
      );
      assert.ok(Math.abs((got.f1 ?? -1) - want.f1) < 1e-6, `v${version} f1 ${got.f1} vs ${want.f1}`);
      assert.ok(Math.abs((got.auc ?? -1) - want.auc) < 1e-4, `v${version} auc ${got.auc} vs ${want.auc}`);
    }
    // Version 2 also answered the requests that asked for it by number (pinned), under their own ids.
    assert.deepEqual(r.versions.find((v) => v.version === '2')?.traffic, { shadow: 400, pinned: 400 });
    assert.deepEqual(r.versions.find((v) => v.version === '1')?.traffic, { live: 400 });

    const table = await cli(['quality', 'fraud-detector', '--url', p.url]);
    assert.equal(table.code, 0, table.stderr);
    const want1 = figures(v1, truth);
    assert.match(
      table.stdout,
      new RegExp(
        `^1\\s+live\\s+400\\s+${want1.labelled}\\s+${want1.accuracy.toFixed(3)}\\s+${want1.f1.toFixed(3)}\\s+${want1.auc.toFixed(3)}`,
        'm',
      ),
    );

    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${p.url}/dashboard#fraud-detector`);
      for (const [version, answers] of [
        ['1', v1],
        ['2', v2],
      ] as const) {
        const want = figures(answers, truth);
        const row = `tr[data-quality-version="${version}"]`;
        await page.waitForSelector(row, { timeout: 15_000 });
        for (const f of ['accuracy', 'f1', 'auc'] as const)
          assert.equal(
            await page.textContent(`${row} td[data-figure="${f}"]`),
            want[f].toFixed(3),
            `dashboard v${version} ${f}`,
          );
      }
      // The series' interval, as the report gives it: 24 h in 12 min points, 1 h in 30 s points.
      const title = (text: string) =>
        page.waitForFunction(
          (t) => document.getElementById('quality-series-title')?.textContent === t,
          text,
          { timeout: 15_000 },
        );
      await title('Accuracy per 12 min');
      await page.selectOption('#quality-hours', '1');
      await title('Accuracy per 30 s');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('changes nothing when the same labels are sent again, and counts a label for an unknown id as unmatched', async () => {
    const before = await quality(p.url);
    await post(p.url, '/v1/models/fraud-detector/feedback', apiLabels.slice(0, 100));
    const again = await cli(['feedback', 'submit', fileLabels, '--model', 'fraud-detector']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const unknown = await post(p.url, '/v1/models/fraud-detector/feedback', [
      { id: 'no-such-prediction', label: 'fraud' },
    ]);
    assert.equal(unknown.res.status, 200);
    assert.equal(unknown.body.accepted, 1);
    const after = await quality(p.url);
    const pick = (r: QualityReport) =>
      r.versions.map(({ version, labelled, accuracy, f1, auc }) => ({
        version,
        labelled,
        accuracy,
        f1,
        auc,
      }));
    assert.deepEqual(pick(after), pick(before));
    assert.equal(after.labels.ids, before.labels.ids + 1);
    assert.equal(after.labels.unmatched, before.labels.unmatched + 1);
    assert.ok(after.labels.received > before.labels.received, 'the repeats were received, and counted once');
    // A label that is not the model's is refused, naming the labels it has.
    const bad = await post(p.url, '/v1/models/fraud-detector/feedback', [{ id: 'x', label: 'FRAUD' }]);
    assert.equal(bad.res.status, 400);
    assert.match(
      String(bad.body.error),
      /"FRAUD" is not a label of 'fraud-detector'; use one of legit, fraud/,
    );
    const none = await fetch(`${p.url}/v1/models/iris/quality`);
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { error: string }).error, /no "quality" section/);
  });

  it('joins labels to batch rows by their id column', async () => {
    const { rows, labels } = generateTransactions(30, 99);
    const file = join(models, 'batch.csv');
    // The generator's own CSV, with the caller's id column in front.
    const [header, ...lines] = toCsv(rows).trim().split('\n');
    await writeFile(file, `transaction_id,${header}\n${lines.map((l, i) => `b-${i},${l}`).join('\n')}\n`);
    const before = await quality(p.url);
    const sub = await cli(['batch', 'submit', file, '-m', 'fraud-detector', '--wait', '--url', p.url]);
    assert.equal(sub.code, 0, sub.stdout + sub.stderr);
    const r = await post(
      p.url,
      '/v1/models/fraud-detector/feedback',
      rows.map((_, i) => ({ id: `b-${i}`, label: labels[i] === 1 ? 'fraud' : 'legit' })),
    );
    assert.equal(r.res.status, 200);
    const after = await quality(p.url);
    const v = after.versions.find((x) => x.version === '1');
    assert.equal(v?.traffic.batch, 30);
    assert.equal(v?.labelled, (before.versions.find((x) => x.version === '1')?.labelled ?? 0) + 30);
  });

  it('rolls a canary back when its labelled accuracy falls below the threshold of its manifest', async () => {
    assert.equal((await cli(['shadow', 'fraud-detector', '--off', '--models', models])).code, 0);
    const release = cli([
      'release',
      'fraud-detector',
      '2',
      '--canary',
      '50',
      '--models',
      models,
      '--bake',
      '90s',
      '--poll',
      '1s',
      '--min-requests',
      '1000000',
    ]);
    const { rows } = generateTransactions(200, 777);
    // Wait for the split, then send traffic; every answer of the canary gets the wrong label.
    let canary: { id: string; label: string }[] = [];
    for (let attempt = 0; attempt < 300 && canary.length < 80; attempt++) {
      const batch = rows.slice((attempt * 2) % 200, ((attempt * 2) % 200) + 2);
      const ids = batch.map((_, i) => `c-${attempt}-${i}`);
      const res = await fetch(`${p.url}/v1/models/fraud-detector/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: batch.map((t, i) => instanceOf(t, ids[i])) }),
      });
      const body = (await res.json()) as { predictions: { label: string }[] };
      if (res.headers.get('x-model-version') === '2')
        canary = [
          ...canary,
          ...body.predictions.map((pr, i) => ({
            id: ids[i] as string,
            label: pr.label === 'fraud' ? 'legit' : 'fraud',
          })),
        ];
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(canary.length >= 80, `the canary answered ${canary.length} rows`);
    assert.equal((await post(p.url, '/v1/models/fraud-detector/feedback', canary)).res.status, 200);
    const out = await release;
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(
      out.stdout,
      // Version 2's labels as a shadow count too: its accuracy over every labelled row it answered.
      /alarm labelled accuracy 0\.\d+ below 0\.9 on \d+ labelled predictions: rolling back/,
    );
    // The platform's own clock judged the same drop and sent one quality event for it.
    for (let i = 0; i < 50 && !events.some((e) => e.version === '2' && e.figure === 'accuracy'); i++)
      await new Promise((r) => setTimeout(r, 200));
    const raised = events.filter(
      (e) => e.type === 'infera.quality' && e.version === '2' && e.figure === 'accuracy',
    );
    assert.equal(raised.length, 1, JSON.stringify(events));
    assert.equal(raised[0]?.state, 'alarm');
    assert.ok((raised[0]?.value as number) < 0.9);
    const aliases = JSON.parse(await readFile(join(models, 'fraud-detector', 'aliases.json'), 'utf8')) as {
      live: unknown;
    };
    assert.equal(aliases.live, '1');
  });
});
