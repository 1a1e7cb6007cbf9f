/**
 * A ground-truth file, read as a stream: JSON Lines of {id, label | value, at?}, or CSV with a
 * header naming id and label (or value) and optionally at. Each line is checked as an API label
 * is; good lines become label lines, written in parts of PART_LINES, each part under a name made
 * from the upload's key and ETag, so an S3 event delivered twice writes the same parts again.
 */
import { createHash } from 'node:crypto';
import { parseCsvLine } from '../batch/csv.ts';
import { readLines } from '../batch/lines.ts';
import { decimalValue } from '../batch/rows.ts';
import { isRecord } from '../checked.ts';
import { MODEL_NAME } from '../model/manifest/names.ts';
import { fileItem, type Truth } from './feedback.ts';
import { type LabelLine, labelLineOf } from './records.ts';

/** Label lines per written part. */
export const PART_LINES = 20_000;
/** A label line is short; longer lines are refused without being buffered. */
export const MAX_LABEL_LINE_BYTES = 4096;
/** Problems listed in a file's result; the rest are counted. */
const LISTED = 20;

/**
 * The largest ground-truth file read: about ten million labels, read in under a minute, well
 * inside the quality function's 10 minutes. A larger one gets a result asking to split it.
 */
export const MAX_GROUND_TRUTH_BYTES = 1024 ** 3;

/** Where uploads go: `ground-truth/<model>/<name>.jsonl|.csv`. */
export const GROUND_TRUTH_PREFIX = 'ground-truth/';
export const RESULTS_PREFIX = 'ground-truth-results/';

export interface IngestResult {
  readonly model: string;
  readonly key: string;
  readonly lines: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly problems: readonly string[];
  readonly parts: number;
  readonly finishedAt: string;
}

/** The model and format an upload's key names, or why it names none. */
export function parseGroundTruthKey(
  key: string,
): { model: string; format: 'jsonl' | 'csv' } | { error: string } {
  const m = /^ground-truth\/([^/]+)\/(?:[^/]+\/)*[^/]+\.(jsonl|csv)$/i.exec(key);
  if (!m)
    return {
      error: `'${key.slice(0, 200)}' is not a ground-truth file: upload to ground-truth/<model>/<name>.jsonl or .csv`,
    };
  const model = m[1] ?? '';
  if (!MODEL_NAME.test(model)) return { error: `'${model.slice(0, 80)}' is not a model name` };
  return { model, format: (m[2] ?? '').toLowerCase() === 'csv' ? 'csv' : 'jsonl' };
}

/** The result object's key for an upload. */
export const resultKey = (key: string) =>
  `${RESULTS_PREFIX}${key.startsWith(GROUND_TRUTH_PREFIX) ? key.slice(GROUND_TRUTH_PREFIX.length) : key}.json`;

/** Reads an upload and writes its labels in parts; never holds more than one part in memory. */
export async function ingestLabels(o: {
  readonly truth: Truth;
  readonly key: string;
  readonly etag: string;
  readonly format: 'jsonl' | 'csv';
  readonly body: AsyncIterable<Uint8Array>;
  readonly write: (lines: readonly LabelLine[], unique: string) => Promise<void>;
  readonly now?: () => number;
}): Promise<IngestResult> {
  const now = o.now ?? Date.now;
  const received = now();
  const base = createHash('sha256').update(`${o.key}\n${o.etag}`).digest('hex').slice(0, 24);
  const problems: string[] = [];
  let lines = 0;
  let accepted = 0;
  let rejected = 0;
  let parts = 0;
  let header: string[] | undefined;
  let part = new Map<string, LabelLine>();
  const flush = async () => {
    if (part.size === 0) return;
    await o.write([...part.values()], `${base}-${String(parts).padStart(5, '0')}`);
    parts++;
    part = new Map();
  };
  const refuse = (lineNo: number, why: string) => {
    rejected++;
    if (problems.length < LISTED) problems.push(`line ${lineNo}: ${why}`);
  };
  let fileLine = 0;
  for await (const line of readLines(o.body, { maxLineBytes: MAX_LABEL_LINE_BYTES })) {
    fileLine++;
    if (line.text.trim() === '' && !line.problem) continue;
    lines++;
    if (line.problem) {
      refuse(fileLine, line.problem);
      continue;
    }
    let record: Record<string, unknown> | undefined;
    if (o.format === 'csv') {
      const parsed = parseCsvLine(line.text);
      if (!parsed.ok) {
        refuse(fileLine, parsed.error);
        continue;
      }
      if (!header) {
        header = parsed.fields.map((f) => f.trim());
        lines--;
        const missing = ['id', o.truth.kind].filter((c) => !header?.includes(c));
        if (missing.length > 0) {
          refuse(
            1,
            `the header needs the column(s) ${missing.join(', ')} (and optionally at); it has ${header.join(', ').slice(0, 200)}`,
          );
          break;
        }
        continue;
      }
      if (parsed.fields.length !== header.length) {
        refuse(fileLine, `${parsed.fields.length} field(s), but the header has ${header.length}`);
        continue;
      }
      record = csvRecord(header, parsed.fields, o.truth.kind);
    } else {
      try {
        const v: unknown = JSON.parse(line.text);
        if (isRecord(v)) record = v;
      } catch {}
      if (!record) {
        refuse(fileLine, 'not a JSON object: write one {"id": ..., "label": ...} per line');
        continue;
      }
    }
    const r = fileItem(o.truth, record);
    if ('error' in r) {
      refuse(fileLine, r.error);
      continue;
    }
    accepted++;
    part.set(String(r.item.id), labelLineOf(r.item, received, 'file'));
    if (part.size >= PART_LINES) await flush();
  }
  await flush();
  return {
    model: o.truth.model,
    key: o.key,
    lines,
    accepted,
    rejected,
    problems,
    parts,
    finishedAt: new Date(now()).toISOString(),
  };
}

/** A CSV row under its header as a label record: the id, the label or a number, and `at` if set. */
function csvRecord(
  header: readonly string[],
  fields: readonly string[],
  kind: Truth['kind'],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const v = fields[i]?.trim() ?? '';
    if (v === '') return;
    if (name === 'id') out.id = v;
    else if (name === 'at') out.at = v;
    else if (name === kind) out[name] = kind === 'value' ? (decimalValue(v) ?? v) : v;
  });
  return out;
}
