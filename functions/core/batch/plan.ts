import { ValidationError } from '../errors.ts';
import { imageFormat } from '../image/format.ts';
import type { Manifest } from '../model/manifest.ts';
import { parseCsvLine } from './csv.ts';
import { MAX_LINE_BYTES, readLines } from './lines.ts';
import type { BatchFormat } from './rows.ts';
import { checkHeader, findIdColumn, imageInputOf } from './rows.ts';

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
  readonly format?: BatchFormat | undefined;
  /** Rows per chunk (one SQS message, one `session.run`). */
  readonly chunkRows: number;
  /** A chunk also closes at this many bytes, for wide rows. */
  readonly chunkBytes: number;
  readonly idColumn?: string | undefined;
}

const BOM = '\uFEFF';
/** The largest image file a batch job takes as one row. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;

/** An image file is one row: one chunk over the whole object, once its signature and size check out. */
async function planImage(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  manifest: Manifest,
): Promise<SplitPlan> {
  imageInputOf(manifest);
  if (!imageFormat(first))
    throw new ValidationError('the file is named as an image but is not a PNG or JPEG (no signature)');
  let size = first.length;
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    size += r.value.length;
    if (size > MAX_IMAGE_FILE_BYTES) {
      await rest.return?.();
      throw new ValidationError(
        `the image file is over ${MAX_IMAGE_FILE_BYTES / 1024 / 1024} MiB; resize it, or send the model's input tensor as JSON Lines`,
      );
    }
  }
  return {
    format: 'image',
    headerLines: 0,
    rowsTotal: 1,
    chunks: [{ chunk: 0, start: 0, end: size, firstRow: 1, rows: 1 }],
  };
}
/** The header must fit in this; data lines are checked later, by the score function. */
const MAX_HEADER_BYTES = MAX_LINE_BYTES;

/**
 * Reads an input object once, as a stream, and cuts it into row-aligned byte ranges. Holds one
 * line and the chunk list in memory, never the file. Row numbers are 1-based data rows; every line
 * after the header is a row (blank and broken lines too: they are rejected with a reason later, so
 * rows in always equals rows scored plus rows rejected).
 */
export async function planChunks(
  input: AsyncIterable<Uint8Array>,
  manifest: Manifest,
  opts: PlanOptions,
): Promise<SplitPlan> {
  const it = input[Symbol.asyncIterator]();
  const head = await it.next();
  const firstBytes = head.done ? new Uint8Array() : head.value;
  if (opts.format === 'image' || (opts.format === undefined && imageFormat(firstBytes))) {
    return planImage(firstBytes, it, manifest);
  }
  const source: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      if (!head.done) yield head.value;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    },
  };
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
          `the first ${line.problem}; is the file compressed or binary? Upload uncompressed CSV (with a header row) or JSON Lines`,
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
