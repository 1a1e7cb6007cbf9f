import { pixelsToTensor } from '../image/tensor.ts';
import type { HostTensor, ImageWork } from '../ports.ts';
import type { ScoreOptions } from './types.ts';

/**
 * Decodes the image files a request's feeds still carry (protocol/images.ts), with the scorer's
 * ImageWork, and puts each input's tensor in place. Every feed is whole afterwards. The work
 * stops when `opts.signal` aborts or `opts.deadline` passes; the deadline's timer is made only
 * for a request that has images, not on every request's path.
 */
export async function resolveImages(
  feeds: Record<string, HostTensor>,
  work: ImageWork,
  opts: Pick<ScoreOptions, 'signal' | 'deadline'> = {},
): Promise<void> {
  const pending = Object.entries(feeds).flatMap(([name, feed]) =>
    feed.pending ? [[name, feed.pending] as const] : [],
  );
  if (pending.length === 0) return;
  const stops = [
    ...(opts.signal ? [opts.signal] : []),
    ...(opts.deadline !== undefined ? [AbortSignal.timeout(Math.max(1, opts.deadline - Date.now()))] : []),
  ];
  const signal = stops.length > 0 ? AbortSignal.any(stops) : undefined;
  for (const [name, images] of pending) {
    feeds[name] = pixelsToTensor(images.spec, await work.prepare(images, signal));
  }
}
