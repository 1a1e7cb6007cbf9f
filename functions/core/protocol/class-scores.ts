import type { Manifest } from '../model/manifest.ts';
import type { NumericData } from '../tensor/to-json.ts';
import type { Prediction } from './schemas.ts';

/**
 * A batch of rows scored from an input matrix: v1 predictions on demand, and for a classifier its
 * answers in place, which a results writer can read without a Prediction object per row.
 */
export interface MatrixScores {
  readonly rows: number;
  readonly classes?: ClassView;
  predictions(): Prediction[];
}

/** What a results writer needs of a classifier's answer for row i: its label, score and probabilities. */
export interface ClassView {
  readonly rows: number;
  /** The manifest's labels, in output column order. */
  readonly labels: readonly string[];
  label(i: number): string | undefined;
  score(i: number): number | undefined;
  /** Probability of `labels[c]` for row i. */
  probability(i: number, c: number): number | undefined;
}

/**
 * A classifier's answers for n rows, read in place from its [n, k] score tensor, with no object per
 * row. This is the one place that decides a row's label and score: a binary model's positive
 * probability against its threshold (k = 1 means the tensor holds only the positive column), or a
 * multiclass model's first highest probability.
 */
export class ClassScores implements ClassView {
  readonly labels: readonly string[];
  readonly data: NumericData;
  readonly rows: number;
  /** Columns per row, already checked against the labels. */
  readonly k: number;
  readonly #binary: boolean;
  readonly #threshold: number;

  constructor(m: Manifest, data: NumericData, rows: number, k: number) {
    this.data = data;
    this.rows = rows;
    this.k = k;
    this.labels = m.outputs.labels ?? [];
    this.#binary = m.task === 'binary-classification';
    this.#threshold = m.outputs.threshold ?? 0.5;
  }

  labelIndex(i: number): number {
    if (this.#binary) return (this.score(i) as number) >= this.#threshold ? 1 : 0;
    const d = this.data;
    const k = this.k;
    let best = 0;
    for (let c = 1; c < k; c++) if ((d[i * k + c] ?? 0) > (d[i * k + best] ?? 0)) best = c;
    return best;
  }

  label(i: number): string {
    return this.labels[this.labelIndex(i)] ?? '';
  }

  /** Binary: the positive probability. Multiclass: the probability of the row's label. */
  score(i: number): number {
    if (this.#binary) return (this.k === 2 ? this.data[i * 2 + 1] : this.data[i]) as number;
    return this.data[i * this.k + this.labelIndex(i)] ?? 0;
  }

  probability(i: number, c: number): number {
    if (this.#binary && this.k === 1) {
      const pos = this.data[i] ?? 0;
      return c === 1 ? pos : 1 - pos;
    }
    return this.data[i * this.k + c] ?? 0;
  }
}
