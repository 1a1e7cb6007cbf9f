/**
 * v2 answers as binary tensor data (the binary extension's response side): which outputs the
 * client asked for as binary, and their bytes, little-endian, BYTES length-prefixed.
 */
import type { Datatype } from '../model/manifest.ts';
import type { TensorData } from '../ports.ts';
import { float16Bits, toTypedArray } from '../tensor/tensors.ts';
import type { InferRequest, InferResponse } from './schemas.ts';

/** A tensor's elements as little-endian bytes (BYTES as length-prefixed UTF-8). */
export function encodeBinaryTensor(datatype: Datatype, data: TensorData): Uint8Array {
  if (Array.isArray(data)) {
    const parts = data.map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      p.copy(out, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  if (datatype === 'BYTES') throw new Error('BYTES data must be strings');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * An output's values as the typed array they came from. Floats are copied as they are (a model's
 * NaN stays NaN, and is the model's, not the caller's); other types are checked like inputs.
 */
function outputArray(values: readonly unknown[], datatype: Datatype, name: string): TensorData {
  if (datatype === 'FP32') return Float32Array.from(values as number[]);
  if (datatype === 'FP64') return Float64Array.from(values as number[]);
  if (datatype === 'FP16') return float16Bits(values as number[]);
  return toTypedArray(values, datatype, `outputs.${name}`);
}

/**
 * Which outputs the request asks for as binary: all of them with `parameters.binary_data_output`
 * (what tritonclient.http sends when it names no outputs), or each output whose
 * `parameters.binary_data` is true; an output's own `binary_data: false` wins.
 */
export function binaryOutputNames(req: InferRequest, outputs: readonly string[]): Set<string> {
  const all = req.parameters?.binary_data_output === true;
  const named = new Map((req.outputs ?? []).map((o) => [o.name, o.parameters?.binary_data]));
  return new Set(
    outputs.filter((name) => {
      const own = named.get(name);
      return own === undefined ? all : own === true;
    }),
  );
}

/**
 * Moves the chosen outputs' data out of the JSON header into binary chunks, each announced by
 * `parameters.binary_data_size`. Returns the header and the chunks, in output order.
 */
export function encodeBinaryOutputs(
  response: InferResponse,
  binary: ReadonlySet<string>,
): { header: InferResponse; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  const outputs = response.outputs.map((o) => {
    if (!binary.has(o.name)) return o;
    const datatype = o.datatype as Datatype;
    // A graph tensor is written as it is; JSON data (an endpoint's answer) is typed first.
    const bytes = encodeBinaryTensor(
      datatype,
      o.tensor ? o.tensor.data : outputArray(o.data ?? [], datatype, o.name),
    );
    chunks.push(bytes);
    const { data: _data, tensor: _tensor, ...rest } = o;
    return { ...rest, parameters: { ...o.parameters, binary_data_size: bytes.length } };
  });
  return { header: { ...response, outputs }, chunks };
}
