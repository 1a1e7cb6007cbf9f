/**
 * A progress bar for long work: a redrawn bar on a terminal, plain lines (at most one per
 * `plainEveryMs`, plus the last) when the output is a file or a pipe.
 */
export class ProgressBar {
  readonly #out: NodeJS.WriteStream;
  readonly #label: string;
  readonly #unit: string;
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  readonly #format: (n: number) => string;
  #rateFrom?: { t: number; done: number };
  #lastPlain = 0;
  #lastDraw = 0;
  #lastWidth = 0;

  constructor(opts: {
    label: string;
    unit: string;
    out?: NodeJS.WriteStream;
    plainEveryMs?: number;
    format?: (n: number) => string;
  }) {
    this.#out = opts.out ?? process.stderr;
    this.#label = opts.label;
    this.#unit = opts.unit;
    this.#tty = Boolean(this.#out.isTTY) && process.env.CI !== 'true';
    this.#plainEveryMs = opts.plainEveryMs ?? 2000;
    this.#format = opts.format ?? ((n) => n.toLocaleString('en-US'));
  }

  /** Shows `done` of `total`; rate and ETA count from the first update with progress. */
  update(done: number, total: number, note = ''): void {
    const now = Date.now();
    if (!this.#rateFrom || (this.#rateFrom.done === 0 && done > 0)) this.#rateFrom = { t: now, done };
    const secs = (now - this.#rateFrom.t) / 1000;
    const rate = secs > 0.2 ? (done - this.#rateFrom.done) / secs : 0;
    const eta = rate > 0 && total > done ? (total - done) / rate : undefined;
    const pct = total > 0 ? Math.min(1, done / total) : 0;
    const f = this.#format;
    const unit = this.#unit ? ` ${this.#unit}` : '';
    const stats = `${f(done)}/${f(total)}${unit}  ${rate > 0 ? `${rate >= 10 ? f(Math.round(rate)) : rate.toFixed(1)}${unit}/s` : ''}${
      eta !== undefined ? `  ETA ${duration(eta)}` : ''
    }${note ? `  ${note}` : ''}`;
    if (this.#tty) {
      if (now - this.#lastDraw < 100 && done < total) return; // at most 10 redraws a second
      this.#lastDraw = now;
      const width = 30;
      const filled = Math.round(pct * width);
      const line = `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(pct * 100).toFixed(0).padStart(3)}%  ${stats}`;
      this.#out.write(`\r${line}${' '.repeat(Math.max(0, this.#lastWidth - line.length))}`);
      this.#lastWidth = line.length;
    } else if (now - this.#lastPlain >= this.#plainEveryMs || done >= total) {
      this.#out.write(`${this.#label}: ${(pct * 100).toFixed(0)}%  ${stats}\n`);
      this.#lastPlain = now;
    }
  }

  /** Ends the bar's line on a terminal. */
  done(): void {
    if (this.#tty && this.#lastWidth > 0) this.#out.write('\n');
    this.#lastWidth = 0;
  }
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60
    ? `${m}m${String(s).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
