/** What one request may ask of one input: shapes and element counts, checked before any allocation. */
import { ValidationError } from '../errors.ts';
import type { TensorSpec } from '../model/manifest.ts';

/** What one request may ask of one input, checked before anything is allocated. */
export interface ShapeLimits {
  /** Rows along dimension 0 (MAX_INSTANCES). */
  readonly maxBatch: number;
  /** Elements in one input tensor. */
  readonly maxElements: number;
}
/** No row limit (batch chunks are bounded by their plan); 64 Mi elements (256 MB of FP32) per input. */
export const DEFAULT_SHAPE_LIMITS: ShapeLimits = {
  maxBatch: Number.POSITIVE_INFINITY,
  maxElements: 64 * 1024 * 1024,
};

/**
 * Bounds the work a shape asks for: no zero-size dimension (it can make a graph emit outputs
 * sized by the other dimensions from no data), at most `maxBatch` rows, at most `maxElements`
 * elements. Computed from the shape alone, so a 90-byte request cannot make a large answer.
 */
export function checkBounds(shape: readonly number[], path: string, limits: ShapeLimits): void {
  const fail = (msg: string) => {
    throw new ValidationError(msg, [msg]);
  };
  const zero = shape.indexOf(0);
  if (zero >= 0) {
    fail(
      `${path}: dimension ${zero} is 0 in shape [${shape.join(', ')}]; every dimension must be at least 1`,
    );
  }
  if ((shape[0] ?? 1) > limits.maxBatch) {
    fail(
      `${path}: dimension 0 (rows) is ${shape[0]}; the limit is ${limits.maxBatch} per request (MAX_INSTANCES). Split the request, or use batch scoring.`,
    );
  }
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > limits.maxElements) {
      fail(
        `${path}: shape [${shape.join(', ')}] has more than ${limits.maxElements} elements, the limit for one input; send fewer rows or smaller inputs`,
      );
    }
  }
}

/** Checks a request's declared shape against the model's tensor spec (-1 = any size), and its bounds. */
export function checkShape(
  shape: readonly number[],
  spec: TensorSpec,
  path: string,
  limits: ShapeLimits = DEFAULT_SHAPE_LIMITS,
): void {
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
  checkBounds(shape, path, limits);
}
