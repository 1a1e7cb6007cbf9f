/**
 * The request fast path for tabular instances (feature-checks.ts) against the full validation
 * (zod, then encodeInstances), on random instances of good and bad values: a differential
 * property test. The fast path must accept exactly what zod accepts, with the same matrix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ModelRegistry } from '#core/model/registry.ts';
import { instanceEncoder } from '#core/tensor/feature-checks.ts';
import { encodeInstances, instanceSchema, validateInstances } from '#core/tensor/features.ts';
import { MODELS } from '../../../helpers.ts';

const registry = await ModelRegistry.load(MODELS, { only: ['fraud-detector', 'iris'] });

/** Values as they turn up in requests: right, wrong type, out of range, missing. */
const VALUES: readonly unknown[] = [
  0,
  -0,
  1,
  -1,
  2,
  12.5,
  23,
  24,
  3.5,
  50000,
  50000.01,
  1e6,
  2 ** 53 + 2,
  true,
  false,
  'true',
  '5',
  'grocery',
  'travel',
  'Grocery',
  '',
  null,
  [],
  {},
  [1],
];

function full(features: Parameters<typeof instanceSchema>[0], instances: unknown[]) {
  try {
    return { matrix: encodeInstances(features, validateInstances(instanceSchema(features), instances)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

for (const model of ['fraud-detector', 'iris']) {
  describe(`the tabular fast path of ${model}`, () => {
    const m = registry.resolve(model).manifest;
    if (m.inputs.kind !== 'tabular') throw new Error(`${model} is not tabular`);
    const features = m.inputs.features;
    const instance = fc.oneof(
      {
        weight: 10,
        arbitrary: fc.record(
          Object.fromEntries(
            features.map((f) => [f.name, fc.oneof(fc.constantFrom(...VALUES), fc.double(), fc.integer())]),
          ),
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 'row', 5, { colour: 'red' }) },
    );

    it('accepts exactly what zod accepts, into the same matrix', () => {
      const encode = instanceEncoder(features);
      fc.assert(
        fc.property(fc.array(instance, { minLength: 1, maxLength: 4 }), (instances) => {
          const fast = encode(instances);
          const slow = full(features, instances);
          if (fast === undefined) {
            assert.ok(slow.error, `the fast path refused what zod took: ${JSON.stringify(instances)}`);
            return;
          }
          assert.ok(
            slow.matrix,
            `the fast path took what zod refused (${slow.error}): ${JSON.stringify(instances)}`,
          );
          assert.equal(fast.length, slow.matrix.length);
          for (let i = 0; i < fast.length; i++)
            assert.ok(Object.is(fast[i], slow.matrix[i]), `element ${i}: ${fast[i]} vs ${slow.matrix[i]}`);
        }),
        { numRuns: 3000 },
      );
    });
  });
}
