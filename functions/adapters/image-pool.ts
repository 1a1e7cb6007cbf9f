import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { InferaError, messageOf, ValidationError } from '#core/errors.ts';
import type { ImageWork, PendingImages, PreparedPixels } from '#core/ports.ts';
import type { ImageResult, ImageTask } from './image-worker.ts';

export interface ImagePoolOptions {
  /** Worker threads decoding at once. @default half the cores, at least 1 */
  readonly threads?: number;
  /** Longest one file may take to decode and resize; past it the worker is stopped. @default 10000 */
  readonly timeoutMs?: number;
  /** Files waiting for a worker, over all requests; past it a request is told to retry. @default 256 */
  readonly maxQueue?: number;
  /** Idle workers end after this long, returning their memory. @default 2000 */
  readonly idleTimeoutMs?: number;
  /** The workers' environment. @default a copy of the C environment, as for any worker thread */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The ImageWork port on a pool of worker threads (piscina, the maintained pool for
 * worker_threads), for processes that answer many callers at once: npm start and the serving
 * container. Decoding a large image then never blocks the thread that answers everyone else;
 * each file has a time limit, after which its worker is terminated; a request's files stop when
 * its signal aborts (its client gone, its deadline passed) or one of them is refused; and idle
 * workers end, so the memory a burst of large images took is returned.
 */
export class PooledImageWork implements ImageWork {
  readonly #pool: Piscina<ImageTask, ImageResult>;
  readonly #timeoutMs: number;

  constructor(opts: ImagePoolOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#pool = new Piscina({
      filename: new URL('./image-worker.ts', import.meta.url).href,
      minThreads: 0,
      maxThreads: opts.threads ?? Math.max(1, Math.floor(availableParallelism() / 2)),
      maxQueue: opts.maxQueue ?? 256,
      idleTimeout: opts.idleTimeoutMs ?? 2000,
      ...(opts.env ? { env: opts.env } : {}),
    });
    // A worker can answer a task just stopped (its sibling refused, its client gone): piscina then
    // emits 'error' ("Unexpected message from Worker"), which, unheard, would end the process.
    // The answer is no longer wanted; the task's caller has had its own error.
    this.#pool.on('error', () => {});
  }

  async prepare(work: PendingImages, signal?: AbortSignal): Promise<PreparedPixels[]> {
    // One refused file stops its siblings: the request fails anyway.
    const siblings = new AbortController();
    const stops = signal ? [signal, siblings.signal] : [siblings.signal];
    try {
      return await Promise.all(
        work.files.map((bytes, i) => this.#one({ spec: work.spec, bytes, at: work.at[i] ?? '' }, stops)),
      );
    } finally {
      siblings.abort();
    }
  }

  async #one(task: ImageTask, stops: AbortSignal[]): Promise<PreparedPixels> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let r: ImageResult;
    try {
      r = await this.#pool.run(task, { signal: AbortSignal.any([...stops, timeout]) });
    } catch (err) {
      if (timeout.aborted) {
        throw new ValidationError(
          `${task.at}: the image was not decoded within ${this.#timeoutMs} ms (waiting for a free decoder included), and was stopped; send a smaller image, or retry when the service is less busy`,
        );
      }
      if (/queue is at limit/i.test(messageOf(err))) {
        throw new InferaError('Too many images are waiting to be decoded; retry in a moment.', {
          status: 503,
          code: 'busy',
          headers: { 'retry-after': '1' },
        });
      }
      throw err;
    }
    if (!r.ok) {
      // A refused file is the same ValidationError the calling thread would raise: batch halves on it.
      if (r.status === 400) throw new ValidationError(r.message);
      throw new InferaError(r.message, { status: r.status, code: r.code, expose: true });
    }
    return { width: r.width, height: r.height, channels: r.channels, data: r.data };
  }

  /** Ends the workers; call on shutdown. */
  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
