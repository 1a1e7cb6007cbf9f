import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aliasesFileSchema,
  pick,
  policyOf,
  primaryOf,
  promote,
  release,
  rollback,
  setShadow,
  stickyPoint,
} from '#core/model/traffic.ts';
import { formatIssues } from '#core/protocol/issues.ts';

const split = policyOf({ live: { '1': 0.8, '2': 0.2 } }, '2');

describe('traffic policies', () => {
  it('converges to the split weights over many random requests', () => {
    const n = 100_000;
    let canary = 0;
    for (let i = 0; i < n; i++) if (pick(split, Math.random()) === '2') canary++;
    assert.ok(Math.abs(canary / n - 0.2) < 0.01, `canary share ${canary / n}`);
  });

  it('keeps a caller with a routing key on one version, and spreads callers by the weights', () => {
    for (const key of ['alice', 'bob', 'customer-42']) {
      const first = pick(split, stickyPoint('fraud-detector', key));
      for (let i = 0; i < 50; i++) assert.equal(pick(split, stickyPoint('fraud-detector', key)), first);
    }
    let canary = 0;
    const keys = 20_000;
    for (let i = 0; i < keys; i++)
      if (pick(split, stickyPoint('fraud-detector', `user-${i}`)) === '2') canary++;
    assert.ok(Math.abs(canary / keys - 0.2) < 0.02, `canary share of callers ${canary / keys}`);
  });

  it('only moves callers onto the canary when its weight grows', () => {
    const wider = policyOf({ live: { '1': 0.5, '2': 0.5 } }, '2');
    for (let i = 0; i < 5000; i++) {
      const u = stickyPoint('m', `k${i}`);
      if (pick(split, u) === '2') assert.equal(pick(wider, u), '2');
    }
  });

  it('names the primary of a split as the version with the larger share', () => {
    assert.equal(primaryOf(split), '1');
    assert.equal(primaryOf(policyOf({ live: { '3': 0.3, '4': 0.7 } }, '4')), '4');
    assert.equal(primaryOf(policyOf({}, '5')), '5');
  });

  it('rejects split files that cannot be a Lambda-style alias, naming the fix', () => {
    const bad = (v: unknown) => {
      const r = aliasesFileSchema.safeParse(v);
      assert.equal(r.success, false);
      return formatIssues((r as { error: Parameters<typeof formatIssues>[0] }).error).join('\n');
    };
    assert.match(bad({ live: { '1': 0.5, '2': 0.3 } }), /live: the weights of a split must add up to 1/);
    assert.match(bad({ live: { '1': 0.5, '2': 0.25, '3': 0.25 } }), /exactly two versions/);
    assert.match(bad({ shadow: { '1': 0.5, '2': 0.5 } }), /only "live" may be a weighted split/);
    assert.match(bad({ live: { '1': 1, '2': 0 } }), /live\.2: must be > 0/);
  });
});

describe('lifecycle transitions (infera release, promote, rollback, shadow)', () => {
  const file = { live: '1' };
  const policy = policyOf(file, '2');

  it('release --canary 20 splits 80/20 and remembers the stable version as previous', () => {
    const t = release(file, policy, '2', 20);
    assert.ok(t.ok);
    assert.deepEqual(t.file, { live: { '1': 0.8, '2': 0.2 }, previous: '1' });
  });

  it('promote gives the canary all traffic; rollback from a split returns to the stable version', () => {
    const canary = { live: { '1': 0.8, '2': 0.2 }, previous: '1' };
    const p = promote(canary, policyOf(canary, '2'));
    assert.ok(p.ok);
    assert.deepEqual(p.file, { live: '2', previous: '1' });
    const r = rollback(canary, policyOf(canary, '2'), ['1', '2']);
    assert.ok(r.ok);
    assert.deepEqual(r.file, { live: '1' });
    // Even a canary above half rolls back to the version it was released over.
    const big = { live: { '1': 0.3, '2': 0.7 }, previous: '1' };
    const back = rollback(big, policyOf(big, '2'), ['1', '2']);
    assert.ok(back.ok);
    assert.deepEqual(back.file, { live: '1' });
  });

  it('rollback from one version goes to previous, else to the next lower version, and stops at the oldest', () => {
    const afterPromote = { live: '2', previous: '1' };
    const r = rollback(afterPromote, policyOf(afterPromote, '2'), ['1', '2', '3']);
    assert.ok(r.ok);
    assert.deepEqual(r.file, { live: '1' });
    const three = { live: '3' };
    const down = rollback(three, policyOf(three, '3'), ['1', '2', '3']);
    assert.ok(down.ok);
    assert.deepEqual(down.file, { live: '2' });
    const oldest = rollback(file, policy, ['1', '2']);
    assert.equal(oldest.ok, false);
    assert.match((oldest as { reason: string }).reason, /the oldest; there is nothing to roll back to/);
  });

  it('promote with neither canary nor shadow explains how to start one', () => {
    const t = promote(file, policy);
    assert.equal(t.ok, false);
    assert.match((t as { fix: string }).fix, /infera release <model> <version> --canary 10/);
  });

  it('a shadow must be a version that is not serving live traffic; promote takes it live', () => {
    assert.equal(setShadow(file, policy, '1').ok, false);
    const s = setShadow(file, policy, '2');
    assert.ok(s.ok);
    assert.deepEqual(s.file, { live: '1', shadow: '2' });
    const p = promote(s.file, policyOf(s.file, '2'));
    assert.ok(p.ok);
    assert.deepEqual(p.file, { live: '2', previous: '1' });
  });
});
