import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  categoricalBins,
  chiSquare,
  ksStatistic,
  latencyBinOf,
  latencyQuantile,
  numericBinOf,
  numericBins,
  psi,
} from '#core/monitoring/drift.ts';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe('drift statistics', () => {
  // Training: 25% / 25% / 50%. Live: 50 / 30 / 20 of 100.
  const expected = [0.25, 0.25, 0.5];
  const counts = [50, 30, 20];

  it('PSI equals the hand-computed sum of (a - e) ln(a / e)', () => {
    // 0.25 ln 2 + 0.05 ln 1.2 + (-0.3) ln 0.4
    const hand = 0.25 * Math.log(2) + 0.05 * Math.log(1.2) - 0.3 * Math.log(0.4);
    close(psi(expected, counts), hand);
    close(hand, 0.45729, 1e-5);
    assert.equal(psi(expected, [25, 25, 50]), 0);
  });

  it('the KS-style statistic is the largest gap between the cumulative fractions', () => {
    // cumulative training .25 .5 1, live .5 .8 1
    close(ksStatistic(expected, counts), 0.3);
  });

  it('chi-square equals the hand-computed sum of (O - E)^2 / E', () => {
    // E = 25, 25, 50: 625/25 + 25/25 + 900/50
    const r = chiSquare(expected, counts);
    close(r.statistic, 44);
    assert.equal(r.dof, 2);
  });

  it('an empty training bin is floored, so PSI stays finite and large', () => {
    const p = psi([0.5, 0.5, 0], [0, 0, 10]);
    assert.ok(Number.isFinite(p) && p > 5);
  });

  it('numeric bins come from the distinct quantile values, or from exact manifest bins', () => {
    const derived = numericBins({
      quantiles: [
        { q: 0, value: 1 },
        { q: 0.5, value: 2 },
        { q: 1, value: 4 },
      ],
    });
    assert.deepEqual(derived.edges, [1, 2, 4]);
    assert.deepEqual(derived.expected, [0, 0.5, 0.5, 0]);
    // A point mass: half the rows are 0. The quantiles alone cannot say so; exact bins do.
    const exact = numericBins({
      quantiles: [
        { q: 0, value: 0 },
        { q: 0.5, value: 0 },
        { q: 1, value: 3 },
      ],
      bins: [0.6, 0.4, 0],
    });
    assert.deepEqual(exact.edges, [0, 3]);
    assert.deepEqual(exact.expected, [0.6, 0.4, 0]);
  });

  it('places values in right-closed bins, with everything beyond the last edge in the last bin', () => {
    const edges = [1, 2, 4];
    assert.deepEqual(
      [0.5, 1, 1.5, 2, 4, 5].map((x) => numericBinOf(edges, x)),
      [0, 0, 1, 1, 2, 3],
    );
  });

  it('categorical bins keep a last bin for values training never saw', () => {
    const b = categoricalBins({ frequencies: { a: 0.75, b: 0.25 }, missingRate: 0 });
    assert.deepEqual(b.categories, ['a', 'b']);
    assert.deepEqual(b.expected, [0.75, 0.25, 0]);
  });

  it('latency quantiles from the log histogram are within its 10% resolution', () => {
    const h = new Uint32Array(80);
    for (let ms = 1; ms <= 100; ms++) h[latencyBinOf(ms)] = (h[latencyBinOf(ms)] as number) + 1;
    const p50 = latencyQuantile(h, 0.5);
    const p99 = latencyQuantile(h, 0.99);
    assert.ok(Math.abs(p50 - 50) / 50 < 0.1, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 99) / 99 < 0.1, `p99 ${p99}`);
    assert.equal(latencyQuantile(new Uint32Array(80), 0.5), 0);
  });
});
