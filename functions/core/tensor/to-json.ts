/**
 * Engine tensors out to JSON: flat data (64-bit integers beyond 2^53 as decimal strings, NaN and
 * infinities as their names), numbers for scores, and nesting by shape.
 */
import type { HostTensor, TensorData } from '../ports.ts';
import { float16ToNumbers, product } from './tensors.ts';

/** Turns an engine tensor into JSON-friendly flat data (64-bit integers beyond 2^53 become strings). */
export function tensorToJson(t: HostTensor): (number | boolean | string)[] {
  switch (t.type) {
    case 'int64':
    case 'uint64': {
      const d = t.data;
      const out = new Array<number | string>(d.length);
      for (let i = 0; i < d.length; i++) {
        const v = d[i] ?? 0n;
        out[i] =
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v.toString();
      }
      return out;
    }
    case 'bool':
      return Array.from(t.data, (v) => v !== 0);
    case 'float16':
      return finiteOrText(float16ToNumbers(t.data));
    case 'float32':
    case 'float64':
      return finiteOrText(Array.from(t.data));
    case 'string':
      return t.data.slice();
    default:
      return Array.from(t.data);
  }
}

/** NaN and infinities as "NaN", "Infinity", "-Infinity": JSON has no numbers for them (null would lose which). */
function finiteOrText(values: number[]): (number | string)[] {
  const out: (number | string)[] = values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) out[i] = String(v);
  }
  return out;
}

/** Typed arrays whose elements are JS numbers. */
export type NumericData = Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;

/** A numeric tensor's values as numbers (FP16 bits decoded), for scores and probabilities. */
export function numbersOf(t: HostTensor): NumericData {
  if (t.type === 'float16') return Float64Array.from(float16ToNumbers(t.data));
  if (t.type === 'string' || t.type === 'int64' || t.type === 'uint64') {
    throw new Error(`Output of type ${t.type} is not a numeric score tensor.`);
  }
  return t.data;
}

/** Reshapes flat data into nested arrays following `dims`. */
export function nest<T>(flat: readonly T[], dims: readonly number[]): unknown {
  if (dims.length <= 1) return flat.slice();
  const [, ...rest] = dims;
  const stride = product(rest);
  const out: unknown[] = [];
  for (let off = 0; off < flat.length; off += stride) out.push(nest(flat.slice(off, off + stride), rest));
  return out;
}
