/**
 * The Open Inference Protocol binary tensor data extension, as Triton and KServe implement it.
 * A request or response body is a JSON header followed by raw tensor bytes:
 * - the header's length comes from `Inference-Header-Content-Length`, or from the content type
 *   `application/vnd.sagemaker-triton.binary+json;json-header-size=N` (SageMaker strips custom
 *   headers);
 * - each binary input names its byte count in `parameters.binary_data_size`, in input order;
 * - elements are little-endian; BOOL is one byte; BYTES elements are a 4-byte little-endian
 *   length followed by the bytes.
 * Every size is checked against the shape before anything is allocated. Pure: bytes in, bytes out.
 */
import { invalid as fail } from '../errors.ts';
import type { Datatype } from '../model/manifest.ts';
import type { TensorData } from '../ports.ts';
import { fromBytes } from '../tensor/host-tensor.ts';
import { DATATYPE_TO_TYPE, product } from '../tensor/tensors.ts';
import type { InferRequest } from './schemas.ts';

export const HEADER_LENGTH_HEADER = 'inference-header-content-length';
export const SAGEMAKER_BINARY_TYPE = 'application/vnd.sagemaker-triton.binary+json';
export const BINARY_EXTENSION = 'binary_tensor_data';

/** Bytes per element of each fixed-size datatype. */
export const ELEMENT_BYTES: Readonly<Record<Exclude<Datatype, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/**
 * The JSON header length a binary request declares, and how it declared it, or undefined for a
 * plain JSON body: `Inference-Header-Content-Length`, or the SageMaker content type's
 * `json-header-size`. A binary answer is framed the same way.
 */
export function binaryHeaderLength(
  headers: Readonly<Record<string, string | undefined>>,
  bodyBytes: number,
): { length: number; framing: Framing } | undefined {
  const type = headers['content-type'] ?? '';
  let raw: string | undefined = headers[HEADER_LENGTH_HEADER];
  let from = 'Inference-Header-Content-Length';
  if (raw === undefined && type.toLowerCase().startsWith(SAGEMAKER_BINARY_TYPE)) {
    const m = /;\s*json-header-size\s*=\s*([^;\s]*)/i.exec(type);
    if (!m) fail(`Content-Type ${SAGEMAKER_BINARY_TYPE} needs ;json-header-size=<bytes of the JSON header>`);
    raw = m?.[1];
    from = 'json-header-size';
  }
  if (raw === undefined) return undefined;
  if (!/^\d{1,10}$/.test(raw.trim()))
    fail(`${from} must be a whole number of bytes, got '${raw.slice(0, 20)}'`);
  const n = Number(raw.trim());
  if (n < 2 || n > bodyBytes) {
    fail(
      `${from} is ${n}, but the body has ${bodyBytes} bytes; it must count the JSON header, which comes first`,
    );
  }
  return { length: n, framing: from === 'json-header-size' ? 'sagemaker' : 'header' };
}

/** One input's raw bytes, as the header's binary_data_size entries cut them from the body. */
export interface BinarySlices {
  /** Input index -> its bytes. */
  readonly inputs: ReadonlyMap<number, Uint8Array>;
}

/**
 * Cuts the binary part of a body into the inputs that declare `parameters.binary_data_size`, in
 * order. The sizes must add up to the binary part exactly; an input gives either `data` or binary.
 */
export function sliceBinaryInputs(
  inputs: readonly { parameters?: Record<string, unknown> | undefined; data?: unknown }[],
  binary: Uint8Array,
): BinarySlices {
  const out = new Map<number, Uint8Array>();
  let offset = 0;
  inputs.forEach((input, i) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) fail(`inputs[${i}]: has neither data nor parameters.binary_data_size`);
      return;
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      fail(
        `inputs[${i}].parameters.binary_data_size: must be a whole number of bytes, got ${JSON.stringify(size)}`,
      );
    }
    if (input.data !== undefined) {
      fail(`inputs[${i}]: gives both data and parameters.binary_data_size; send one of them`);
    }
    const end = offset + (size as number);
    if (end > binary.length) {
      fail(
        `inputs[${i}].parameters.binary_data_size: ${size} bytes from offset ${offset} run past the ${binary.length} bytes after the JSON header`,
      );
    }
    out.set(i, binary.subarray(offset, end));
    offset = end;
  });
  if (offset !== binary.length) {
    fail(
      `the body has ${binary.length} bytes after the JSON header, but the inputs' binary_data_size add up to ${offset}`,
    );
  }
  return { inputs: out };
}

