/**
 * The batch worker's fast path for tabular rows: a CSV or JSON Lines line straight into its row of
 * the model's input matrix, with no per-row object and no zod parse. It only ever accepts a line
 * that the full decoder (rows.ts) would accept with the same values; for anything else (quoting,
 * a value out of range, a missing required value, an unknown category, a blank line) it answers
 * "ask the full decoder", which gives the row's exact message. So the same rows are rejected for
 * the same reasons, and the scorer need not validate the matrix again.
 */
import { isRecord, nth } from '../checked.ts';

import type { Feature, Manifest } from '../model/manifest.ts';
import { type Check, checkFor } from '../tensor/feature-checks.ts';
import { encodersFor, rowEncoder } from '../tensor/features.ts';
import { type BatchFormat, csvValue } from './rows.ts';

export interface TabularEncoder {
  /** Columns of the input matrix: the model's features, in manifest order. */
  readonly width: number;
  /**
   * Writes the line's row into `out` from `at` when it is certainly valid and returns its id (or
   * null when it has none); undefined means the full decoder must judge the line.
   */
  encode(text: string, out: Float32Array, at: number): string | null | undefined;
  /** Writes an instance the full decoder accepted into `out` from `at`. */
  encodeInstance(instance: Readonly<Record<string, unknown>>, out: Float32Array, at: number): void;
}

/**
 * A CSV cell straight to its encoded value: what the full decoder's coercion (rows.ts) and then
 * the feature's check would give, or undefined when either would refuse it. One call a cell.
 */
type CellReader = (raw: string) => number | undefined;

function cellReader(f: Feature, check: Check): CellReader {
  const missing = check(null);
  return (raw) => {
    const s = raw.trim();
    if (s === '') return missing;
    const v = csvValue(f, s);
    return v === undefined ? undefined : check(v);
  };
}

/**
 * The fast encoder for a tabular model's CSV or JSON Lines rows; undefined for other models and
 * formats, which keep the full decoder alone.
 */
export function createTabularEncoder(
  manifest: Manifest,
  format: BatchFormat,
  opts: { columns?: readonly string[]; idColumn?: string } = {},
): TabularEncoder | undefined {
  if (manifest.inputs.kind !== 'tabular' || (format !== 'csv' && format !== 'jsonl')) return undefined;
  const features = manifest.inputs.features;
  const width = features.length;
  const encoders = encodersFor(features);
  const checks = features.map((f, i) => checkFor(f, nth(encoders, i)));
  const encodeInstance = rowEncoder(features);

  if (format === 'jsonl') {
    const idKey = opts.idColumn ?? 'id';
    return {
      width,
      encodeInstance,
      encode(text, out, at) {
        let obj: unknown;
        try {
          obj = JSON.parse(text);
        } catch {
          return undefined;
        }
        if (!isRecord(obj)) return undefined;
        const row = obj;
        for (let c = 0; c < width; c++) {
          const v = nth(checks, c)(row[nth(features, c).name]);
          if (v === undefined) return undefined;
          out[at + c] = v;
        }
        const idValue = row[idKey];
        const id = idValue === undefined || idValue === null ? '' : String(idValue);
        return id === '' ? null : id;
      },
    };
  }

  const columns = opts.columns ?? [];
  const columnCount = columns.length;
  const index = features.map((f) => columns.indexOf(f.name));
  const readers = features.map((f, c) => cellReader(f, nth(checks, c)));
  const idIndex = opts.idColumn ? columns.indexOf(opts.idColumn) : -1;
  return {
    width,
    encodeInstance,
    encode(text, out, at) {
      // Quoted fields and blank lines go to the full decoder (its CSV parser and messages).
      if (text.includes('"') || text.trim() === '') return undefined;
      const fields = text.split(',');
      if (fields.length !== columnCount) return undefined;
      for (let c = 0; c < width; c++) {
        const col = index[c] as number;
        // A feature without a column is missing from every row: its check says what that means.
        const v =
          col < 0 ? (checks[c] as Check)(undefined) : (readers[c] as CellReader)(fields[col] as string);
        if (v === undefined) return undefined;
        out[at + c] = v;
      }
      const id = idIndex >= 0 ? (fields[idIndex] ?? '') : '';
      return id === '' ? null : id;
    },
  };
}
