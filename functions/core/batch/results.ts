import type { Manifest } from '../manifest.ts';
import type { Prediction } from '../protocol.ts';
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
 * The chunk's results as text. Lines are joined once at the end: one flat string, which encodes to
 * bytes in one pass (a string grown by `+=` is a rope that must be flattened first).
 */
export function formatResults(
  m: Manifest,
  format: BatchFormat,
  rows: readonly ScoredRow[],
  hasId: boolean,
): string {
  if (rows.length === 0) return format === 'csv' ? `${resultColumns(m, hasId).join(',')}\n` : '';
  if (format !== 'csv') {
    const lines = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as ScoredRow;
      lines[i] = JSON.stringify({ row: r.row, ...(r.id !== undefined ? { id: r.id } : {}), ...r.p });
    }
    return `${lines.join('\n')}\n`;
  }
  const cell = cellsFor(m);
  const lines = new Array<string>(rows.length + 1);
  lines[0] = resultColumns(m, hasId).join(',');
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ScoredRow;
    lines[i + 1] = hasId ? `${r.row},${csvField(r.id)},${cell(r.p)}` : `${r.row},${cell(r.p)}`;
  }
  return `${lines.join('\n')}\n`;
}

/** The cells after `row` (and `id`) for one prediction, by task. */
function cellsFor(m: Manifest): (p: Prediction) => string {
  if (m.task === 'regression') {
    return (p) => (Array.isArray(p.value) ? csvField(JSON.stringify(p.value)) : num(p.value));
  }
  if (m.task === 'embedding') return (p) => csvField(JSON.stringify(p.embedding));
  if (m.task === 'tensor') {
    const names = (m.outputs.tensors ?? []).map((t) => t.name);
    return (p) => names.map((n) => csvField(JSON.stringify(p[n]))).join(',');
  }
  const labels = m.outputs.labels ?? [];
  return (p) => {
    const probs = (p.probabilities ?? {}) as Record<string, number>;
    let shown = '';
    let score: string | undefined;
    for (const l of labels) {
      const v = probs[l];
      const text = num(v);
      shown += `,${text}`;
      // The score is one of the probabilities: format it once (num is the costly part of a row).
      if (score === undefined && v === p.score) score = text;
    }
    return `${csvField(p.label)},${score ?? num(p.score)}${shown}`;
  };
}
