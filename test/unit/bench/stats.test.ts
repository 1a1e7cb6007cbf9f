import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmt, quantile, sortNumbers, summarize } from '../../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('takes percentiles by nearest rank, so p50 and p99 are values that were measured', () => {
    const sorted = sortNumbers([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    assert.deepEqual([...sorted], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(quantile(sorted, 0.5), 5);
    assert.equal(quantile(sorted, 0.99), 10);
    assert.equal(quantile(sorted, 0), 1);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('summarizes rounds as their median with the lowest and highest round as the spread', () => {
    assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, rounds: [3, 1, 2] });
    assert.equal(summarize([4, 1, 2, 3]).median, 2.5);
  });

  it('prints a figure with its spread, or alone when there was one round', () => {
    assert.equal(fmt(summarize([1.234, 1.5, 1.1]), '×'), '1.23× (1.1–1.5)');
    assert.equal(fmt(summarize([44.21]), ' MB'), '44.2 MB');
    assert.equal(fmt(summarize([])), 'n/a');
  });
});
