import { isAscii, isUtf8 } from 'node:buffer';
import { nth } from '../checked.ts';

/** One line of a text file, located by byte offsets so chunks can be re-read by range. */
export interface Line {
  /** Byte offset of the line's first byte in the object. */
  readonly start: number;
  /** Byte offset just past the line's newline (or the end of the data). */
  readonly end: number;
  /** The line without its `\n` / `\r\n`; empty when `decode` is off. */
  readonly text: string;
  /** Why the line could not be decoded, e.g. invalid UTF-8 or over the length limit. */
  readonly problem?: string;
}

export interface ReadLinesOptions {
  /** Offset of the first byte of `source` within the object (for ranged reads). */
  readonly offset?: number;
  /** Decode each line as UTF-8 (default), or only the first one: the splitter needs just the header. */
  readonly decode?: boolean | 'first';
  /** Lines longer than this are reported as a problem instead of being buffered. Default MAX_LINE_BYTES. */
  readonly maxLineBytes?: number;
}

/** Rows up to 16 MiB: an FP32 [1,3,640,640] tensor as JSON (about 11 MB), or a 12 MB image as base64. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines without holding more than one line (plus one read buffer) in
 * memory, whatever the size of the stream. A final line without a newline is still a line; an empty
 * stream, or the empty tail after a final newline, is not.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array>,
  opts: ReadLinesOptions = {},
): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(source, opts)) yield* batch;
}

/**
 * readLines, one batch per read buffer: the lines that end in it (and the final line at the end).
 * The whole lines of an ASCII buffer are decoded with one call and cut as strings; any other
 * buffer is cut and checked line by line. Either way, each line gets the same text and offsets.
 */
export async function* readLineBatches(
  source: AsyncIterable<Uint8Array>,
  opts: ReadLinesOptions = {},
): AsyncGenerator<Line[]> {
  const decode = opts.decode ?? true;
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let offset = opts.offset ?? 0; // offset of the first byte of `pending`
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let index = 0;
  const overlongProblem = `line is longer than ${maxLine} bytes`;

  const emit = (parts: Buffer[], bytes: number, hadNewline: boolean): Line => {
    const start = offset;
    const end = offset + bytes;
    offset = end;
    const wanted = decode === true || (decode === 'first' && index === 0);
    index++;
    if (overlong) {
      overlong = false;
      return { start, end, text: '', problem: overlongProblem };
    }
    if (!wanted) return { start, end, text: '' };
    let buf = parts.length === 1 ? nth(parts, 0) : Buffer.concat(parts);
    let len = buf.length - (hadNewline ? 1 : 0);
    if (len > 0 && buf[len - 1] === CR) len--;
    buf = buf.subarray(0, len);
    if (!isUtf8(buf)) return { start, end, text: '', problem: 'line is not valid UTF-8' };
    return { start, end, text: buf.toString('utf8') };
  };

  /** Whole ASCII lines `region` (ending in a newline) into `batch`: one decode, then string cuts. */
  const asciiLines = (region: Buffer, batch: Line[]): void => {
    const text = region.toString('latin1');
    let p = 0;
    while (p < text.length) {
      const nl = text.indexOf('\n', p);
      const start = offset;
      offset += nl + 1 - p;
      index++;
      if (nl + 1 - p > maxLine + 2) batch.push({ start, end: offset, text: '', problem: overlongProblem });
      else {
        const e = nl > p && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
        batch.push({ start, end: offset, text: text.slice(p, e) });
      }
      p = nl + 1;
    }
  };

  for await (const chunk of source) {
    const data = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const batch: Line[] = [];
    let from = 0;
    let triedAscii = decode !== true;
    while (from < data.length) {
      if (!triedAscii && pendingBytes === 0 && !overlong) {
        // The lines that start here and end in this buffer, decoded at once when they are ASCII.
        triedAscii = true;
        const last = data.lastIndexOf(NL);
        if (last >= from && isAscii(data.subarray(from, last + 1))) {
          asciiLines(data.subarray(from, last + 1), batch);
          from = last + 1;
          continue;
        }
      }
      const nl = data.indexOf(NL, from);
      if (nl === -1) {
        const rest = data.subarray(from);
        if (!overlong) {
          if (pendingBytes + rest.length > maxLine) {
            overlong = true;
            pending = [];
          } else pending.push(rest);
        }
        pendingBytes += rest.length;
        break;
      }
      const piece = data.subarray(from, nl + 1);
      const bytes = pendingBytes + piece.length;
      if (!overlong && bytes > maxLine + 2) overlong = true;
      const parts = overlong ? [] : pending.length === 0 ? [piece] : [...pending, piece];
      batch.push(emit(parts, bytes, true));
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (pendingBytes > 0) yield [emit(pending, pendingBytes, false)];
}

/** Wraps a Buffer or string as a one-chunk async source (tests, small objects). */
export async function* bytesOf(data: string | Uint8Array): AsyncGenerator<Uint8Array> {
  yield typeof data === 'string' ? Buffer.from(data) : data;
}
