import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchWorkers, inFlight } from '#core/batch/in-flight.ts';

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

describe('score workers against a serverless endpoint', () => {
  it('holds the workers to half the endpoint’s maxConcurrency, since each has two chunks in flight', () => {
    assert.deepEqual(batchWorkers(10, []), { workers: 10 });
    assert.deepEqual(batchWorkers(10, [{ key: 'xl@1', maxConcurrency: 5 }]), {
      workers: 2,
      limitedBy: 'xl@1 (serverless maxConcurrency 5)',
    });
    assert.deepEqual(batchWorkers(3, [{ key: 'xl@1', maxConcurrency: 200 }]), { workers: 3 });
  });

  it('refuses an endpoint that even SQS’s minimum of two workers would throttle, naming the fix', () => {
    assert.throws(
      () => batchWorkers(10, [{ key: 'xl@1', maxConcurrency: 3 }]),
      /xl@1 .*maxConcurrency 3, but batch scoring keeps at least 4 calls open .*Set target\.serverless\.maxConcurrency to at least 4 .*or deploy with -c infera:batch=false/,
    );
  });
});
