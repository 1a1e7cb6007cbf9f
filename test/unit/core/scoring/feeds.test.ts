import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ValidationError } from '#core/errors.ts';
import { ModelRegistry, type ModelVersion } from '#core/model/registry.ts';
import type { InferRequest } from '#core/protocol/schemas.ts';
import { checkInstances, feedsV1, feedsV2, limitsFor, tabularRows } from '#core/scoring/feeds.ts';
import { instanceSchema } from '#core/tensor/features.ts';
import { DEFAULT_SHAPE_LIMITS } from '#core/tensor/shapes.ts';
import { MODELS } from '../../../helpers.ts';

const flower = { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 };

function columns(rows: Record<string, number>[]): InferRequest {
  const names = Object.keys(rows[0] ?? {});
  return {
    inputs: names.map((name) => ({
      name,
      datatype: 'FP64',
      shape: [rows.length],
      data: rows.map((r) => r[name] as number),
    })),
  };
}

describe('request to feeds', () => {
  let iris: ModelVersion;
  let schema: ReturnType<typeof instanceSchema>;
  before(async () => {
    iris = (await ModelRegistry.load(MODELS)).resolve('iris', '1');
    assert.equal(iris.manifest.inputs.kind, 'tabular');
    if (iris.manifest.inputs.kind === 'tabular') schema = instanceSchema(iris.manifest.inputs.features);
  });

  it('builds one float tensor of rows × features from v1 instances, in manifest order', () => {
    const { feeds, rows } = feedsV1(iris, [flower, flower], schema, undefined);
    const t = feeds.measurements;
    assert.ok(t);
    assert.deepEqual(t.dims, [2, 4]);
    assert.deepEqual(Array.from(t.data as Float32Array).slice(0, 4), [5.1, 3.5, 1.4, 0.2].map(Math.fround));
    assert.equal(rows?.length, 2);
  });

  it('builds the same tensor from the same rows sent as v2 columns', () => {
    const v1 = feedsV1(iris, [flower, flower], schema, undefined).feeds.measurements;
    const v2 = feedsV2(iris, columns([flower, flower]), schema, {}, undefined);
    assert.equal(v2.n, 2);
    assert.deepEqual(v2.feeds.measurements?.dims, v1?.dims);
    assert.deepEqual(
      Array.from(v2.feeds.measurements?.data as Float32Array),
      Array.from(v1?.data as Float32Array),
    );
  });

  it('refuses an input given twice, naming its index', () => {
    const req = columns([flower]);
    const first = req.inputs[0];
    assert.ok(first);
    assert.throws(
      () => feedsV2(iris, { inputs: [...req.inputs, first] }, schema, {}, undefined),
      (e: unknown) =>
        e instanceof ValidationError &&
        /inputs\[4\]\.name: input 'sepal_length_cm' is given twice/.test(e.message),
    );
  });

  it('refuses an output the model does not have, listing the ones it has', () => {
    assert.throws(
      () => feedsV2(iris, { ...columns([flower]), outputs: [{ name: 'nope' }] }, schema, {}, undefined),
      /outputs\[0\]\.name: unknown output 'nope'; this model returns: /,
    );
  });

  it('checks v1 instances as scoring would, without running: a value out of range names its field', async () => {
    assert.equal(await checkInstances(iris, [flower], schema, undefined), undefined);
    await assert.rejects(
      checkInstances(iris, [{ ...flower, petal_width_cm: 31 }], schema, undefined),
      /petal_width_cm/,
    );
  });

  it('caps a v2 request at maxRows, and leaves the default limits alone without it', () => {
    assert.equal(limitsFor({}), DEFAULT_SHAPE_LIMITS);
    assert.equal(limitsFor({ maxRows: 3 }).maxBatch, 3);
    const four = columns([flower, flower, flower, flower]);
    assert.throws(() => feedsV2(iris, four, schema, { maxRows: 3 }, undefined), /3/);
  });

  it('gives a rejected v2 request its raw rows for monitoring, and nothing for a request not shaped as columns', () => {
    const rows = tabularRows(iris, columns([{ ...flower, petal_width_cm: 999 }]));
    assert.deepEqual(rows, [{ ...flower, petal_width_cm: 999 }]);
    assert.equal(
      tabularRows(iris, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1] }] }),
      undefined,
    );
  });
});
