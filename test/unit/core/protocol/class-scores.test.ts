/**
 * A classifier's answers read in place from its score tensor (ClassScores) against the rule written
 * out plainly: binary by the positive probability against the threshold, multiclass by the first
 * highest probability. The batch CSV written from the tensor must match the CSV written from the
 * v1 predictions of the same outputs, byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatClassCsv, formatResults } from '#core/batch/results.ts';
import type { Manifest } from '#core/model/manifest.ts';
import { toMatrixScores, toPredictions } from '#core/protocol/encode.ts';

const manifest = (task: string, labels: string[], threshold?: number) =>
  ({
    task,
    outputs: { tensor: 'probs', labels, ...(threshold !== undefined ? { threshold } : {}) },
  }) as unknown as Manifest;

/** The rule, plainly. */
function expected(m: Manifest, d: Float32Array, n: number, k: number) {
  const labels = m.outputs.labels as string[];
  return Array.from({ length: n }, (_, i) => {
    if (m.task === 'binary-classification') {
      const pos = k === 2 ? (d[i * 2 + 1] as number) : (d[i] as number);
      const neg = k === 2 ? (d[i * 2] as number) : 1 - pos;
      return {
        label: pos >= (m.outputs.threshold ?? 0.5) ? labels[1] : labels[0],
        score: pos,
        probs: [neg, pos],
      };
    }
    const row = Array.from(d.subarray(i * k, (i + 1) * k));
    let best = 0;
    for (let c = 0; c < k; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    return { label: labels[best], score: row[best], probs: row };
  });
}

const value = fc.oneof(
  { weight: 6, arbitrary: fc.float({ min: 0, max: 1, noNaN: true }) },
  fc.constantFrom(0, 0.5, 1, Number.NaN, 0.25),
);
const case_ = fc.oneof(
  fc.record({
    task: fc.constant('binary-classification'),
    k: fc.constantFrom(1, 2),
    threshold: fc.option(fc.constantFrom(0.1, 0.5, 0.9), { nil: undefined }),
    n: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    task: fc.constant('multiclass-classification'),
    k: fc.integer({ min: 2, max: 6 }),
    threshold: fc.constant(undefined),
    n: fc.integer({ min: 1, max: 12 }),
  }),
);

describe('a classifier answered in place from its score tensor', () => {
  it('gives each row the label, score and probabilities of the plain rule', () => {
    fc.assert(
      fc.property(
        case_,
        fc.array(value, { minLength: 72, maxLength: 72 }),
        ({ task, k, threshold, n }, vals) => {
          const labels =
            task === 'binary-classification' ? ['no', 'yes'] : Array.from({ length: k }, (_, c) => `c${c}`);
          const m = manifest(task, labels, threshold);
          const d = Float32Array.from(vals.slice(0, n * k));
          const out = { probs: { type: 'float32' as const, data: d, dims: [n, k] } };
          const cs = toMatrixScores(m, out, n).classes;
          assert.ok(cs);
          expected(m, d, n, k).forEach((e, i) => {
            assert.equal(cs.label(i), e.label);
            assert.ok(Object.is(cs.score(i), e.score));
            e.probs.forEach((p, c) => {
              assert.ok(Object.is(cs.probability(i, c), p));
            });
          });
          const preds = toPredictions(m, out, n);
          const rows = preds.map((p, i) => ({ row: i + 1, id: `r${i}`, p }));
          const fromPredictions = Buffer.from(formatResults(m, 'csv', rows, true)).toString();
          const fromTensor = Buffer.from(
            formatClassCsv(
              m,
              true,
              cs,
              (i) => i + 1,
              (i) => `r${i}`,
            ),
          ).toString();
          assert.equal(fromTensor, fromPredictions);
        },
      ),
      { numRuns: 1500, seed: 20261126 },
    );
  });

  it('answers nothing in place for a model that is not a classifier', () => {
    const m = { task: 'regression', outputs: { tensor: 'y' } } as unknown as Manifest;
    const s = toMatrixScores(m, { y: { type: 'float32', data: Float32Array.of(1.5, 2), dims: [2, 1] } }, 2);
    assert.equal(s.classes, undefined);
    assert.deepEqual(s.predictions(), [{ value: 1.5 }, { value: 2 }]);
  });
});
