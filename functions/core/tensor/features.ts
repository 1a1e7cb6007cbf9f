import * as z from 'zod';
import { nth } from '../checked.ts';
import { ValidationError } from '../errors.ts';
import type { Feature } from '../model/manifest.ts';
import { formatIssues } from '../protocol/issues.ts';

/** How many field problems one error response lists; the rest are counted, not listed. */
export const MAX_LISTED_PROBLEMS = 20;

/** The longest row id a caller may send in the manifest's quality.idField. */
export const MAX_ROW_ID_LENGTH = 256;

/**
 * The zod schema of one instance, built from the manifest's features. Extra fields are rejected,
 * except `idField` (the manifest's quality.idField): the caller's id for the row, never scored.
 */
export function instanceSchema(
  features: readonly Feature[],
  idField?: string,
): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const f of features) {
    let s: z.ZodType;
    switch (f.type) {
      case 'number':
      case 'integer': {
        let n = f.type === 'integer' ? z.number().int() : z.number();
        if (f.min !== undefined) n = n.min(f.min);
        if (f.max !== undefined) n = n.max(f.max);
        s = n;
        break;
      }
      case 'boolean':
        s = z.boolean();
        break;
      case 'categorical':
        s = z.enum(f.values as [string, ...string[]]);
        break;
    }
    const meta: Record<string, unknown> = {};
    if (f.description) meta.description = f.description;
    if ('unit' in f && f.unit) meta.unit = f.unit;
    if (Object.keys(meta).length > 0) s = s.meta(meta);
    // JSON has no "missing" marker other than absence or null; both mean "impute the default".
    shape[f.name] = f.required ? s : s.nullish();
  }
  if (idField)
    shape[idField] = z
      .union([z.string().min(1).max(MAX_ROW_ID_LENGTH), z.number().int()])
      .optional()
      .meta({ description: 'Your id for this row: labels sent later name it (POST .../feedback).' });
  return z.strictObject(shape);
}

/** Validates instances, collecting every offending field path across all of them. */
export function validateInstances(
  schema: z.ZodType<Record<string, unknown>>,
  instances: readonly unknown[],
  pathPrefix = 'instances',
): Record<string, unknown>[] {
  const problems: string[] = [];
  let total = 0;
  const out: Record<string, unknown>[] = new Array(instances.length);
  for (let i = 0; i < instances.length; i++) {
    const r = schema.safeParse(instances[i], { reportInput: true });
    if (r.success) {
      out[i] = r.data;
      continue;
    }
    for (const line of formatIssues(r.error, `${pathPrefix}[${i}]`)) {
      total++;
      if (problems.length < MAX_LISTED_PROBLEMS) problems.push(line);
    }
  }
  if (total > 0) {
    if (total > problems.length) problems.push(`... and ${total - problems.length} more problem(s)`);
    const first = problems[0] ?? '';
    throw new ValidationError(
      total === 1 ? `Invalid input: ${first}` : `Invalid input: ${total} problems, first: ${first}`,
      problems,
    );
  }
  return out;
}

/**
 * Encodes validated instances into the row-major [N, F] FP32 matrix the model expects:
 * numbers as-is, booleans as 0/1, categoricals as their index in `values`, missing as `default`.
 */
export function encodeInstances(
  features: readonly Feature[],
  rows: readonly Record<string, unknown>[],
): Float32Array {
  const width = features.length;
  const out = new Float32Array(rows.length * width);
  const write = rowEncoder(features);
  for (let r = 0; r < rows.length; r++) write(nth(rows, r), out, r * width);
  return out;
}

/** Writes one validated instance into `out` from `at`: one row of the [N, F] matrix. */
export type RowEncoder = (row: Readonly<Record<string, unknown>>, out: Float32Array, at: number) => void;

export function rowEncoder(features: readonly Feature[]): RowEncoder {
  const encoders = encodersFor(features);
  return (row, out, at) => {
    for (let c = 0; c < features.length; c++) {
      const f = nth(features, c);
      out[at + c] = nth(encoders, c)(row[f.name] ?? f.default);
    }
  };
}

/** Encoders are built once per manifest's feature list, not once per request. */
const ENCODERS = new WeakMap<readonly Feature[], ((v: unknown) => number)[]>();

/** Each feature's value → float encoder (category index, 0/1, the number), in feature order. */
export function encodersFor(features: readonly Feature[]): ((v: unknown) => number)[] {
  let e = ENCODERS.get(features);
  if (!e) {
    e = features.map(encoderFor);
    ENCODERS.set(features, e);
  }
  return e;
}

function encoderFor(f: Feature): (v: unknown) => number {
  switch (f.type) {
    case 'number':
    case 'integer':
      return (v) => v as number;
    case 'boolean':
      return (v) => (v ? 1 : 0);
    case 'categorical': {
      const index = new Map(f.values.map((value, i) => [value, i]));
      return (v) => index.get(v as string) as number;
    }
  }
}

/** The v2 (Open Inference Protocol) datatype a tabular feature column is sent as. */
export function featureDatatype(f: Feature): 'FP64' | 'INT64' | 'BOOL' | 'BYTES' {
  switch (f.type) {
    case 'number':
      return 'FP64';
    case 'integer':
      return 'INT64';
    case 'boolean':
      return 'BOOL';
    case 'categorical':
      return 'BYTES';
  }
}
