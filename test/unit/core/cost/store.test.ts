import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRICES } from '../../../../functions/core/cost/prices.ts';
import { storeCost } from '../../../../functions/core/cost/store.ts';

describe('what a model store costs per model', () => {
  it('prices record reads by the ttl, package fetches by object, and the canary alarms by the hour', () => {
    const c = storeCost(PRICES, { ttlMs: 5000, objectsPerVersion: 4, bakeMinutes: 5 });
    // 30 days of one read per 5 s: 518,400 reads at $0.125 per million.
    assert.ok(Math.abs(c.recordReadsPerInstanceMonth - 518_400 * 0.125e-6) < 1e-9);
    assert.ok(Math.abs(c.recordReadsPerMillionPredictions - 0.125) < 1e-9);
    assert.ok(Math.abs(c.coldFetch - (0.125e-6 + 4 * 0.4e-6)) < 1e-12);
    assert.ok(Math.abs(c.policyWrite - 4 * 0.625e-6) < 1e-12);
    assert.ok(Math.abs(c.canaryAlarms - (4 * 0.1) / 720) < 1e-12);
    const longer = storeCost(PRICES, { ttlMs: 60_000, objectsPerVersion: 4, bakeMinutes: 90 });
    assert.ok(longer.recordReadsPerInstanceMonth < c.recordReadsPerInstanceMonth / 10);
    assert.ok(
      Math.abs(longer.canaryAlarms - 2 * c.canaryAlarms) < 1e-12,
      'a 90-minute bake is billed for two hours',
    );
  });
});
