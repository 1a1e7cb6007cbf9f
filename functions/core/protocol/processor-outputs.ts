/**
 * A processor.ts postprocess's extra fields as v2 output tensors, one per field, named as the
 * field: booleans as BOOL, whole numbers as INT64, other numbers as FP64, strings as BYTES, and
 * equal-length number arrays as a [n, k] FP64 tensor. Anything else travels as its JSON text
 * (BYTES), so no field a processor adds is dropped from a v2 answer.
 */
import type { InferOutput, Prediction } from './schemas.ts';

/** The fields `after` has that no prediction in `before` had, in order of first appearance. */
function addedFields(before: readonly Prediction[], after: readonly Prediction[]): string[] {
  const had = new Set(before.flatMap((p) => Object.keys(p)));
  const added = new Set<string>();
  for (const p of after) for (const k of Object.keys(p)) if (!had.has(k)) added.add(k);
  return [...added];
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

function tensorOf(name: string, values: readonly unknown[]): InferOutput {
  const n = values.length;
  if (values.every((v) => typeof v === 'boolean'))
    return { name, datatype: 'BOOL', shape: [n], data: [...values] };
  if (values.every((v) => typeof v === 'number')) {
    const whole = values.every((v) => Number.isSafeInteger(v));
    return { name, datatype: whole ? 'INT64' : 'FP64', shape: [n], data: [...values] };
  }
  if (values.every((v) => typeof v === 'string'))
    return { name, datatype: 'BYTES', shape: [n], data: [...values] };
  const first = values[0];
  if (isNumberArray(first) && values.every((v) => isNumberArray(v) && v.length === first.length)) {
    return {
      name,
      datatype: 'FP64',
      shape: [n, first.length],
      data: values.flatMap((v) => (isNumberArray(v) ? v : [])),
    };
  }
  return { name, datatype: 'BYTES', shape: [n], data: values.map((v) => JSON.stringify(v ?? null)) };
}

/** The output tensors for the fields a postprocess added to the predictions. */
export function processorOutputs(before: readonly Prediction[], after: readonly Prediction[]): InferOutput[] {
  return addedFields(before, after).map((name) =>
    tensorOf(
      name,
      after.map((p) => p[name]),
    ),
  );
}
