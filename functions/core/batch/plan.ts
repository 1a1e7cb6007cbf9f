import { ValidationError } from '../errors.ts';
import type { Manifest } from '../manifest.ts';
import { parseCsvLine } from './csv.ts';
import { readLines } from './lines.ts';
import type { BatchFormat } from './rows.ts';
import { checkHeader, findIdColumn } from './rows.ts';

export interface ChunkPlan {
  readonly chunk: number;
  readonly start: number;
  readonly end: number;
  readonly firstRow: number;
  readonly rows: number;
}

export interface SplitPlan {
  readonly format: BatchFormat;
  readonly columns?: string[];
  readonly ignoredColumns?: string[];
  readonly idColumn?: string;
  /** Lines before the first data row: 1 for a CSV header, else 0. */
  readonly headerLines: number;
  readonly rowsTotal: number;
  readonly chunks: ChunkPlan[];
}

export interface PlanOptions {
  readonly format?: BatchFormat;
  /** Rows per chunk (one SQS message, one `session.run`). */
  readonly chunkRows: number;
  /** A chunk also closes at this many bytes, for wide rows. */
  readonly chunkBytes: number;
  readonly idColumn?: string;
}

const BOM = '\uFEFF';
/** The header must fit in this; data lines are checked later, by the score function. */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * Reads an input object once, as a stream, and cuts it into row-aligned byte ranges. Holds one
 * line and the chunk list in memory, never the file. Row numbers are 1-based data rows; every line
 * after the header is a row (blank and broken lines too: they are rejected with a reason later, so
 * rows in always equals rows scored plus rows rejected).
 */
export async function planChunks(
  source: AsyncIterable<Uint8Array>,
  manifest: Manifest,
  opts: PlanOptions,
): Promise<SplitPlan> {
  const chunks: ChunkPlan[] = [];
  let format = opts.format;
  let columns: string[] | undefined;
  let ignoredColumns: string[] | undefined;
  let idColumn: string | undefined;
  let headerLines = 0;
  let row = 0;
  let cur: { start: number; end: number; firstRow: number; rows: number } | undefined;
  let first = true;

  const close = () => {
    if (cur) chunks.push({ chunk: chunks.length, ...cur });
    cur = undefined;
  };

  for await (const line of readLines(source, { decode: 'first', maxLineBytes: MAX_HEADER_BYTES })) {
    if (first) {
      first = false;
      if (line.problem) {
        throw new ValidationError(
          `the first line ${line.problem}; is the file compressed or binary? Upload uncompressed CSV (with a header row) or JSON Lines`,
        );
      }
      const text = line.text.startsWith(BOM) ? line.text.slice(1) : line.text;
      format ??= text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
      if (format === 'csv') {
        if (manifest.inputs.kind === 'tensors') {
          throw new ValidationError(
            `model '${manifest.name}' takes tensor inputs; upload JSON Lines (.jsonl), one instance object per line`,
          );
        }
        const parsed = parseCsvLine(text);
        if (!parsed.ok) throw new ValidationError(`the CSV header (line 1) is not valid: ${parsed.error}`);
        columns = parsed.fields.map((c) => c.trim());
        const { ignored, problems } = checkHeader(manifest.inputs.features, columns);
        if (problems.length > 0) {
          throw new ValidationError(
            `the CSV header (line 1) does not fit model '${manifest.name}': ${problems.join('; ')}`,
          );
        }
        idColumn = findIdColumn(columns, opts.idColumn);
        ignoredColumns = ignored.filter((c) => c !== idColumn);
        if (opts.idColumn && !idColumn) {
          throw new ValidationError(
            `id column '${opts.idColumn}' (from the object metadata) is not in the CSV header`,
          );
        }
        headerLines = 1;
        continue;
      }
      if (opts.idColumn) idColumn = opts.idColumn;
    }
    row++;
    if (cur && (cur.rows >= opts.chunkRows || line.end - cur.start > opts.chunkBytes)) close();
    if (!cur) cur = { start: line.start, end: line.end, firstRow: row, rows: 0 };
    cur.end = line.end;
    cur.rows++;
  }
  close();
  if (first)
    throw new ValidationError('the file is empty; a CSV needs a header row, JSON Lines one object per line');
  return {
    format: format ?? 'csv',
    ...(columns ? { columns } : {}),
    ...(ignoredColumns ? { ignoredColumns } : {}),
    ...(idColumn ? { idColumn } : {}),
    headerLines,
    rowsTotal: row,
    chunks,
  };
}