/** Raw little-endian bytes of one input to the engine's typed array, checked against the shape. */
export function decodeBinaryTensor(
  raw: Uint8Array,
  datatype: Datatype,
  shape: readonly number[],
  path: string,
  nonFinite: 'accept' | 'refuse' = 'refuse',
): TensorData {
  const n = product(shape);
  if (datatype === 'BYTES') return decodeBytesElements(raw, n, path);
  const size = ELEMENT_BYTES[datatype];
  if (raw.length !== n * size) {
    fail(
      `${path}: binary_data_size is ${raw.length} bytes, but shape [${shape.join(', ')}] of ${datatype} needs ${n * size} (${n} × ${size})`,
    );
  }
  // A copy, aligned for the typed array (a slice of the body may start at any byte).
  const bytes = new Uint8Array(raw);
  if (datatype === 'BOOL') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) fail(`${path}[${bad}]: a BOOL byte must be 0 or 1, got ${bytes[bad]}`);
    return bytes;
  }
  const data = fromBytes(DATATYPE_TO_TYPE[datatype], bytes.buffer);
  if (
    nonFinite === 'refuse' &&
    (data instanceof Float32Array ||
      data instanceof Float64Array ||
      (datatype === 'FP16' && data instanceof Uint16Array))
  )
    checkFinite(data, datatype, path);
  return data;
}

/**
 * NaN and infinities refused (tabular features, and tensor models that say "nonFinite": "refuse");
 * FP16's are the all-ones exponent (0x7c00).
 */
function checkFinite<T extends Float32Array | Float64Array | Uint16Array>(
  a: T,
  datatype: Datatype,
  path: string,
): T {
  for (let i = 0; i < a.length; i++) {
    const v = a[i] ?? 0;
    const finite = datatype === 'FP16' ? (v & 0x7c00) !== 0x7c00 : Number.isFinite(v);
    if (!finite) fail(`${path}[${i}]: expected a finite ${datatype} number, got NaN or an infinity`);
  }
  return a;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * BYTES elements as they are: a 4-byte little-endian length, then that many bytes, n times,
 * nothing left over. Views into `raw`, no copies (an image input's files).
 */
export function bytesElements(raw: Uint8Array, n: number, path: string): Uint8Array[] {
  // Each element needs at least its 4-byte length: a bound before any array is allocated.
  if (n * 4 > raw.length)
    fail(`${path}: ${raw.length} bytes cannot hold ${n} BYTES elements (4-byte lengths)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Array<Uint8Array>(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (at + 4 > raw.length) fail(`${path}[${i}]: the data ends before this element's 4-byte length`);
    const len = view.getUint32(at, true);
    at += 4;
    if (at + len > raw.length) fail(`${path}[${i}]: its length ${len} runs past the end of the data`);
    out[i] = raw.subarray(at, at + len);
    at += len;
  }
  if (at !== raw.length) fail(`${path}: ${raw.length - at} bytes are left after ${n} BYTES elements`);
  return out;
}

/** BYTES elements as text, each strict UTF-8. */
function decodeBytesElements(raw: Uint8Array, n: number, path: string): string[] {
  return bytesElements(raw, n, path).map((bytes, i): string => {
    try {
      return utf8.decode(bytes);
    } catch {
      return fail(`${path}[${i}]: is not valid UTF-8; this model takes text`);
    }
  });
}

/** The request with each binary input's bytes attached as `raw`, as the seam takes them. */
export function attachBinaryInputs(req: InferRequest, binary: Uint8Array): InferRequest {
  const { inputs } = sliceBinaryInputs(req.inputs, binary);
  return {
    ...req,
    inputs: req.inputs.map((input, i) => {
      const raw = inputs.get(i);
      return raw ? { ...input, raw } : input;
    }),
  };
}

export type Framing = 'header' | 'sagemaker';

/** The tensor bytes after a binary request's JSON header, and how the request was framed. */
export interface BinaryData {
  readonly data: Uint8Array;
  readonly framing: Framing;
}

/**
 * A binary answer's bytes and headers: the JSON header, then the chunks; framed as the request
 * was (Inference-Header-Content-Length, or SageMaker's json-header-size in the content type).
 */
export function frameBinary(
  header: unknown,
  chunks: readonly Uint8Array[],
  framing: Framing,
): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    body: Buffer.concat([json, ...chunks]),
    headers: {
      'content-type':
        framing === 'sagemaker'
          ? `${SAGEMAKER_BINARY_TYPE};json-header-size=${json.length}`
          : 'application/octet-stream',
      [HEADER_LENGTH_HEADER]: String(json.length),
    },
  };
}
