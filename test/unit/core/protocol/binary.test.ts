import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '#core/errors.ts';
import { DATATYPES } from '#core/model/manifest.ts';
import { binaryHeaderLength, decodeBinaryTensor, sliceBinaryInputs } from '#core/protocol/binary.ts';
import { binaryOutputNames, encodeBinaryOutputs, encodeBinaryTensor } from '#core/protocol/binary-outputs.ts';
import type { InferRequest } from '#core/protocol/schemas.ts';
import { hostTensor } from '#core/tensor/host-tensor.ts';
import { DATATYPE_TO_TYPE, toTypedArray } from '#core/tensor/tensors.ts';
import { tensorToJson } from '#core/tensor/to-json.ts';
import { EDGES } from '../../../support/datatype-samples.ts';

const rejects400 = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: ValidationError) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.status, 400);
    assert.match(e.message, message);
    return true;
  });

/** BYTES as tritonclient serializes them: a 4-byte little-endian length, then the bytes. */
function tritonBytes(items: Buffer[]): Buffer {
  return Buffer.concat(items.flatMap((b) => [Buffer.from(Uint32Array.of(b.length).buffer), b]));
}

describe('binary tensor data: framing', () => {
  it('reads the JSON header length from Inference-Header-Content-Length or the SageMaker content type', () => {
    assert.deepEqual(binaryHeaderLength({ 'inference-header-content-length': '120' }, 200), {
      length: 120,
      framing: 'header',
    });
    assert.deepEqual(
      binaryHeaderLength(
        { 'content-type': 'application/vnd.sagemaker-triton.binary+json;json-header-size=99' },
        150,
      ),
      { length: 99, framing: 'sagemaker' },
    );
    assert.equal(binaryHeaderLength({ 'content-type': 'application/json' }, 150), undefined);
  });

  it('rejects a header length that is not a number, is past the body, or is missing from the SageMaker type', () => {
    rejects400(
      () => binaryHeaderLength({ 'inference-header-content-length': 'abc' }, 10),
      /Inference-Header-Content-Length must be a whole number of bytes, got 'abc'/,
    );
    rejects400(
      () => binaryHeaderLength({ 'inference-header-content-length': '500' }, 10),
      /is 500, but the body has 10 bytes/,
    );
    rejects400(
      () => binaryHeaderLength({ 'inference-header-content-length': '-1' }, 10),
      /must be a whole number/,
    );
    rejects400(
      () => binaryHeaderLength({ 'content-type': 'application/vnd.sagemaker-triton.binary+json' }, 10),
      /needs ;json-header-size=<bytes of the JSON header>/,
    );
  });

  it('cuts the binary part into the inputs that declare binary_data_size, in order, and checks the total', () => {
    const bin = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const { inputs } = sliceBinaryInputs(
      [{ parameters: { binary_data_size: 2 } }, { data: [1] }, { parameters: { binary_data_size: 4 } }],
      bin,
    );
    assert.deepEqual([...(inputs.get(0) ?? [])], [1, 2]);
    assert.equal(inputs.has(1), false);
    assert.deepEqual([...(inputs.get(2) ?? [])], [3, 4, 5, 6]);
    rejects400(
      () => sliceBinaryInputs([{ parameters: { binary_data_size: 2 } }], bin),
      /6 bytes after the JSON header, but the inputs' binary_data_size add up to 2/,
    );
    rejects400(
      () => sliceBinaryInputs([{ parameters: { binary_data_size: 9 } }], bin),
      /9 bytes from offset 0 run past the 6 bytes/,
    );
    rejects400(
      () => sliceBinaryInputs([{ parameters: { binary_data_size: 6 }, data: [1] }], bin),
      /gives both data and parameters\.binary_data_size/,
    );
    rejects400(
      () => sliceBinaryInputs([{ parameters: { binary_data_size: 1.5 } }], bin),
      /binary_data_size: must be a whole number of bytes, got 1\.5/,
    );
    rejects400(
      () => sliceBinaryInputs([{}], new Uint8Array()),
      /inputs\[0\]: has neither data nor parameters\.binary_data_size/,
    );
  });
});

