/**
 * Narrowing the types cannot do alone, checked at run time instead of asserted: an element the
 * caller knows is present, and a parsed JSON value that is an object.
 */

/**
 * `xs[i]` where the caller knows `i` is in range (a loop bound, a length checked above): the
 * element, typed as one. Missing is a bug in infera, thrown as one rather than carried on as
 * `undefined` (what `noUncheckedIndexedAccess` guards against, and what a type assertion hides).
 */
export function nth<T>(xs: ArrayLike<T>, i: number): T {
  const v = xs[i];
  if (v === undefined) throw new RangeError(`index ${i} is outside 0..${xs.length - 1}`);
  return v;
}

/** A JSON object (not an array, not null): its fields can be read by name. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
