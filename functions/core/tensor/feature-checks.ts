/**
 * Fast checks of tabular values: each feature's value as the instance schema (features.ts) would
 * take it, encoded for the input matrix, or undefined when in any doubt, which sends the row to
 * the full validation and its exact messages. The batch worker's lines (batch/tabular-fast.ts)
 * and a request's instances (below) both use them, so a fast path never accepts what zod refuses.
 */
import { isRecord, nth } from '../checked.ts';
import type { Feature } from '../model/manifest.ts';
import { encodersFor } from './features.ts';

/** A value as the full decoder's schema would take it, encoded; undefined when in any doubt. */
export type Check = (v: unknown) => number | undefined;

export function checkFor(f: Feature, encode: (v: unknown) => number): Check {
  const missing = f.required ? undefined : encode(f.default);
  switch (f.type) {
    case 'number':
    case 'integer': {
      const min = f.min ?? Number.NEGATIVE_INFINITY;
      const max = f.max ?? Number.POSITIVE_INFINITY;
      const integer = f.type === 'integer';
      return (v) => {
        if (v === null || v === undefined) return missing;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) return undefined;
        if (integer && !Number.isSafeInteger(v)) return undefined;
        return encode(v);
      };
    }
    case 'boolean':
      return (v) =>
        v === null || v === undefined ? missing : typeof v === 'boolean' ? encode(v) : undefined;
    case 'categorical': {
      const values = new Set(f.values);
      return (v) =>
        v === null || v === undefined
          ? missing
          : typeof v === 'string' && values.has(v)
            ? encode(v)
            : undefined;
    }
  }
}

/** A request's instances straight into the [N, F] input matrix; undefined means "validate them fully". */
export type InstanceEncoder = (instances: readonly unknown[]) => Float32Array | undefined;

const INSTANCE_ENCODERS = new WeakMap<readonly Feature[], InstanceEncoder>();

/**
 * The fast path of a tabular request: every instance a plain object holding only known features,
 * each value one the schema takes. Built once per feature list.
 */
export function instanceEncoder(features: readonly Feature[]): InstanceEncoder {
  const cached = INSTANCE_ENCODERS.get(features);
  if (cached) return cached;
  const width = features.length;
  const names = features.map((f) => f.name);
  const known = new Set(names);
  const encoders = encodersFor(features);
  const checks = features.map((f, i) => checkFor(f, nth(encoders, i)));
  const encode: InstanceEncoder = (instances) => {
    const out = new Float32Array(instances.length * width);
    for (let r = 0; r < instances.length; r++) {
      const inst = instances[r];
      if (!isRecord(inst)) return undefined;
      for (const key in inst) if (!known.has(key)) return undefined;
      const at = r * width;
      for (let c = 0; c < width; c++) {
        const v = (checks[c] as Check)(inst[names[c] as string]);
        if (v === undefined) return undefined;
        out[at + c] = v;
      }
    }
    return out;
  };
  INSTANCE_ENCODERS.set(features, encode);
  return encode;
}
