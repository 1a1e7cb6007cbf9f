/**
 * Labelled traffic for the quality demo: card transactions drawn from the fraud generator (whose
 * hidden risk function knows each one's truth), sent with a transaction_id, and their labels
 * sent later through POST /v1/models/<model>/feedback: a share of them, after a delay, as
 * chargebacks arrive. A drift scales one number the model sees (an upstream unit change: amounts
 * in cents), while the truth stays that of the real transaction, so accuracy falls after it.
 */
import { generateTransactions, type Transaction } from './fraud-data.ts';

export interface LabelledOptions {
  readonly seed: number;
  /** Share of transactions that get a label. */
  readonly labelShare: number;
  /** Seconds between a prediction and its label. */
  readonly labelDelayS: number;
  /** The drifted feature, its factor, and from when (seconds after the start). */
  readonly drift?: { readonly feature: keyof Transaction; readonly factor: number; readonly afterS: number };
}

export interface Pending {
  readonly id: string;
  readonly label: 'legit' | 'fraud';
  readonly due: number;
}

/** Rows to send and the labels they will get, drawn in blocks from the generator. */
export class LabelledTraffic {
  readonly #o: LabelledOptions;
  readonly #started: number;
  #block: { rows: Transaction[]; labels: number[] } = { rows: [], labels: [] };
  #at = 0;
  #blocks = 0;
  #n = 0;
  readonly pending: Pending[] = [];
  drifting = false;

  constructor(o: LabelledOptions, started = Date.now()) {
    this.#o = o;
    this.#started = started;
  }

  /** `count` instances to send now; their labels join the queue with their due time. */
  instances(count: number, now = Date.now()): Record<string, unknown>[] {
    const d = this.#o.drift;
    this.drifting = d !== undefined && now - this.#started >= d.afterS * 1000;
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      if (this.#at >= this.#block.rows.length) {
        this.#block = generateTransactions(1000, this.#o.seed * 1000 + this.#blocks++);
        this.#at = 0;
      }
      const row = { ...(this.#block.rows[this.#at] as Transaction) };
      const truth = this.#block.labels[this.#at] === 1 ? 'fraud' : 'legit';
      this.#at++;
      const id = `t${this.#o.seed}-${this.#n++}`;
      if (d && this.drifting) {
        const v = row[d.feature];
        if (typeof v === 'number')
          (row as Record<string, unknown>)[d.feature] = Math.min(
            50_000,
            Math.round(v * d.factor * 100) / 100,
          );
      }
      const instance: Record<string, unknown> = { transaction_id: id };
      for (const [k, v] of Object.entries(row)) if (v !== null) instance[k] = v;
      out.push(instance);
      // Deterministic: the same share of ids is labelled whatever the timing.
      if (((this.#n * 2654435761) >>> 0) / 2 ** 32 < this.#o.labelShare)
        this.pending.push({ id, label: truth, due: now + this.#o.labelDelayS * 1000 });
    }
    return out;
  }

  /** The labels due by `now`, taken off the queue (all of them with `all`). */
  due(now = Date.now(), all = false): Pending[] {
    let k = 0;
    while (k < this.pending.length && (all || (this.pending[k] as Pending).due <= now)) k++;
    return this.pending.splice(0, k);
  }
}
