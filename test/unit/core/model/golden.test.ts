import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkGolden,
  type GoldenCase,
  type GoldenReply,
  runGoldenChecks,
  untilWarm,
} from '#core/model/golden.ts';

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

describe('the pre-traffic hook and a cold endpoint', () => {
  const c: GoldenCase = {
    model: 'big',
    version: '3',
    golden: { tolerance: 0.01, instances: [{ x: 1 }], expected: [{ label: 'a', score: 0.5 }] },
  };
  const good: GoldenReply = {
    status: 200,
    body: { version: '3', predictions: [{ label: 'a', score: 0.5 }] },
  };
  const fromFallback: GoldenReply = {
    status: 200,
    body: {
      version: '3',
      predictions: [{ label: 'a', score: 0.5 }],
      fallback: { model: 'small', version: '1' },
    },
  };
  /** A clock that only moves when the hook sleeps. */
  const clock = () => {
    let t = 0;
    const sleep = async (ms: number) => {
      t += ms;
    };
    return { now: () => t, sleep, waited: () => t };
  };

  it('asks again while the endpoint cold-starts (503, 504, the fallback answering), then checks its own answer', async () => {
    const replies = [{ status: 503, body: {} }, { status: 504, body: {} }, fromFallback, good];
    const t = clock();
    const ask = untilWarm(async () => replies.shift() as GoldenReply, { deadline: 60_000, ...t });
    const reply = await ask(c);
    assert.deepEqual(reply, good);
    assert.equal(t.waited(), 1000 + 2000 + 4000);
    assert.ok(checkGolden(c, reply).ok);
  });

  it('gives up at the deadline and fails the check naming the fallback that answered', async () => {
    const t = clock();
    let calls = 0;
    const ask = untilWarm(
      async () => {
        calls++;
        return fromFallback;
      },
      { deadline: 20_000, ...t },
    );
    const result = checkGolden(c, await ask(c));
    assert.ok(t.now() < 20_000);
    assert.ok(calls >= 4, `${calls} calls`);
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems, ["answered by the fallback small@1, not by the version's endpoint"]);
  });

  it('does not wait on an answer that is simply wrong', async () => {
    const t = clock();
    const wrong: GoldenReply = { status: 500, body: { error: 'Internal error.' } };
    assert.deepEqual(await untilWarm(async () => wrong, { deadline: 60_000, ...t })(c), wrong);
    assert.equal(t.waited(), 0);
  });
});
