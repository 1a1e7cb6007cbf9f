import { imageDims, imagesToTensor } from '../image/tensor.ts';
import type { ImageSpec, TensorSpec } from '../manifest.ts';
import type { HostTensor } from '../ports.ts';
import { checkBounds, type ShapeLimits } from '../tensors.ts';

/** Image inputs in the seam: which inputs take files, and files to a bounded feed. */
export function isImage(spec: TensorSpec): spec is TensorSpec & { image: ImageSpec } {
  return spec.image !== undefined;
}

/** Image files to an image input's feed, bounded by count and tensor size before any decoding. */
export function imageFeed(
  spec: TensorSpec & { image: ImageSpec },
  files: readonly Uint8Array[],
  at: (i: number) => string,
  limits: ShapeLimits,
): HostTensor {
  const { c, h, w } = imageDims(spec);
  checkBounds([files.length, c, h, w > 0 ? w : 1], at(0), limits);
  return imagesToTensor(spec, files, at);
}
