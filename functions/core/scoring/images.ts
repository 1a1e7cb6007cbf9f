import { pixelsToTensor } from '../image/tensor.ts';
import type { HostTensor, ImageWork } from '../ports.ts';

/**
 * Decodes the image files a request's feeds still carry (seam/images.ts), with the scorer's
 * ImageWork, and puts each input's tensor in place. Every feed is whole afterwards.
 */
export async function resolveImages(
  feeds: Record<string, HostTensor>,
  work: ImageWork,
  signal?: AbortSignal,
): Promise<void> {
  for (const [name, feed] of Object.entries(feeds)) {
    if (!feed.pending) continue;
    feeds[name] = pixelsToTensor(feed.pending.spec, await work.prepare(feed.pending, signal));
  }
}
