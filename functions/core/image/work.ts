import type { ImageWork, PendingImages, PreparedPixels } from '../ports.ts';
import { preparePixels } from './tensor.ts';

/**
 * Image work in the calling thread: what a Lambda function uses, which serves one request at a
 * time. Checks the signal between files.
 */
export const inlineImageWork: ImageWork = {
  async prepare(work: PendingImages, signal?: AbortSignal): Promise<PreparedPixels[]> {
    return work.files.map((bytes, i) => {
      signal?.throwIfAborted();
      return preparePixels(work.spec, bytes, work.at[i] ?? '');
    });
  },
};
