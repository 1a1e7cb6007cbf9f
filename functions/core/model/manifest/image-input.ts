/** The manifest's image input, apart from its schemas: the request path asks it without building them. */
import type { ImageSpec, Inputs, TensorSpec } from './inputs.ts';

/**
 * The input of a model whose only input is an image: the one a raw image body, an image file in a
 * batch job or a folder of images fills. Undefined for every other model.
 */
export function soleImageInput(m: { inputs: Inputs }): (TensorSpec & { image: ImageSpec }) | undefined {
  if (m.inputs.kind !== 'tensors' || m.inputs.tensors.length !== 1) return undefined;
  const [t] = m.inputs.tensors;
  return t?.image ? (t as TensorSpec & { image: ImageSpec }) : undefined;
}
