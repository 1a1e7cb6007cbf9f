/**
 * A HostTensor from an element type and data made apart (a datatype's typed array, an engine's
 * output): the pairing is checked once here, so every reader after can switch on `type` and get
 * its data typed, with no assertion. A mismatch is a bug in infera, thrown as one.
 */
import type { HostTensor, PendingImages, TensorData, TensorType } from '../ports.ts';

export function hostTensor(
  type: TensorType,
  data: unknown,
  dims: readonly number[],
  pending?: PendingImages,
): HostTensor {
  const extra = pending ? { pending } : {};
  if (Array.isArray(data)) {
    if (type === 'string' && data.every((x) => typeof x === 'string')) return { type, data, dims, ...extra };
  } else {
    switch (type) {
      case 'float32':
        if (data instanceof Float32Array) return { type, data, dims, ...extra };
        break;
      case 'float64':
        if (data instanceof Float64Array) return { type, data, dims, ...extra };
        break;
      case 'float16':
      case 'uint16':
        if (data instanceof Uint16Array) return { type, data, dims, ...extra };
        break;
      case 'int8':
        if (data instanceof Int8Array) return { type, data, dims, ...extra };
        break;
      case 'uint8':
      case 'bool':
        if (data instanceof Uint8Array) return { type, data, dims, ...extra };
        break;
      case 'int16':
        if (data instanceof Int16Array) return { type, data, dims, ...extra };
        break;
      case 'int32':
        if (data instanceof Int32Array) return { type, data, dims, ...extra };
        break;
      case 'uint32':
        if (data instanceof Uint32Array) return { type, data, dims, ...extra };
        break;
      case 'int64':
        if (data instanceof BigInt64Array) return { type, data, dims, ...extra };
        break;
      case 'uint64':
        if (data instanceof BigUint64Array) return { type, data, dims, ...extra };
        break;
    }
  }
  throw new TypeError(`a ${type} tensor cannot hold ${Object.prototype.toString.call(data)}`);
}

/** Elements of a numeric type read from little-endian bytes (a whole buffer, copied before). */
export function fromBytes(type: TensorType, buffer: ArrayBuffer): TensorData {
  switch (type) {
    case 'string':
      throw new TypeError('string tensors are not fixed-size elements; read them as BYTES');
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'float16':
    case 'uint16':
      return new Uint16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint32':
      return new Uint32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint64':
      return new BigUint64Array(buffer);
  }
}
