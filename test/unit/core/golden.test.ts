import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GoldenCase, runGoldenChecks } from '#core/golden.ts';

const cases: GoldenCase[] = Array.from({ length: 30 }, (_, i) => ({
  model: `m-${i}`,
  version: '1',
  golden: { tolerance: 0, instances: [{ x: i }], expected: [{ value: i }] },
}));

describe('golden checks of many models', () => {
  it('asks at most the given number at once and reports every case in order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await runGoldenChecks(
      cases,
      async (c) => {
        inFlight++;
        most = Math.max(most, inFlight);
        // Later cases answer sooner, so completion order differs from case order.
        await new Promise((r) => setTimeout(r, 30 - Number(c.model.slice(2))));
        inFlight--;
        const i = Number(c.model.slice(2));
        if (i === 7) throw new Error('connection reset');
        return { status: 200, body: { version: '1', predictions: [{ value: i === 12 ? -1 : i }] } };
      },
      8,
    );
    assert.equal(most, 8);
    assert.deepEqual(
      results.map((r) => r.model),
      cases.map((c) => c.model),
    );
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => r.model),
      ['m-7', 'm-12'],
    );
    assert.match(results[7]?.problems[0] ?? '', /could not call the new version: connection reset/);
  });

  it('asks one at a time by default', async () => {
    let inFlight = 0;
    let most = 0;
    await runGoldenChecks(cases.slice(0, 5), async (c) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return { status: 200, body: { version: '1', predictions: c.golden.expected } };
    });
    assert.equal(most, 1);
  });
});
