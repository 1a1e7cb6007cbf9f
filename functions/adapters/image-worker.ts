/**
 * One image file, decoded and prepared in a worker thread of the image pool (image-pool.ts): the
 * same preparePixels the calling thread would run, so a pooled and an inline decode answer alike.
 * A refusal (a malformed file, over a limit) comes back as data, since an error class does not
 * survive the thread boundary.
 */
import { InferaError } from '#core/errors.ts';
import { loadImageCodecs } from '#core/image/codecs.ts';
import { preparePixels } from '#core/image/tensor.ts';
import type { ImageSpec, TensorSpec } from '#core/model/manifest.ts';

export interface ImageTask {
  readonly spec: TensorSpec & { readonly image: ImageSpec };
  readonly bytes: Uint8Array;
  readonly at: string;
}

export type ImageResult =
  | {
      readonly ok: true;
      readonly width: number;
      readonly height: number;
      readonly channels: 1 | 3;
      readonly data: Uint8Array;
    }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

export default async function prepare(task: ImageTask): Promise<ImageResult> {
  await loadImageCodecs();
  try {
    const px = preparePixels(task.spec, task.bytes, task.at);
    // Resized to the model's input, the pixels are small enough to copy across.
    return { ok: true, width: px.width, height: px.height, channels: px.channels, data: px.data };
  } catch (err) {
    if (err instanceof InferaError && err.expose) {
      return { ok: false, status: err.status, code: err.code, message: err.message };
    }
    throw err;
  }
}
