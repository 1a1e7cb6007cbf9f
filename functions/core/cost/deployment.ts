import type { Manifest } from '../model/manifest.ts';

/**
 * Sizes the CDK stacks give the functions, shared with the cost model so that what `infera cost`
 * prices is what `cdk deploy` creates.
 */

/** A model's predict function: the largest `target.memoryMb` among its Lambda versions, at least 1024 MB. */
export function modelFunctionMemoryMb(manifests: readonly Manifest[]): number {
  return Math.max(1024, ...manifests.map((m) => (m.target.type === 'lambda' ? (m.target.memoryMb ?? 0) : 0)));
}
