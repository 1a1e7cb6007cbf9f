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
