import { nth } from '../checked.ts';
import type { Manifest } from '../model/manifest.ts';
import type { ClassView } from '../protocol/class-scores.ts';
import type { Prediction } from '../protocol/schemas.ts';
import { csvField } from './csv.ts';
import type { BatchFormat } from './rows.ts';

/** A chunk's results file: one line per scored row, CSV for CSV input and JSON Lines otherwise. */

export interface ScoredRow {
  readonly row: number;
  readonly id?: string;
  readonly p: Prediction;
}

/**
 * Float32 scores printed with the digits they have: 9 significant digits round-trip a float32,
 * shown as the shortest number with those digits (trailing zeros dropped). The common case strips
 * the zeros of `toPrecision(9)` directly, which is the same text as `String(Number(...))`: a
 * decimal of at most 9 digits is the shortest form of the double it parses to.
 */
export function num(x: unknown): string {
  if (typeof x !== 'number') return csvField(x);
  if (Number.isInteger(x)) return String(x);
  const s = x.toPrecision(9);
  if (s.indexOf('e') >= 0) return String(Number(s));
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** The results header for a model's CSV output. */
export function resultColumns(m: Manifest, hasId: boolean): string[] {
  const cols = ['row', ...(hasId ? ['id'] : [])];
  if (m.task === 'regression') return [...cols, 'value'];
  if (m.task === 'embedding') return [...cols, 'embedding'];
  if (m.task === 'tensor') return [...cols, ...(m.outputs.tensors ?? []).map((t) => t.name)];
  return [...cols, 'label', 'score', ...(m.outputs.labels ?? []).map((l) => `p_${l}`)];
}

/**
 * The chunk's results file, as UTF-8 bytes. Each row's text goes straight into one growing buffer:
 * no string per file to flatten and encode afterwards.
 */
export function formatResults(
  m: Manifest,
  format: BatchFormat,
  rows: readonly ScoredRow[],
  hasId: boolean,
): Uint8Array {
  if (format === 'csv' && isClassifier(m)) {
    return formatClassCsv(
      m,
      hasId,
      predictionView(m, rows),
      (i) => nth(rows, i).row,
      (i) => rows[i]?.id,
    );
  }
  const out = new TextBytes(rows.length * 64);
  if (format !== 'csv') {
    for (const r of rows) {
      out.add(JSON.stringify({ row: r.row, ...(r.id !== undefined ? { id: r.id } : {}), ...r.p }));
      out.add('\n');
    }
    return out.bytes();
  }
  const cell = cellsFor(m);
  out.add(resultColumns(m, hasId).join(','));
  out.add('\n');
  for (const r of rows) {
    out.add(String(r.row));
    out.add(',');
    if (hasId) {
      out.add(csvField(r.id));
      out.add(',');
    }
    out.add(cell(r.p));
    out.add('\n');
  }
  return out.bytes();
}

/** A growing UTF-8 buffer; ASCII text (most of a results file) is copied a byte at a time. */
export class TextBytes {
  #buf: Buffer;
  #len = 0;

  constructor(initial = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, initial));
  }

  add(s: string): void {
    // A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, 2 units, is 4).
    if (this.#len + s.length * 3 > this.#buf.length) this.#grow(this.#len + s.length * 3);
    const buf = this.#buf;
    let len = this.#len;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) {
        this.#len = len + buf.write(k === 0 ? s : s.slice(k), len, 'utf8');
        return;
      }
      buf[len++] = c;
    }
    this.#len = len;
  }

  /** The text so far; valid until the next add. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  #grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }
}

/** The cells after `row` (and `id`) for one prediction, by task (classifiers: formatClassCsv). */
function cellsFor(m: Manifest): (p: Prediction) => string {
  if (m.task === 'regression') {
    return (p) => (Array.isArray(p.value) ? csvField(JSON.stringify(p.value)) : num(p.value));
  }
  if (m.task === 'embedding') return (p) => csvField(JSON.stringify(p.embedding));
  const names = (m.outputs.tensors ?? []).map((t) => t.name);
  return (p) => names.map((n) => csvField(JSON.stringify(p[n]))).join(',');
}

const isClassifier = (m: Manifest) =>
  m.task === 'binary-classification' || m.task === 'multiclass-classification';

/** Predictions seen as a classifier's answers, for formatClassCsv. */
function predictionView(m: Manifest, rows: readonly ScoredRow[]): ClassView {
  const labels = m.outputs.labels ?? [];
  const probs = (i: number) => (nth(rows, i).p.probabilities ?? {}) as Record<string, number>;
  return {
    rows: rows.length,
    labels,
    label: (i) => nth(rows, i).p.label,
    score: (i) => nth(rows, i).p.score,
    probability: (i, c) => probs(i)[labels[c] ?? ''],
  };
}

/**
 * A classifier's results as CSV: `row[,id],label,score,p_<label>…`, one line per answer. The score
 * is one of the probabilities, so it is formatted once (num is the costly part of a row).
 */
export function formatClassCsv(
  m: Manifest,
  hasId: boolean,
  v: ClassView,
  row: (i: number) => number,
  id: (i: number) => string | undefined,
): Uint8Array {
  const out = new TextBytes(v.rows * 64 + 256);
  out.add(resultColumns(m, hasId).join(','));
  out.add('\n');
  const labels = v.labels;
  const shown = new Array<string>(labels.length);
  // A label is one of a few strings: each is quoted (or not) once, not once a row.
  const labelCells = new Map<string | undefined, string>();
  for (let i = 0; i < v.rows; i++) {
    out.add(String(row(i)));
    out.add(',');
    if (hasId) {
      out.add(csvField(id(i)));
      out.add(',');
    }
    const score = v.score(i);
    let scoreText: string | undefined;
    for (let c = 0; c < labels.length; c++) {
      const p = v.probability(i, c);
      shown[c] = num(p);
      if (scoreText === undefined && p === score) scoreText = shown[c];
    }
    const label = v.label(i);
    let labelCell = labelCells.get(label);
    if (labelCell === undefined) {
      labelCell = csvField(label);
      labelCells.set(label, labelCell);
    }
    out.add(labelCell);
    out.add(',');
    out.add(scoreText ?? num(score));
    for (let c = 0; c < labels.length; c++) {
      out.add(',');
      out.add(shown[c] ?? '');
    }
    out.add('\n');
  }
  return out.bytes();
}
