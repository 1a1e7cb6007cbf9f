import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelRegistry } from '#core/model/registry.ts';
import { parseCaptureTarget } from '#core/monitoring/capture.ts';
import { MAX_SAMPLED } from '#core/monitoring/inputs.ts';
import { Monitor } from '#core/monitoring/monitor.ts';
import { monitorReportSchema } from '#core/monitoring/report-schema.ts';
import { Capture } from '#runtime/capture.ts';
import { loadConfig } from '#runtime/config.ts';
import { Monitoring } from '#runtime/monitoring.ts';
import { rng } from '../../../scripts/lib/ml.ts';
import { rowSampler } from '../../../scripts/traffic.ts';
import { MODELS } from '../../helpers.ts';

const registry = await ModelRegistry.load(MODELS, { only: ['fraud-detector'] });
const mv = registry.resolve('fraud-detector', '1');
const manifest = mv.manifest;
const features = manifest.inputs.kind === 'tabular' ? manifest.inputs.features : [];

/** Rows drawn from the manifest's training distribution, with one feature optionally drifted. */
function rows(n: number, seed: number, drift?: string): Record<string, unknown>[] {
  const feature = features.find((f) => f.name === drift);
  const row = rowSampler(manifest, rng(seed), feature ? { feature, factor: 3, share: 0.5 } : undefined);
  return Array.from({ length: n }, row);
}

function feed(m: Monitor, data: Record<string, unknown>[], batch = 10) {
  for (let i = 0; i < data.length; i += batch) {
    m.observe(mv, { latencyMs: 0.5, status: 200, instances: data.slice(i, i + batch) });
  }
}

describe('streaming monitor', () => {
  it('raises no drift event for traffic drawn from the training distribution', () => {
    const m = new Monitor();
    feed(m, rows(5000, 7));
    assert.deepEqual(m.evaluate(), []);
    const report = m.report('fraud-detector');
    for (const f of report.versions[0]?.features ?? []) {
      assert.ok((f.window.psi ?? 0) < 0.05, `${f.name} psi ${f.window.psi}`);
    }
  });

  for (const drifted of ['amount', 'merchant_category', 'hour']) {
    it(`raises exactly one event when ${drifted} drifts, and none for the stable features`, () => {
      const m = new Monitor();
      feed(m, rows(3000, 11, drifted));
      const events = m.evaluate().filter((e) => e.kind === 'feature');
      assert.deepEqual(
        events.map((e) => e.feature),
        [drifted],
      );
      assert.equal(events[0]?.model, 'fraud-detector');
      assert.equal(events[0]?.version, '1');
      assert.ok((events[0]?.psi ?? 0) >= 0.2);
      // More of the same drift is not news: no second event while it lasts.
      feed(m, rows(1000, 12, drifted));
      assert.deepEqual(m.evaluate(), []);
      assert.equal(m.events('fraud-detector').filter((e) => e.kind === 'feature').length, 1);
    });
  }

  it('judges nothing below the minimum sample, however skewed', () => {
    const m = new Monitor({ minSamples: 500 });
    feed(m, rows(300, 3, 'amount'));
    assert.deepEqual(m.evaluate(), []);
  });

  it('counts missing values and values outside the manifest bounds, even in rejected requests', () => {
    const m = new Monitor();
    m.observe(mv, {
      latencyMs: 1,
      status: 400,
      instances: [{ amount: -5, merchant_category: 'casino' }, { amount: 10 }],
    });
    const v = m.report('fraud-detector').versions[0];
    const amount = v?.features.find((f) => f.name === 'amount')?.window;
    const cat = v?.features.find((f) => f.name === 'merchant_category')?.window;
    const hour = v?.features.find((f) => f.name === 'hour')?.window;
    assert.equal(amount?.outOfRangeRate, 0.5);
    assert.equal(cat?.outOfRangeRate, 0.5);
    assert.equal(cat?.missingRate, 0.5);
    assert.equal(hour?.missingRate, 1);
    assert.equal(v?.window.rejected, 1);
    assert.equal(v?.window.rejectedRate, 1);
  });

  it("counts a tensor model's rows from the answer, so its cost per row has a basis", async () => {
    const tensors = await ModelRegistry.load(MODELS, { only: ['dominant-color'] });
    const mv = tensors.resolve('dominant-color');
    const m = new Monitor({ windowMinutes: 5, bucketSeconds: 10 });
    m.observe(mv, { latencyMs: 4, status: 200, rows: 3 });
    m.observe(mv, { latencyMs: 6, status: 400 });
    const [v] = m.report('dominant-color').versions;
    assert.equal(v?.window.requests, 2);
    assert.equal(v?.window.instances, 3);
    assert.deepEqual(
      m.totals('dominant-color').map((t) => [t.requests, t.rows, t.failed, t.latencySumMs]),
      [[2, 3, 1, 4]],
    );
  });

  it('forgets traffic older than the window but keeps it in the since-start totals', () => {
    let now = 1_000_000;
    const m = new Monitor({ windowMinutes: 5, bucketSeconds: 10 }, () => now);
    feed(m, rows(100, 5));
    now += 6 * 60_000;
    m.observe(mv, { latencyMs: 2, status: 500 });
    const v = m.report('fraud-detector').versions[0];
    assert.equal(v?.window.requests, 1);
    assert.equal(v?.window.errorRate, 1);
    assert.equal(v?.total.requests, 11);
    assert.equal(v?.series.length, 1);
  });

  it('keeps fixed memory: the window is a ring of buckets however long it runs', () => {
    let now = 0;
    const m = new Monitor({ windowMinutes: 1, bucketSeconds: 10 }, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 1000;
      m.observe(mv, { latencyMs: 1, status: 200 });
    }
    const v = m.report('fraud-detector').versions[0];
    assert.ok((v?.series.length ?? 0) <= 6, `series ${v?.series.length}`);
    assert.equal(v?.total.requests, 1000);
  });
});

