import { nth } from '#core/checked.ts';
import type { HostTensor, LoadedModel } from '#core/ports.ts';
import { batchRows, compatKey, concatFeeds, sliceOutputs } from './batch-feeds.ts';

/**
 * Adaptive micro-batching as a LoadedModel decorator. Concurrent `run` calls with compatible
 * feeds (same inputs, element types and non-batch dimensions) are concatenated along the batch
 * dimension into one `session.run`, and each caller gets back its own rows of every output.
 *
 * Adaptive: while a run is in flight, new calls queue; when it finishes, the next run takes
 * everything queued (up to `maxBatchRows`), so under high load the in-flight run is the batching
 * window. A call that finds the engine free waits for company (at most `maxDelayMs`, as Triton's
 * dynamic batcher's queue delay) only while calls have been arriving together: the model keeps
 * an average of how many other calls each arrival found waiting or running. A lone caller (one
 * client, or a trickle) finds none, and runs at once. Validation happens before
 * `run` (in the scorer), so an invalid request never joins a batch; if a batched run still fails,
 * its calls are retried one by one so one bad call cannot fail the others.
 */
export interface MicroBatchOptions {
  /** Rows per session.run. A single call larger than this runs alone. */
  readonly maxBatchRows: number;
  /** Longest a call waits for others before running. 0 runs as soon as the engine is free. */
  readonly maxDelayMs: number;
  /** Runs in flight at once; 1 suits a CPU, more can help a GPU. */
  readonly maxInflight?: number;
}

export interface MicroBatchStats {
  runs: number;
  calls: number;
  rows: number;
  largestBatch: number;
  /** Batched runs that failed and were split into single runs. */
  splits: number;
}

/** Weight of the newest arrival in the company average (about the last 10 arrivals count). */
const COMPANY_WEIGHT = 0.1;
/** Wait for company only while arrivals have found, on average, at least half a call beside them. */
const COMPANY_THRESHOLD = 0.5;
/** Arrivals have paused once the last is this many average gaps old (and at least QUIET_MIN_MS). */
const QUIET_GAPS = 2;
const QUIET_MIN_MS = 0.05;

interface Pending {
  readonly feeds: Readonly<Record<string, HostTensor>>;
  readonly outputNames: readonly string[] | undefined;
  readonly rows: number;
  readonly key: string;
  readonly at: number;
  resolve(v: Record<string, HostTensor>): void;
  reject(e: unknown): void;
}

export class BatchingModel implements LoadedModel {
  readonly inputs;
  readonly outputs;
  readonly stats: MicroBatchStats = { runs: 0, calls: 0, rows: 0, largestBatch: 0, splits: 0 };
  readonly #inner: LoadedModel;
  readonly #opts: Required<MicroBatchOptions>;
  readonly #queue: Pending[] = [];
  #inflight = 0;
  /** Calls in the runs in flight. */
  #running = 0;
  /** Moving average of the calls each arrival found queued or running: is anyone likely to join? */
  #company = 0;
  /** When the last call arrived, and the moving average of the gaps between arrivals (ms). */
  #lastArrival = Number.NEGATIVE_INFINITY;
  #gap = 1;
  #checking = false;
  #timer: NodeJS.Timeout | undefined;
  /** Set when the graph's outputs do not follow the batch dimension; batching then stops. */
  #unbatchable = false;

  constructor(inner: LoadedModel, opts: MicroBatchOptions) {
    this.#inner = inner;
    this.inputs = inner.inputs;
    this.outputs = inner.outputs;
    this.#opts = { maxInflight: 1, ...opts };
  }

