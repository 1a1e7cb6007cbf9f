import { nth } from '../checked.ts';
import { ValidationError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import type { MatrixScores } from '../protocol/class-scores.ts';
import type { Prediction } from '../protocol/schemas.ts';
import type { Line } from './lines.ts';
import { formatClassCsv, formatResults, type ScoredRow } from './results.ts';
import type { BatchFormat, RowDecoder } from './rows.ts';
import type { TabularEncoder } from './tabular-fast.ts';

/** A chunk's outputs, ready to write: results and rejected rows, as text, plus the counts. */
export interface ChunkOutput {
  /** The results file as UTF-8: CSV for CSV input, JSON Lines otherwise. */
  readonly results: Uint8Array;
  /** JSON Lines of `{row, line, error, id?, raw}`; empty when every row was valid. */
  readonly errors: string;
  readonly rowsRead: number;
  readonly scored: number;
  readonly rejected: number;
  /** The scored rows with their predictions, made only when asked (the quality log). */
  readonly predictions: () => readonly ScoredRow[];
}

export interface ChunkInput {
  /** The chunk's lines, in the batches they were read in (readLineBatches). */
  readonly lines: AsyncIterable<readonly Line[]>;
  readonly firstRow: number;
  readonly rows: number;
  readonly headerLines: number;
  readonly format: BatchFormat;
  readonly decoder: RowDecoder;
  readonly manifest: Manifest;
  readonly hasId: boolean;
  /** Scores validated instances, in one engine call. */
  readonly predict: (instances: readonly Record<string, unknown>[]) => Promise<readonly Prediction[]>;
  /**
   * A tabular model scored in this process: rows go straight into its input matrix
   * (tabular-fast.ts) and are scored without a second validation. Same results and errors.
   */
  readonly encoded?: {
    readonly encoder: TabularEncoder;
    readonly predict: (x: Float32Array, rows: number) => Promise<MatrixScores>;
  };
}

/** Raised when the bytes no longer match the plan (the object changed). Retrying cannot help. */
export class ChunkMismatchError extends Error {}

const RAW_LIMIT = 500;

/**
 * Scores one chunk: decodes and validates every line, scores the valid rows together, and
 * explains each rejected row with its row and file line number. Pure apart from `predict`.
 */
export async function scoreChunk(input: ChunkInput): Promise<ChunkOutput> {
  if (input.encoded) return scoreEncoded(input, input.encoded.encoder, input.encoded.predict);
  const valid: ValidRow[] = [];
  const errors: string[] = [];
  let i = 0;
  for await (const batch of input.lines) {
    for (const line of batch) {
      const row = input.firstRow + i;
      i++;
      const lineNo = row + input.headerLines;
      const text = line.text.charCodeAt(0) === 0xfeff ? line.text.slice(1) : line.text;
      if (line.problem) {
        errors.push(errorLine(row, lineNo, line.problem, undefined, ''));
        continue;
      }
      const d = input.decoder.decode(text);
      if (d.ok) valid.push({ row, instance: d.instance, ...(d.id !== undefined ? { id: d.id } : {}) });
      else errors.push(errorLine(row, lineNo, d.error, d.id, text));
    }
  }
  checkRowCount(input, i);

  const scored: ScoredRow[] = [];
  if (valid.length > 0) {
    const rejected = await scoreRows(input, valid, scored);
    if (rejected.length > 0) {
      errors.push(...rejected);
      errors.sort((a, b) => rowOf(a) - rowOf(b));
    }
  }
  return chunkOutput(input, scored, errors, i);
}

type ValidRow = { row: number; id?: string; instance: Record<string, unknown> };

/**
 * Scores valid rows together; when the scorer refuses the batch for one row's sake (a file that
 * does not decode, a tensor element out of range), halves it and scores each half, down to the
 * row to blame, which is rejected with its reason while its neighbours are scored. A poison row
 * in 5,000 costs about 2 log2(5,000), 26, calls rather than 5,000. Any other failure (the model,
 * the endpoint) is the chunk's: it is thrown, and the chunk retried.
 */
async function scoreRows(
  input: ChunkInput,
  rows: readonly ValidRow[],
  scored: ScoredRow[],
): Promise<string[]> {
  try {
    const preds = await input.predict(rows.map((v) => v.instance));
    rows.forEach((v, k) => {
      scored.push({ row: v.row, ...(v.id !== undefined ? { id: v.id } : {}), p: nth(preds, k) });
    });
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    if (rows.length === 1) {
      const v = nth(rows, 0);
      // The details name the element (instances[*].x (flattened)[3]: 256 is outside …).
      const why =
        err.details.length > 0 ? err.details.join('; ') : err.message.replace(/^Invalid input: /, '');
      return [errorLine(v.row, v.row + input.headerLines, why, v.id, '')];
    }
    const half = Math.ceil(rows.length / 2);
    const first = await scoreRows(input, rows.slice(0, half), scored);
    return [...first, ...(await scoreRows(input, rows.slice(half), scored))];
  }
}

/** scoreChunk for a tabular model scored here: each valid row is written once, into the matrix. */
async function scoreEncoded(
  input: ChunkInput,
  encoder: TabularEncoder,
  predict: (x: Float32Array, rows: number) => Promise<MatrixScores>,
): Promise<ChunkOutput> {
  const width = encoder.width;
  // Sized by the plan; a chunk with more lines than planned is refused below, before scoring.
  const x = new Float32Array(input.rows * width);
  const rowNumbers = new Int32Array(input.rows);
  const ids: (string | undefined)[] = [];
  const errors: string[] = [];
  let n = 0;
  let i = 0;
  for await (const batch of input.lines) {
    for (const line of batch) {
      const row = input.firstRow + i;
      i++;
      if (i > input.rows) continue;
      const lineNo = row + input.headerLines;
      const text = line.text.charCodeAt(0) === 0xfeff ? line.text.slice(1) : line.text;
      if (line.problem) {
        errors.push(errorLine(row, lineNo, line.problem, undefined, ''));
        continue;
      }
      const fast = encoder.encode(text, x, n * width);
      if (fast !== undefined) {
        rowNumbers[n] = row;
        ids[n] = fast ?? undefined;
        n++;
        continue;
      }
      const d = input.decoder.decode(text);
      if (!d.ok) {
        errors.push(errorLine(row, lineNo, d.error, d.id, text));
        continue;
      }
      encoder.encodeInstance(d.instance, x, n * width);
      rowNumbers[n] = row;
      ids[n] = d.id;
      n++;
    }
  }
  checkRowCount(input, i);
  const scores = n > 0 ? await predict(x.subarray(0, n * width), n) : undefined;
  if (scores?.classes && input.format === 'csv') {
    // A classifier's CSV is written from its score tensor: no Prediction object per row.
    const results = formatClassCsv(
      input.manifest,
      input.hasId,
      scores.classes,
      (k) => rowNumbers[k] ?? 0,
      (k) => ids[k],
    );
    return { ...errorsOutput(errors), results, rowsRead: i, scored: n, predictions: () => scoredOf(scores) };
  }
  return chunkOutput(input, scoredOf(scores), errors, i);

  function scoredOf(s: MatrixScores | undefined): ScoredRow[] {
    return (s?.predictions() ?? []).map((p, k) => {
      const id = ids[k];
      return { row: rowNumbers[k] ?? 0, ...(id !== undefined ? { id } : {}), p };
    });
  }
}

/** A chunk whose row count differs from the plan was changed under the job: no retry can help. */
function checkRowCount(input: ChunkInput, rowsRead: number): void {
  if (rowsRead !== input.rows) {
    throw new ChunkMismatchError(
      `the chunk has ${rowsRead} row(s) but the split planned ${input.rows}; the input object changed after the job started`,
    );
  }
}

function chunkOutput(
  input: ChunkInput,
  scored: readonly ScoredRow[],
  errors: readonly string[],
  rowsRead: number,
): ChunkOutput {
  return {
    ...errorsOutput(errors),
    results: formatResults(input.manifest, input.format, scored, input.hasId),
    rowsRead,
    scored: scored.length,
    predictions: () => scored,
  };
}

function errorsOutput(errors: readonly string[]): { errors: string; rejected: number } {
  return { errors: errors.length > 0 ? `${errors.join('\n')}\n` : '', rejected: errors.length };
}

function errorLine(row: number, line: number, error: string, id: string | undefined, raw: string): string {
  return JSON.stringify({
    row,
    line,
    ...(id !== undefined ? { id } : {}),
    error,
    ...(raw ? { raw: raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}…` : raw } : {}),
  });
}

function rowOf(errorJson: string): number {
  return Number(/"row":(\d+)/.exec(errorJson)?.[1] ?? 0);
}