describe('shadow scoring', () => {
  const config = loadConfig({ SHADOW_MAX_IN_FLIGHT: '1', MONITOR_EMIT_SECONDS: '0' });
  const shadowMv = registry.resolve('fraud-detector', '2');
  const preds = [{ label: 'legit', score: 0.1, probabilities: { legit: 0.9, fraud: 0.1 } }];

  it('runs after the caller has moved on, and records the comparison when it finishes', async () => {
    const monitoring = new Monitoring(config);
    let finish: (p: typeof preds) => void = () => {};
    const gate = new Promise<typeof preds>((resolve) => {
      finish = resolve;
    });
    const done = monitoring.shadow(mv, shadowMv, preds, 1, () => gate);
    // The request path has returned; the shadow has not even been recorded.
    assert.equal(monitoring.monitor.report('fraud-detector').comparisons.length, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(monitoring.monitor.report('fraud-detector').comparisons.length, 0);
    finish([{ label: 'legit', score: 0.12, probabilities: { legit: 0.88, fraud: 0.12 } }]);
    await done;
    const [c] = monitoring.monitor.report('fraud-detector').comparisons;
    assert.equal(c?.requests, 1);
    assert.equal(c?.agreement, 1);
    assert.ok(Math.abs((c?.meanDelta ?? 0) - 0.02) < 1e-9);
  });

  it('skips (and counts) shadows beyond SHADOW_MAX_IN_FLIGHT instead of queueing them', async () => {
    const monitoring = new Monitoring(config);
    let finish: () => void = () => {};
    const gate = new Promise<typeof preds>((resolve) => {
      finish = () => resolve(preds);
    });
    const first = monitoring.shadow(mv, shadowMv, preds, 1, () => gate);
    await monitoring.shadow(mv, shadowMv, preds, 1, () => gate);
    finish();
    await first;
    const [c] = monitoring.monitor.report('fraud-detector').comparisons;
    assert.equal(c?.skipped, 1);
    assert.equal(c?.requests, 1);
  });

  it('counts a failing shadow without surfacing the failure', async () => {
    const monitoring = new Monitoring(config);
    await monitoring.shadow(mv, shadowMv, preds, 1, async () => {
      throw new Error('shadow broke');
    });
    const [c] = monitoring.monitor.report('fraud-detector').comparisons;
    assert.equal(c?.errors, 1);
  });
});

describe('input/output capture', () => {
  it('is off by default, and off without a destination even when sampled', () => {
    assert.equal(new Capture(loadConfig({})).sampled(), false);
    assert.equal(new Capture(loadConfig({ CAPTURE_SAMPLE_RATE: '1' })).sampled(), false);
  });

  it('writes sampled requests as JSON lines per model, version and day, with the named fields redacted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-capture-'));
    const capture = new Capture(
      loadConfig({
        CAPTURE_SAMPLE_RATE: '1',
        CAPTURE_DESTINATION: dir,
        CAPTURE_REDACT: 'account_age_days, card',
      }),
    );
    assert.equal(capture.sampled(), true);
    await capture.capture({
      time: '2026-11-22T10:00:00.000Z',
      requestId: 'r1',
      model: 'fraud-detector',
      version: '1',
      traffic: 'live',
      instances: [{ amount: 12, account_age_days: 400, nested: { card: '4111' } }],
      predictions: [{ label: 'legit', score: 0.01 }],
    });
    const lines = (await readFile(join(dir, 'fraud-detector', '1', '2026-11-22.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    assert.equal(lines.length, 1);
    const r = JSON.parse(lines[0] as string);
    assert.deepEqual(r.instances, [
      { amount: 12, account_age_days: '[redacted]', nested: { card: '[redacted]' } },
    ]);
    assert.deepEqual(r.predictions, [{ label: 'legit', score: 0.01 }]);
    assert.equal(capture.written, 1);
  });

  it('parses an S3 destination into bucket and prefix', () => {
    assert.deepEqual(parseCaptureTarget('s3://my-bucket/captures/'), {
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'captures',
    });
    assert.deepEqual(parseCaptureTarget('.infera/capture'), { kind: 'dir', path: '.infera/capture' });
  });
});

describe('input statistics for image and text models', () => {
  it("reports each image channel's pre-processed values and a text model's tokens per text", async () => {
    const { OnnxRuntimeEngine } = await import('#adapters/onnxruntime.ts');
    const { Scorer } = await import('#core/scoring/scorer.ts');
    const registry = await ModelRegistry.load(MODELS, { only: ['text-direction', 'ticket-router'] });
    const scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
    const monitor = new Monitor({ windowMinutes: 5, bucketSeconds: 10 });
    const image = registry.resolve('text-direction');
    const png = await readFile(join(MODELS, 'text-direction/1/fixtures/street-0.png'));
    const r = await scorer.run(image, {
      protocol: 'v1',
      instances: [{ x: { b64: png.toString('base64') } }],
    });
    monitor.observe(image, {
      latencyMs: 5,
      status: 200,
      predictions: r.predictions,
      ...(r.inputs ? { inputs: r.inputs } : {}),
    });
    const [v] = monitor.report('text-direction').versions;
    assert.deepEqual(
      v?.inputs.map((i) => i.name),
      ['x[0]', 'x[1]', 'x[2]'],
    );
    for (const i of v?.inputs ?? []) {
      // A 48x192 plane is 9216 values; at most MAX_SAMPLED (4096) of them are read, evenly spread.
      assert.equal(i.window.count, Math.ceil((48 * 192) / Math.floor((48 * 192) / MAX_SAMPLED)));
      // Normalized to -1..1 ((p/255 - 0.5) / 0.5), padding 0: mostly white paper, so near 1.
      assert.ok((i.window.min as number) >= -1 && (i.window.max as number) <= 1);
      assert.ok((i.window.mean as number) > 0.5, `mean ${i.window.mean}`);
    }
    const text = registry.resolve('ticket-router');
    const t = await scorer.run(text, {
      protocol: 'v1',
      instances: [{ text: 'refund my card' }, { text: 'the parcel is late again' }],
    });
    monitor.observe(text, {
      latencyMs: 5,
      status: 200,
      predictions: t.predictions,
      ...(t.inputs ? { inputs: t.inputs } : {}),
    });
    const [tv] = monitor.report('ticket-router').versions;
    assert.deepEqual(
      tv?.inputs.map((i) => [i.name, i.kind, i.window.count, i.window.min, i.window.max]),
      [['text', 'tokens', 2, 5, 7]],
    );
    for (const model of ['text-direction', 'ticket-router']) {
      const report = monitor.report(model);
      assert.deepEqual(monitorReportSchema.parse(report), report);
    }
  });
});

describe('the report against its documented schema', () => {
  it('parses with the schema the monitoring route publishes and keeps every field: features, score, drift events and shadow comparisons', async () => {
    const monitoring = new Monitoring(loadConfig({ MONITOR_EMIT_SECONDS: '0' }));
    const m = monitoring.monitor;
    const data = rows(1000, 21, 'amount');
    for (let i = 0; i < data.length; i += 10) {
      const batch = data.slice(i, i + 10);
      m.observe(mv, {
        latencyMs: 2,
        status: 200,
        instances: batch,
        predictions: batch.map(() => ({
          label: 'fraud',
          score: 0.9,
          probabilities: { legit: 0.1, fraud: 0.9 },
        })),
      });
    }
    assert.ok(m.evaluate().length > 0, 'the drifted feature raises an event');
    const preds = [{ label: 'legit', score: 0.1, probabilities: { legit: 0.9, fraud: 0.1 } }];
    await monitoring.shadow(mv, registry.resolve('fraud-detector', '2'), preds, 1, async () => preds);
    const report = m.report('fraud-detector');
    assert.ok(report.events.length > 0 && report.comparisons.length === 1);
    assert.ok(report.versions[0]?.score && (report.versions[0]?.features.length ?? 0) > 0);
    assert.deepEqual(monitorReportSchema.parse(report), report);
  });
});