  run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const rows = batchRows(feeds);
    this.stats.calls++;
    this.#company += (this.#queue.length + this.#running - this.#company) * COMPANY_WEIGHT;
    const now = performance.now();
    const gap = Math.min(now - this.#lastArrival, 1000);
    this.#gap += (gap - this.#gap) * COMPANY_WEIGHT;
    this.#lastArrival = now;
    if (rows === undefined || this.#unbatchable) return this.#direct(feeds, outputNames, rows ?? 0);
    return new Promise((resolve, reject) => {
      this.#queue.push({
        feeds,
        outputNames,
        rows,
        key: compatKey(feeds, outputNames),
        at: performance.now(),
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  release(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#inner.release();
  }

  async #direct(
    feeds: Readonly<Record<string, HostTensor>>,
    outputNames: readonly string[] | undefined,
    rows: number,
  ): Promise<Record<string, HostTensor>> {
    this.stats.runs++;
    this.stats.rows += rows;
    return this.#inner.run(feeds, outputNames);
  }

  #pump(): void {
    while (this.#inflight < this.#opts.maxInflight && this.#queue.length > 0) {
      const head = nth(this.#queue, 0);
      let queuedRows = 0;
      for (const p of this.#queue) if (p.key === head.key) queuedRows += p.rows;
      const now = performance.now();
      const waited = now - head.at;
      const expectCompany = this.#company >= COMPANY_THRESHOLD;
      // Arrivals still coming: the last one is more recent than a few typical gaps between them.
      const arriving = now - this.#lastArrival < Math.max(QUIET_MIN_MS, QUIET_GAPS * this.#gap);
      if (
        expectCompany &&
        arriving &&
        queuedRows < this.#opts.maxBatchRows &&
        waited < this.#opts.maxDelayMs
      ) {
        this.#recheck(this.#opts.maxDelayMs - waited);
        return;
      }
      this.#dispatch(this.#take(head.key));
    }
  }

  /**
   * Looks again once the event loop has taken in what arrived (setImmediate: timers are 1 ms
   * coarse, finer than the gaps that matter here), and at the latest when the delay is up.
   */
  #recheck(remainingMs: number): void {
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, remainingMs);
    }
    if (!this.#checking) {
      this.#checking = true;
      setImmediate(() => {
        this.#checking = false;
        this.#pump();
      });
    }
  }

  /** Takes queued calls with this key, oldest first, up to maxBatchRows (always at least one). */
  #take(key: string): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < this.#queue.length; ) {
      const p = nth(this.#queue, i);
      if (p.key === key && (batch.length === 0 || rows + p.rows <= this.#opts.maxBatchRows)) {
        batch.push(p);
        rows += p.rows;
        this.#queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  #dispatch(batch: Pending[]): void {
    this.#inflight++;
    this.#running += batch.length;
    void this.#runBatch(batch).then((settle) => {
      // Counted as done before the callers hear back, so a caller that calls again at once
      // finds the engine free and no company, as it should.
      this.#inflight--;
      this.#running -= batch.length;
      try {
        settle();
      } finally {
        this.#pump();
      }
    });
  }

  /** Runs a batch; never throws. Returns what hands each caller its rows or its error. */
  async #runBatch(batch: Pending[]): Promise<() => void> {
    const first = nth(batch, 0);
    if (batch.length === 1) {
      try {
        const out = await this.#direct(first.feeds, first.outputNames, first.rows);
        return () => first.resolve(out);
      } catch (err) {
        return () => first.reject(err);
      }
    }
    const total = batch.reduce((a, p) => a + p.rows, 0);
    this.stats.largestBatch = Math.max(this.stats.largestBatch, total);
    let out: Record<string, HostTensor>;
    try {
      out = await this.#direct(concatFeeds(batch.map((p) => p.feeds)), first.outputNames, total);
    } catch {
      this.stats.splits++;
      return this.#oneByOne(batch);
    }
    if (Object.values(out).some((t) => t.dims[0] !== total)) {
      // This graph's outputs do not keep the batch dimension: rows cannot be handed back. Stop batching.
      this.#unbatchable = true;
      return this.#oneByOne(batch);
    }
    return () => {
      let offset = 0;
      for (const p of batch) {
        p.resolve(sliceOutputs(out, offset, p.rows));
        offset += p.rows;
      }
    };
  }

  async #oneByOne(batch: readonly Pending[]): Promise<() => void> {
    const settles: (() => void)[] = [];
    for (const p of batch) {
      try {
        const out = await this.#direct(p.feeds, p.outputNames, p.rows);
        settles.push(() => p.resolve(out));
      } catch (err) {
        settles.push(() => p.reject(err));
      }
    }
    return () => {
      for (const settle of settles) settle();
    };
  }
}
