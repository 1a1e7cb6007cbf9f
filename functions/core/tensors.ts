import { ValidationError } from './errors.ts';
import type { Datatype, TensorSpec } from './manifest.ts';
import type { HostTensor, TensorData, TensorType } from './ports.ts';

/** Open Inference Protocol datatype <-> engine element type. */
export const DATATYPE_TO_TYPE: Readonly<Record<Datatype, TensorType>> = {
  FP32: 'float32',
  FP64: 'float64',
  INT32: 'int32',
  INT64: 'int64',
  BOOL: 'bool',
};
export const TYPE_TO_DATATYPE: Readonly<Record<TensorType, Datatype>> = {
  float32: 'FP32',
  float64: 'FP64',
  int32: 'INT32',
  int64: 'INT64',
  bool: 'BOOL',
};

const FP32_MAX = 3.4028234663852886e38;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** How many bad elements one error lists before it stops; enough to see the pattern. */
const MAX_ELEMENT_PROBLEMS = 5;

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Flattens `data` in row-major order, checking it against `shape`. Accepts the flat form
 * (length = product of shape) or the nested form (arrays nested exactly like the shape).
 */
export function flattenData(data: unknown, shape: readonly number[], path: string): unknown[] {
  if (!Array.isArray(data))
    throw new ValidationError(`${path}: must be an array`, [`${path}: must be an array`]);
  const expected = product(shape);
  const nested = data.some(Array.isArray);
  if (!nested) {
    if (data.length !== expected) {
      const msg = `${path}: has ${data.length} elements but shape [${shape.join(', ')}] needs ${expected}`;
      throw new ValidationError(msg, [msg]);
    }
    return data;
  }
  const out: unknown[] = [];
  const walk = (node: unknown, depth: number, at: string): void => {
    const dim = shape[depth];
    if (dim === undefined) {
      if (Array.isArray(node)) {
        const msg = `${at}: nested deeper than shape [${shape.join(', ')}] allows`;
        throw new ValidationError(msg, [msg]);
      }
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== dim) {
      const got = Array.isArray(node) ? `${node.length} elements` : typeof node;
      const msg = `${at}: expected an array of ${dim} elements (shape [${shape.join(', ')}], dimension ${depth}), got ${got}`;
      throw new ValidationError(msg, [msg]);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${at}[${i}]`);
  };
  walk(data, 0, path);
  return out;
}

/** Converts checked JSON values to the typed array the engine needs, naming each bad element. */
export function toTypedArray(values: readonly unknown[], datatype: Datatype, path: string): TensorData {
  const problems: string[] = [];
  const bad = (i: number, what: string) => {
    if (problems.length < MAX_ELEMENT_PROBLEMS) problems.push(`${path}[${i}]: ${what}`);
    else if (problems.length === MAX_ELEMENT_PROBLEMS) problems.push(`${path}: more bad elements not listed`);
  };
  const n = values.length;
  let out: TensorData;
  switch (datatype) {
    case 'FP32':
    case 'FP64': {
      const arr = datatype === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isFinite(v))
          bad(i, `expected a finite ${datatype} number, got ${describe(v)}`);
        else if (datatype === 'FP32' && Math.abs(v) > FP32_MAX) bad(i, 'is outside the FP32 range');
        else arr[i] = v;
      }
      out = arr;
      break;
    }
    case 'INT32': {
      const arr = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v))
          bad(i, `expected an INT32 integer, got ${describe(v)}`);
        else if (v < INT32_MIN || v > INT32_MAX) bad(i, 'is outside the INT32 range');
        else arr[i] = v;
      }
      out = arr;
      break;
    }
    case 'INT64': {
      const arr = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === 'number' && Number.isSafeInteger(v)) arr[i] = BigInt(v);
        else if (
          typeof v === 'string' &&
          /^-?\d{1,19}$/.test(v) &&
          BigInt.asIntN(64, BigInt(v)) === BigInt(v)
        )
          arr[i] = BigInt(v);
        else
          bad(
            i,
            `expected an INT64 integer (a safe JSON integer, or a decimal string for larger values), got ${describe(v)}`,
          );
      }
      out = arr;
      break;
    }
    case 'BOOL': {
      const arr = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') bad(i, `expected true or false, got ${describe(v)}`);
        else arr[i] = v ? 1 : 0;
      }
      out = arr;
      break;
    }
  }
  if (problems.length > 0) throw new ValidationError(`${path}: ${problems.length} bad element(s)`, problems);
  return out;
}

/** Checks a request's declared shape against the model's tensor spec (-1 = any size). */
export function checkShape(shape: readonly number[], spec: TensorSpec, path: string): void {
  const want = `[${spec.shape.join(', ')}]`;
  if (shape.length !== spec.shape.length) {
    const msg = `${path}: shape [${shape.join(', ')}] has rank ${shape.length}, but input '${spec.name}' expects rank ${spec.shape.length} ${want}`;
    throw new ValidationError(msg, [msg]);
  }
  spec.shape.forEach((d, i) => {
    if (d !== -1 && shape[i] !== d) {
      const msg = `${path}: dimension ${i} is ${shape[i]}, but input '${spec.name}' expects ${d} (shape ${want}, -1 = any)`;
      throw new ValidationError(msg, [msg]);
    }
  });
}

/** Turns an engine tensor into JSON-friendly flat data (INT64 beyond 2^53 becomes a string). */
export function tensorToJson(t: HostTensor): (number | boolean | string)[] {
  const out = new Array<number | boolean | string>(t.data.length);
  if (t.type === 'int64') {
    const d = t.data as BigInt64Array;
    for (let i = 0; i < d.length; i++) {
      const v = d[i] as bigint;
      out[i] =
        v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v.toString();
    }
  } else if (t.type === 'bool') {
    const d = t.data as Uint8Array;
    for (let i = 0; i < d.length; i++) out[i] = d[i] !== 0;
  } else {
    const d = t.data as Float32Array | Float64Array | Int32Array;
    for (let i = 0; i < d.length; i++) out[i] = d[i] as number;
  }
  return out;
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

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number')
    return Number.isFinite(v) ? (Number.isInteger(v) ? 'an integer' : 'a fractional number') : String(v);
  if (typeof v === 'string') return 'a string';
  return typeof v;
}
