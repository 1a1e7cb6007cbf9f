import type { Datatype } from '#core/model/manifest.ts';

/** Values at and inside each datatype's limits, which must come back unchanged. */
export const EDGES: Record<Datatype, unknown[]> = {
  BOOL: [true, false],
  UINT8: [0, 255],
  INT8: [-128, 127],
  UINT16: [0, 65535],
  INT16: [-32768, 32767],
  UINT32: [0, 4294967295],
  INT32: [-2147483648, 2147483647],
  UINT64: [0, '18446744073709551615'],
  INT64: ['-9223372036854775808', '9223372036854775807'],
  FP16: [65504, -0.5],
  FP32: [3.4028234663852886e38, -1.5],
  FP64: [Number.MAX_VALUE, 1e-300],
  BYTES: ['', 'héllo 😀'],
};
