import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inFlight } from '#core/batch/in-flight.ts';

/** A task that records how many tasks were running when it started, and ends when told to. */
function tracker() {
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const release: (() => void)[] = [];
  const task =
    (n: number, fail = false) =>
    async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(n);
      await new Promise<void>((r) => release.push(r));
      running--;
      if (fail) throw new Error(`task ${n} failed`);
      return n;
    };
  const tick = () => new Promise((r) => setImmediate(r));
  return { task, release, order, tick, peak: () => peak };
}

describe('the in-flight gate', () => {
  it('runs at most n tasks at once and starts the others in arrival order', async () => {
    const t = tracker();
    const gate = inFlight(2);
    const results = [1, 2, 3, 4, 5].map((n) => gate(t.task(n)));
    await t.tick();
    assert.deepEqual(t.order, [1, 2]);
    while (t.order.length < 5 || t.release.length > 0) {
      t.release.shift()?.();
      await t.tick();
    }
    assert.deepEqual(await Promise.all(results), [1, 2, 3, 4, 5]);
    assert.deepEqual(t.order, [1, 2, 3, 4, 5]);
    assert.equal(t.peak(), 2);
    // Every slot is free again: two new tasks start at once.
    const more = [6, 7].map((n) => gate(t.task(n)));
    await t.tick();
    assert.deepEqual(t.order.slice(5), [6, 7]);
    for (const r of t.release.splice(0)) r();
    assert.deepEqual(await Promise.all(more), [6, 7]);
  });

  it('frees the slot of a task that fails, and hands the failure to its caller', async () => {
    const t = tracker();
    const gate = inFlight(1);
    const first = gate(t.task(1, true));
    const second = gate(t.task(2));
    await t.tick();
    t.release.shift()?.();
    await assert.rejects(first, /task 1 failed/);
    await t.tick();
    t.release.shift()?.();
    assert.equal(await second, 2);
    assert.equal(t.peak(), 1);
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) assert.throws(() => inFlight(n), /whole number ≥ 1/);
  });
});