describe('binary tensor data: elements', () => {
  for (const d of DATATYPES) {
    it(`decodes ${d} bytes as numpy's tobytes() writes them, and encodes them back`, () => {
      const data = toTypedArray(EDGES[d], d, 'x');
      const bytes = encodeBinaryTensor(d, data);
      // Shifted by one byte, as an input that follows another in the body can be.
      const shifted = new Uint8Array(bytes.length + 1);
      shifted.set(bytes, 1);
      const back = decodeBinaryTensor(shifted.subarray(1), d, [EDGES[d].length], 'inputs[0].data');
      assert.deepEqual(tensorToJson(hostTensor(DATATYPE_TO_TYPE[d], back, [EDGES[d].length])), EDGES[d]);
    });
  }

  it('reads FP32 in little-endian order', () => {
    const le = Buffer.alloc(8);
    le.writeFloatLE(1.5, 0);
    le.writeFloatLE(-2, 4);
    assert.deepEqual([...(decodeBinaryTensor(le, 'FP32', [2], 'x') as Float32Array)], [1.5, -2]);
  });

  it('reads BYTES elements exactly as tritonclient serializes them', () => {
    const raw = tritonBytes([Buffer.from('hello'), Buffer.from(''), Buffer.from('😀')]);
    assert.deepEqual(decodeBinaryTensor(raw, 'BYTES', [3], 'x'), ['hello', '', '😀']);
    assert.deepEqual(Buffer.from(encodeBinaryTensor('BYTES', ['hello', '', '😀'])), raw);
  });

  it('rejects a byte count that does not fit the shape, before allocating', () => {
    rejects400(
      () => decodeBinaryTensor(new Uint8Array(10), 'FP32', [1, 3], 'inputs[0].data'),
      /^inputs\[0\]\.data: binary_data_size is 10 bytes, but shape \[1, 3\] of FP32 needs 12 \(3 × 4\)$/,
    );
    rejects400(
      () => decodeBinaryTensor(new Uint8Array(8), 'BYTES', [1000000], 'inputs[0].data'),
      /8 bytes cannot hold 1000000 BYTES elements/,
    );
  });

  it('rejects NaN and infinities, BOOL bytes other than 0 and 1, and malformed BYTES, naming the element', () => {
    rejects400(
      () => decodeBinaryTensor(Buffer.from(Float32Array.of(1, Number.NaN).buffer), 'FP32', [2], 'x'),
      /^x\[1\]: expected a finite FP32 number/,
    );
    rejects400(
      () => decodeBinaryTensor(Buffer.from(Uint16Array.of(0x3c00, 0x7c00).buffer), 'FP16', [2], 'x'),
      /^x\[1\]: expected a finite FP16/,
    );
    rejects400(
      () => decodeBinaryTensor(new Uint8Array([1, 2]), 'BOOL', [2], 'x'),
      /^x\[1\]: a BOOL byte must be 0 or 1, got 2/,
    );
    const long = Buffer.from(Uint32Array.of(1000).buffer);
    rejects400(
      () => decodeBinaryTensor(long, 'BYTES', [1], 'x'),
      /^x\[0\]: its length 1000 runs past the end of the data/,
    );
    rejects400(
      () => decodeBinaryTensor(tritonBytes([Buffer.from([0xff, 0xfe])]), 'BYTES', [1], 'x'),
      /^x\[0\]: is not valid UTF-8/,
    );
    rejects400(
      () =>
        decodeBinaryTensor(
          Buffer.concat([tritonBytes([Buffer.from('a')]), Buffer.from([0])]),
          'BYTES',
          [1],
          'x',
        ),
      /1 bytes are left after 1 BYTES elements/,
    );
  });
});

describe('binary tensor data: outputs', () => {
  const req = (extra: Partial<InferRequest>): InferRequest => ({ inputs: [], ...extra });
  const names = ['probabilities', 'label', 'score'];

  it('sends every output as binary with binary_data_output, as tritonclient asks when it names none', () => {
    assert.deepEqual([...binaryOutputNames(req({ parameters: { binary_data_output: true } }), names)], names);
    assert.deepEqual([...binaryOutputNames(req({}), names)], []);
  });

  it("lets each named output choose, its own binary_data winning over the request's", () => {
    const r = req({
      parameters: { binary_data_output: true },
      outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'score' }],
    });
    assert.deepEqual([...binaryOutputNames(r, names)], ['probabilities', 'score']);
    const one = req({ outputs: [{ name: 'score', parameters: { binary_data: true } }] });
    assert.deepEqual([...binaryOutputNames(one, names)], ['score']);
  });

  it('moves the chosen outputs into chunks announced by binary_data_size, in output order', () => {
    const { header, chunks } = encodeBinaryOutputs(
      {
        model_name: 'm',
        model_version: '1',
        outputs: [
          { name: 'label', datatype: 'BYTES', shape: [1], data: ['fraud'] },
          { name: 'score', datatype: 'FP32', shape: [1], data: [0.5] },
        ],
      },
      new Set(['label', 'score']),
    );
    assert.deepEqual(header.outputs, [
      { name: 'label', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 9 } },
      { name: 'score', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
    ]);
    assert.deepEqual(Buffer.from(chunks[0] ?? []), tritonBytes([Buffer.from('fraud')]));
    assert.equal(Buffer.from(chunks[1] ?? []).readFloatLE(0), 0.5);
  });

  it("sends a model's NaN as NaN, not as the caller's error", () => {
    const { chunks } = encodeBinaryOutputs(
      {
        model_name: 'm',
        model_version: '1',
        outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: [Number.NaN, 1] }],
      },
      new Set(['y']),
    );
    const y = Buffer.from(chunks[0] ?? []);
    assert.ok(Number.isNaN(y.readFloatLE(0)));
    assert.equal(y.readFloatLE(4), 1);
  });
});
