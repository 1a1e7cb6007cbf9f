import { limitOf } from '../aws/rules.ts';

/** Chunks one score function works on at once (see functions/batch/score.ts). */
export const CHUNKS_IN_FLIGHT = 2;

/**
 * How many score workers a deployment may run: the setting, unless a model batch serves is on a
 * SageMaker Serverless endpoint, whose MaxConcurrency throttles calls beyond it (AWS rule
 * sagemaker-serverless-concurrency). Each worker has CHUNKS_IN_FLIGHT calls open at most, so the
 * workers are held to maxConcurrency / CHUNKS_IN_FLIGHT. Throws, naming the endpoint and the fix,
 * when even SQS's minimum of two workers would be throttled.
 */
export function batchWorkers(
  requested: number,
  serverless: readonly { readonly key: string; readonly maxConcurrency: number }[],
): { workers: number; limitedBy?: string } {
  let workers = requested;
  let limitedBy: string | undefined;
  const minimum = 2; // SQS event source MaximumConcurrency (AWS rule sqs-maximum-concurrency)
  for (const ep of serverless) {
    const fits = Math.floor(ep.maxConcurrency / CHUNKS_IN_FLIGHT);
    if (fits < minimum) {
      throw new Error(
        `${ep.key} runs on a SageMaker Serverless endpoint with maxConcurrency ${ep.maxConcurrency}, but batch scoring keeps at least ${minimum * CHUNKS_IN_FLIGHT} calls open (SQS's minimum of ${minimum} workers × ${CHUNKS_IN_FLIGHT} chunks each), so its chunks would be throttled. Set target.serverless.maxConcurrency to at least ${minimum * CHUNKS_IN_FLIGHT} (at most ${limitOf('sagemaker-serverless-concurrency')}), or deploy with -c infera:batch=false.`,
      );
    }
    if (fits < workers) {
      workers = fits;
      limitedBy = `${ep.key} (serverless maxConcurrency ${ep.maxConcurrency})`;
    }
  }
  return limitedBy ? { workers, limitedBy } : { workers };
}

/**
 * A gate that lets at most `n` tasks run at once; the others wait their turn, first come first
 * served. The score function uses it to overlap two chunks: one decodes and scores while the
 * other's results are written, so neither the CPU nor the store waits for the other.
 */
export function inFlight(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`in-flight limit must be a whole number ≥ 1, got ${n}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` stays counted for it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
