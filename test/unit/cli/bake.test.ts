import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BakeLimits, bake, type CanaryJudge, parseDuration } from '../../../cli/bake.ts';

const limits: BakeLimits = { bakeMs: 0, pollMs: 100, minRequests: 10, maxErrorPct: 1, maxP99Ms: 1000 };

/** A judge whose alarm fires on the nth check, that served `served` requests. */
function judge(fireOn: number | undefined, served: number) {
  const calls: string[] = [];
  let checks = 0;
  const j: CanaryJudge = {
    name: 'm version 2',
    start: async () => {
      calls.push('start');
    },
    alarm: async () => {
      checks++;
      return checks === fireOn ? 'm-v2-canary-errors' : undefined;
    },
    requests: async () => served,
    stop: async () => {
      calls.push('stop');
    },
  };
  return { j, calls };
}

describe('baking a canary', () => {
  it('rolls back as soon as its alarm fires, and deletes the alarms', async () => {
    const { j, calls } = judge(2, 500);
    const slept: number[] = [];
    const v = await bake(
      j,
      { ...limits, bakeMs: 60_000 },
      () => {},
      async (ms) => {
        slept.push(ms);
      },
    );
    assert.deepEqual(v, { verdict: 'rollback', alarm: 'm-v2-canary-errors' });
    assert.deepEqual(slept, [100]);
    assert.deepEqual(calls, ['start', 'stop']);
  });

  it('promotes after a quiet bake with enough requests, and keeps the canary with too few', async () => {
    assert.deepEqual(await bake(judge(undefined, 10).j, limits, () => {}), {
      verdict: 'promote',
      requests: 10,
    });
    assert.deepEqual(await bake(judge(undefined, 9).j, limits, () => {}), {
      verdict: 'undecided',
      requests: 9,
    });
  });

  it('stops the judge when watching fails', async () => {
    const { j, calls } = judge(undefined, 0);
    j.alarm = async () => {
      throw new Error('CloudWatch throttled');
    };
    await assert.rejects(
      bake(j, limits, () => {}),
      /throttled/,
    );
    assert.deepEqual(calls, ['start', 'stop']);
  });

  it('reads durations as people write them, and refuses the rest', () => {
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    for (const bad of ['', 'soon', '-1s', '5 minutes', '1e9'])
      assert.equal(parseDuration(bad), undefined, bad);
  });
});
