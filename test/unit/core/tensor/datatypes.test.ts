import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '#core/errors.ts';
import { DATATYPES, type Datatype } from '#core/model/manifest.ts';
import type { HostTensor } from '#core/ports.ts';
import { hostTensor } from '#core/tensor/host-tensor.ts';
import { checkBounds, DEFAULT_SHAPE_LIMITS } from '#core/tensor/shapes.ts';
import { DATATYPE_TO_TYPE, TYPE_TO_DATATYPE, toTypedArray } from '#core/tensor/tensors.ts';
import { tensorToJson } from '#core/tensor/to-json.ts';
import { EDGES } from '../../../support/datatype-samples.ts';

/** One value just outside each datatype, with the message it must get. */
const OUTSIDE: [Datatype, unknown, RegExp][] = [
  ['UINT8', 256, /^inputs\[0\]\.data\[1\]: 256 is outside the UINT8 range \(0 to 255\)$/],
  ['INT8', -129, /-129 is outside the INT8 range \(-128 to 127\)/],
  ['UINT16', 65536, /65536 is outside the UINT16 range/],
  ['INT16', 32768, /32768 is outside the INT16 range/],
  ['UINT32', -1, /-1 is outside the UINT32 range/],
  ['INT32', 2147483648, /2147483648 is outside the INT32 range/],
  ['UINT64', '-1', /-1 is outside the UINT64 range/],
  ['UINT64', '18446744073709551616', /is outside the UINT64 range/],
  ['INT64', '9223372036854775808', /is outside the INT64 range/],
  ['FP16', 65520, /65520 is outside the FP16 range \(±65504\)/],
  ['FP32', 1e39, /is outside the FP32 range/],
  ['UINT8', 1.5, /expected a UINT8 integer, got a fractional number/],
  ['BYTES', 5, /expected a string, got an integer/],
  ['BOOL', 1, /expected true or false, got an integer/],
  ['FP64', 'NaN', /expected a finite FP64 number, got a string/],
];

describe('tensor datatypes', () => {
  it('maps every Open Inference Protocol datatype to an onnxruntime element type and back', () => {
    assert.equal(DATATYPES.length, 13);
    for (const d of DATATYPES) assert.equal(TYPE_TO_DATATYPE[DATATYPE_TO_TYPE[d]], d);
  });

  for (const d of DATATYPES) {
    it(`keeps ${d} values at the edges of its range unchanged from JSON to the engine and back`, () => {
      const data = toTypedArray(EDGES[d], d, 'inputs[0].data');
      const t: HostTensor = hostTensor(DATATYPE_TO_TYPE[d], data, [EDGES[d].length]);
      // 64-bit integers beyond 2^53 travel as decimal strings, both ways.
      assert.deepEqual(tensorToJson(t), EDGES[d]);
    });
  }

  it('says in the error itself what is wrong with the first bad element: a client may show nothing else', () => {
    assert.throws(
      () => toTypedArray([2 ** 53 + 2, 1.5], 'INT64', 'inputs[0].data'),
      (e: Error & { details: string[] }) => {
        assert.match(
          e.message,
          /^inputs\[0\]\.data: 2 bad elements, first inputs\[0\]\.data\[0\]: 9007199254740994 is beyond 2\^53, .* decimal strings/,
        );
        assert.equal(e.details.length, 2);
        return true;
      },
    );
  });

  it('stores FP16 as its half-precision bits, rounding as IEEE 754 does', () => {
    const bits = toTypedArray([1, 2, 0.5, 1 / 3], 'FP16', 'x') as Uint16Array;
    assert.ok(bits instanceof Uint16Array);
    assert.deepEqual([...bits], [0x3c00, 0x4000, 0x3800, 0x3555]);
  });

  for (const [d, value, message] of OUTSIDE) {
    it(`rejects ${JSON.stringify(value)} as ${d}, naming the input and the element`, () => {
      assert.throws(
        () => toTypedArray([EDGES[d][0], value], d, 'inputs[0].data'),
        (e: ValidationError) => {
          assert.ok(e instanceof ValidationError);
          assert.match(e.details[0] ?? '', /^inputs\[0\]\.data\[1\]: /);
          assert.match(e.details[0] ?? '', message);
          return true;
        },
      );
    });
  }
});

describe('bounds on a request shape, before anything is allocated', () => {
  const limits = { ...DEFAULT_SHAPE_LIMITS, maxBatch: 1000 };
  const rejects = (shape: number[], message: RegExp) =>
    assert.throws(
      () => checkBounds(shape, 'inputs[0].shape', limits),
      (e: ValidationError) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.status, 400);
        assert.match(e.message, message);
        return true;
      },
    );

  it('rejects a zero-size dimension, naming it', () => {
    rejects(
      [1000000, 3, 0, 1],
      /^inputs\[0\]\.shape: dimension 2 is 0 in shape \[1000000, 3, 0, 1\]; every dimension must be at least 1$/,
    );
    rejects([0, 3, 1, 1], /dimension 0 is 0/);
  });

  it('rejects more rows than one request may carry, naming MAX_INSTANCES', () => {
    rejects([60000, 8], /dimension 0 \(rows\) is 60000; the limit is 1000 per request \(MAX_INSTANCES\)/);
  });

  it('rejects a shape whose element count would overflow, without computing it in full', () => {
    rejects(
      [1000, 100000, 100000, 100000, 100000, 100000, 100000],
      /has more than 67108864 elements, the limit for one input/,
    );
  });

  it('accepts a large but bounded image batch', () => {
    checkBounds([8, 3, 640, 640], 'x', limits);
  });
});
