/**
 * Requests and answers of the binary tensor data extension, built and read as tritonclient.http
 * does (see its _get_inference_request and InferResult): a compact JSON header, then each input's
 * little-endian bytes; BYTES elements are a 4-byte length and the bytes.
 */
import assert from 'node:assert/strict';

/** tritonclient.http's request: rapidjson's compact header, then each input's tobytes(). */
export function tritonRequest(inputs: { name: string; shape: number[]; datatype: string; bytes: Buffer }[]) {
  const header = JSON.stringify({
    inputs: inputs.map((i) => ({
      name: i.name,
      shape: i.shape,
      datatype: i.datatype,
      parameters: { binary_data_size: i.bytes.length },
    })),
    parameters: { binary_data_output: true },
  });
  return {
    body: Buffer.concat([Buffer.from(header), ...inputs.map((i) => i.bytes)]),
    headerLength: Buffer.byteLength(header),
  };
}

/** What tritonclient's InferResult does with the answer: the header, then each output's bytes. */
export function readResult(res: { headers: Record<string, unknown>; body: Buffer }) {
  const n = Number(res.headers['inference-header-content-length']);
  const header = JSON.parse(res.body.subarray(0, n).toString('utf8')) as {
    outputs: {
      name: string;
      datatype: string;
      shape: number[];
      parameters?: { binary_data_size?: number };
      data?: unknown[];
    }[];
  };
  const buffers = new Map<string, Buffer>();
  let at = n;
  for (const o of header.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    buffers.set(o.name, res.body.subarray(at, at + size));
    at += size;
  }
  assert.equal(at, res.body.length, 'the binary part is exactly the announced sizes');
  return { header, buffers };
}

/** A fraud-detector transaction as one binary column per feature, as tritonclient sends it. */
export function transactionRequest() {
  const f64 = (v: number) => Buffer.from(Float64Array.of(v).buffer);
  const i64 = (v: number) => Buffer.from(BigInt64Array.of(BigInt(v)).buffer);
  const bool = (v: boolean) => Buffer.from([v ? 1 : 0]);
  const text = (v: string) =>
    Buffer.concat([Buffer.from(Uint32Array.of(Buffer.byteLength(v)).buffer), Buffer.from(v)]);
  const col = (name: string, datatype: string, bytes: Buffer) => ({ name, shape: [1], datatype, bytes });
  return tritonRequest([
    col('amount', 'FP64', f64(120.5)),
    col('merchant_category', 'BYTES', text('travel')),
    col('hour', 'INT64', i64(3)),
    col('distance_from_home_km', 'FP64', f64(900)),
    col('transactions_last_hour', 'INT64', i64(4)),
    col('card_present', 'BOOL', bool(false)),
    col('account_age_days', 'INT64', i64(30)),
    col('is_foreign', 'BOOL', bool(true)),
  ]);
}

/** dominant-color's image input, [1, 3, 2, 2] FP32, as binary. */
export const IMAGE = [0.1, 0.2, 0.1, 0.1, 0.9, 0.8, 0.7, 0.9, 0.2, 0.1, 0.3, 0.2];
export function imageRequest(bytes = Buffer.from(Float32Array.from(IMAGE).buffer)) {
  return tritonRequest([{ name: 'image', shape: [1, 3, 2, 2], datatype: 'FP32', bytes }]);
}
