import { imageSize } from 'image-size';
import { invalid } from '../errors.ts';
import { MAX_IMAGE_PIXELS } from '../image/decode.ts';
import { imageFormat } from '../image/format.ts';
import { imageDims } from '../image/tensor.ts';
import type { ImageSpec, TensorSpec } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { hostTensor } from '../tensor/host-tensor.ts';
import { checkBounds, type ShapeLimits } from '../tensor/shapes.ts';
import { DATATYPE_TO_TYPE, toTypedArray } from '../tensor/tensors.ts';

/**
 * Pixels one request may ask to decode, over all its files for one image input: four images at
 * the per-image limit. Decoding is the costly part of an image request (a 73 KB all-zero PNG
 * declares 25 MP), so the files' headers are read and summed before any pixel is allocated.
 */
export const MAX_REQUEST_PIXELS = 4 * MAX_IMAGE_PIXELS;

/** Image inputs in the seam: which inputs take files, and files to a bounded feed. */
export function isImage(spec: TensorSpec): spec is TensorSpec & { image: ImageSpec } {
  return spec.image !== undefined;
}

/**
 * The pixels a PNG or JPEG file declares in its header; the per-image limit when it cannot be
 * read. Other bytes declare none: the decoder refuses them at once, naming them.
 */
function declaredPixels(bytes: Uint8Array): number {
  if (!imageFormat(bytes)) return 0;
  try {
    const { width, height } = imageSize(bytes);
    return width * height;
  } catch {
    // The decoder will name what is wrong; meanwhile the file costs the most one may.
    return MAX_IMAGE_PIXELS;
  }
}

/**
 * Image files to an image input's feed, bounded by count, tensor size and declared pixels before
 * any decoding. The files are decoded later, by the scorer's ImageWork (off the serving thread
 * where the process serves many callers): the feed carries them as `pending` until then.
 */
export function imageFeed(
  spec: TensorSpec & { image: ImageSpec },
  files: readonly Uint8Array[],
  at: (i: number) => string,
  limits: ShapeLimits,
): HostTensor {
  const { c, h, w } = imageDims(spec);
  checkBounds([files.length, c, h, w > 0 ? w : 1], at(0), limits);
  let total = 0;
  files.forEach((bytes, i) => {
    const pixels = declaredPixels(bytes);
    if (pixels > MAX_IMAGE_PIXELS) {
      invalid(
        `${at(i)}: the image declares ${(pixels / 1e6).toFixed(1)} MP, over the ${MAX_IMAGE_PIXELS / 1e6} MP limit; resize it before sending`,
      );
    }
    total += pixels;
  });
  if (total > MAX_REQUEST_PIXELS) {
    invalid(
      `${at(0)}: the ${files.length} images declare ${(total / 1e6).toFixed(1)} MP in all; one request may decode ${MAX_REQUEST_PIXELS / 1e6} MP. Send fewer or smaller images per request, or use batch scoring`,
    );
  }
  // No data until the files are decoded: an empty array of the input's own element type.
  return hostTensor(
    DATATYPE_TO_TYPE[spec.datatype],
    toTypedArray([], spec.datatype, spec.name),
    [files.length, c, h, w],
    {
      spec,
      files,
      at: files.map((_, i) => at(i)),
    },
  );
}
