import { ValidationError } from '../errors.ts';
import type { Datatype } from '../model/manifest.ts';
import type { TensorData, TensorType } from '../ports.ts';

/** Open Inference Protocol datatype <-> engine element type. */
export const DATATYPE_TO_TYPE: Readonly<Record<Datatype, TensorType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT8: 'int8',
  UINT16: 'uint16',
  INT16: 'int16',
  UINT32: 'uint32',
  INT32: 'int32',
  UINT64: 'uint64',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};
export const TYPE_TO_DATATYPE: Readonly<Record<TensorType, Datatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int8: 'INT8',
  uint16: 'UINT16',
  int16: 'INT16',
  uint32: 'UINT32',
  int32: 'INT32',
  uint64: 'UINT64',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const FP32_MAX = 3.4028234663852886e38;
const FP16_MAX = 65504;
/** Integer datatypes that fit a JS number: their range and storage. */
const SMALL_INTS = {
  UINT8: { min: 0, max: 0xff, make: (n: number) => new Uint8Array(n) },
  INT8: { min: -0x80, max: 0x7f, make: (n: number) => new Int8Array(n) },
  UINT16: { min: 0, max: 0xffff, make: (n: number) => new Uint16Array(n) },
  INT16: { min: -0x8000, max: 0x7fff, make: (n: number) => new Int16Array(n) },
  UINT32: { min: 0, max: 0xffffffff, make: (n: number) => new Uint32Array(n) },
  INT32: { min: -0x80000000, max: 0x7fffffff, make: (n: number) => new Int32Array(n) },
} as const;
/** How many bad elements one error lists before it stops; enough to see the pattern. */
const MAX_ELEMENT_PROBLEMS = 5;

type Float16ArrayCtor = new (
  buffer: ArrayBufferLike | number,
  byteOffset?: number,
  length?: number,
) => ArrayLike<number> & { [i: number]: number; readonly buffer: ArrayBufferLike };
/** Node 24's built-in Float16Array: IEEE 754 rounding both ways, no hand-written conversion. */
function float16Array(): Float16ArrayCtor {
  const ctor = (globalThis as { Float16Array?: Float16ArrayCtor }).Float16Array;
  if (!ctor) throw new Error('FP16 tensors need Node.js 24 or later (Float16Array).');
  return ctor;
}

/** Numbers to FP16 bits, rounded as IEEE 754 half precision (NaN stays NaN). */
export function float16Bits(values: ArrayLike<number>): Uint16Array {
  const half = new (float16Array())(values.length);
  for (let i = 0; i < values.length; i++) half[i] = values[i] ?? 0;
  return new Uint16Array(half.buffer);
}

/** FP16 bits (as the engine holds them) to numbers. */
export function float16ToNumbers(bits: Uint16Array): number[] {
  const view = new (float16Array())(bits.buffer, bits.byteOffset, bits.length);
  return Array.from(view);
}

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

/** The JSON strings a non-finite float travels as, both ways (as protobuf's JSON mapping writes them). */
const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/**
 * Converts checked JSON values to the typed array the engine needs, naming each bad element.
 * With `nonFinite` "accept", a float element may be "NaN", "Infinity" or "-Infinity".
 */
export function toTypedArray(
  values: readonly unknown[],
  datatype: Datatype,
  path: string,
  nonFinite: 'accept' | 'refuse' = 'refuse',
): TensorData {
  const problems: string[] = [];
  let badCount = 0;
  const bad = (i: number, what: string) => {
    badCount++;
    if (problems.length < MAX_ELEMENT_PROBLEMS) problems.push(`${path}[${i}]: ${what}`);
    else if (problems.length === MAX_ELEMENT_PROBLEMS) problems.push(`${path}: more bad elements not listed`);
  };
  const n = values.length;
  let out: TensorData;
  switch (datatype) {
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      const max = datatype === 'FP16' ? FP16_MAX : datatype === 'FP32' ? FP32_MAX : Number.MAX_VALUE;
      const arr = datatype === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (nonFinite === 'accept' && typeof v === 'string' && v in NON_FINITE)
          arr[i] = NON_FINITE[v] as number;
        else if (typeof v !== 'number' || !Number.isFinite(v))
          bad(
            i,
            `expected a finite ${datatype} number, got ${describe(v)}${nonFinite === 'accept' ? ' (NaN and infinities are sent as the strings "NaN", "Infinity", "-Infinity")' : ''}`,
          );
        else if (Math.abs(v) > max) bad(i, `${v} is outside the ${datatype} range (±${max})`);
        else arr[i] = v;
      }
      out = datatype === 'FP16' ? float16Bits(arr) : arr;
      break;
    }
    case 'UINT8':
    case 'INT8':
    case 'UINT16':
    case 'INT16':
    case 'UINT32':
    case 'INT32': {
      const { min, max, make } = SMALL_INTS[datatype];
      const arr = make(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v))
          bad(i, `expected a ${datatype} integer, got ${describe(v)}`);
        else if (v < min || v > max) bad(i, `${v} is outside the ${datatype} range (${min} to ${max})`);
        else arr[i] = v;
      }
      out = arr;
      break;
    }
    case 'INT64':
    case 'UINT64': {
      const signed = datatype === 'INT64';
      const arr = signed ? new BigInt64Array(n) : new BigUint64Array(n);
      const fits = (b: bigint) => (signed ? BigInt.asIntN(64, b) === b : BigInt.asUintN(64, b) === b);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const b =
          typeof v === 'number' && Number.isSafeInteger(v)
            ? BigInt(v)
            : typeof v === 'string' && /^-?\d{1,20}$/.test(v)
              ? BigInt(v)
              : undefined;
        if (b === undefined && typeof v === 'number' && Number.isInteger(v))
          bad(
            i,
            `${v} is beyond 2^53, where a JSON number loses its last digits; send ${datatype} values this large as decimal strings, e.g. "9007199254740993"`,
          );
        else if (b === undefined)
          bad(
            i,
            `expected a ${datatype} integer (a safe JSON integer, or a decimal string for larger values), got ${describe(v)}`,
          );
        else if (!fits(b)) bad(i, `${v} is outside the ${datatype} range`);
        else arr[i] = b;
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
    case 'BYTES': {
      const arr: string[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') bad(i, `expected a string, got ${describe(v)}`);
        else arr[i] = v;
      }
      out = arr;
      break;
    }
  }
  // The first problem is in the message itself: clients such as tritonclient show only `error`.
  if (badCount > 0) {
    throw new ValidationError(
      `${path}: ${badCount} bad element${badCount === 1 ? '' : 's'}, first ${problems[0]}`,
      problems,
    );
  }
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
