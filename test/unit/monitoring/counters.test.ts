import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelRegistry } from '#core/model/registry.ts';
import {
  binCount,
  confidenceOf,
  F_BINS,
  F_MISSING,
  F_N,
  featureSummary,
  fractions,
  round,
  sameValue,
  scoreOf,
  summary,
  VersionTrack,
} from '#core/monitoring/counters.ts';
import { LATENCY_BINS, latencyBinOf } from '#core/monitoring/drift.ts';
import { DEFAULT_MONITOR_OPTIONS } from '#core/monitoring/types.ts';
import { MODELS } from '../../helpers.ts';

const registry = await ModelRegistry.load(MODELS, { only: ['fraud-detector', 'dominant-color'] });
const fraud = registry.resolve('fraud-detector', '1');

describe('per-version monitoring counters', () => {
  it("shapes one counter row per feature, sized by the feature's drift bins", () => {
    const t = new VersionTrack(fraud, 30);
    const m = fraud.manifest;
    assert.equal(m.inputs.kind, 'tabular');
    if (m.inputs.kind !== 'tabular') return;
    assert.deepEqual(
      t.features.map((f) => f.feature.name),
      m.inputs.features.map((f) => f.name),
    );
    for (const [i, f] of t.features.entries()) {
      assert.equal(t.total.features[i]?.length, F_BINS + binCount(f.bins), f.feature.name);
    }
    assert.equal(t.ring.length, 30);
    assert.equal(t.total.latency.length, LATENCY_BINS);
    // A categorical feature has a bin per training value plus one for values training never saw.
    const merchant = t.features.find((f) => f.feature.name === 'merchant_category');
    assert.equal(merchant?.bins?.kind, 'categorical');
    if (merchant?.bins?.kind === 'categorical')
      assert.equal(binCount(merchant.bins), merchant.bins.categories.length + 1);
  });

  it('keeps tensor models to input statistics, with no feature rows', () => {
    const t = new VersionTrack(registry.resolve('dominant-color', '1'), 4);
    assert.deepEqual(t.features, []);
    assert.ok(t.inputKeys.length > 0);
    assert.equal(t.total.inputs.length, t.inputKeys.length);
  });

  it('reuses a ring slot for a new time bucket by zeroing it, and keeps it for the same bucket', () => {
    const t = new VersionTrack(fraud, 3);
    const a = t.bucket(100, 1);
    a.requests = 5;
    (a.features[0] as Float64Array)[F_N] = 7;
    a.latency[2] = 9;
    assert.equal(t.bucket(100, 1).requests, 5, 'same bucket: counts kept');
    const b = t.bucket(103, 1);
    assert.equal(b, a, 'the same arrays: no allocation per bucket');
    assert.deepEqual([b.requests, (b.features[0] as Float64Array)[F_N], b.latency[2]], [0, 0, 0]);
  });

  it('summarises counts over a span: rates, per-second and latency quantiles', () => {
    const t = new VersionTrack(fraud, 3);
    const c = t.counts(0);
    Object.assign(c, {
      requests: 20,
      instances: 50,
      errors: 2,
      rejected: 5,
      scored: 40,
      scoreSum: 10,
      lowConfidence: 4,
    });
    for (let i = 0; i < 20; i++) c.latency[latencyBinOf(3)] = (c.latency[latencyBinOf(3)] as number) + 1;
    const s = summary(c, 10);
    assert.deepEqual(
      [s.requests, s.instances, s.perSecond, s.errorRate, s.rejectedRate, s.meanScore, s.lowConfidenceRate],
      [20, 50, 2, 0.1, 0.25, 0.25, 0.1],
    );
    assert.ok(s.latencyMs.p50 >= 2 && s.latencyMs.p50 <= 4, `p50 ${s.latencyMs.p50}`);
    const empty = summary(t.counts(0), 10);
    assert.deepEqual([empty.errorRate, empty.meanScore, empty.lowConfidenceRate], [0, null, null]);
  });

  it('judges a feature only once it has seen minSamples binned values', () => {
    const t = new VersionTrack(fraud, 3);
    const i = t.features.findIndex((f) => f.feature.name === 'merchant_category');
    const track = t.features[i];
    assert.ok(track?.bins);
    const row = t.counts(0).features[i] as Float64Array;
    // Every value in one category: as drifted as it gets.
    row[F_N] = 600;
    row[F_MISSING] = 6;
    row[F_BINS] = 594;
    const few = featureSummary(track, row, { ...DEFAULT_MONITOR_OPTIONS, minSamples: 1000 });
    assert.equal(few.judged, false);
    assert.equal(few.drifting, false, 'too few to call drift, however skewed');
    const enough = featureSummary(track, row, { ...DEFAULT_MONITOR_OPTIONS, minSamples: 500 });
    assert.equal(enough.judged, true);
    assert.equal(enough.drifting, true);
    assert.equal(enough.missingRate, 0.01);
    assert.equal(enough.ks, null, 'KS is for numbers; a category gets chi-square');
    assert.ok((enough.chiSquare ?? 0) > 0);
  });

  it('reads a score from a probability or a value, and confidence from the chosen label', () => {
    assert.equal(scoreOf({ label: 'fraud', score: 0.7 }), 0.7);
    assert.equal(scoreOf({ value: 12.5 }), 12.5);
    assert.equal(scoreOf({ label: 'x' }), undefined);
    assert.equal(confidenceOf({ label: 'b', probabilities: { a: 0.3, b: 0.7 } }), 0.7);
    assert.equal(confidenceOf({ value: 1 }), undefined);
  });

  it('counts two scores as the same within 1% (and a hair), and anything missing as different', () => {
    assert.equal(sameValue(100, 100.9), true);
    assert.equal(sameValue(100, 101.5), false);
    assert.equal(sameValue(0, 5e-7), true);
    assert.equal(sameValue(undefined, 1), false);
  });

  it('rounds to four significant figures and gives fractions that sum to one', () => {
    assert.equal(round(0.123456), 0.1235);
    assert.equal(round(123456), 123500);
    assert.deepEqual(fractions([1, 1, 2]), [0.25, 0.25, 0.5]);
    assert.deepEqual(fractions([0, 0]), [0, 0]);
  });
});
