import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { MODEL_NAME } from '../model/manifest/names.ts';
import { BATCH_FORMATS, type BatchFormat, resultFormat } from './rows.ts';

/**
 * The batch job's vocabulary: ids, S3 key layout, the messages and records that move between the
 * split and score functions, and the summary. Pure: no AWS here.
 */

export const JOB_ID = /^\d{8}-\d{6}-[0-9a-f]{8}$/;

/** A job id that sorts by time: `20261122-142501-3fa9c2d1`. */
export function newJobId(at: Date = new Date(), suffix?: string): string {
  const iso = at.toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `${stamp}-${suffix ?? randomBytes(4).toString('hex')}`;
}

/**
 * The job id of an upload that did not come through `POST /v1/batch`: derived from the S3 event,
 * so a duplicate delivery of the same notification names the same job. The sequencer differs for
 * every write of a key, so uploading the same file again is a new job.
 */
export function jobIdForUpload(u: {
  bucket: string;
  key: string;
  sequencer?: string;
  etag?: string;
  eventTime?: string;
}): string {
  const h = createHash('sha256')
    .update(`${u.bucket}\n${u.key}\n${u.sequencer ?? ''}\n${u.etag ?? ''}`)
    .digest('hex')
    .slice(0, 8);
  const t = u.eventTime ? new Date(u.eventTime) : new Date();
  return newJobId(Number.isNaN(t.getTime()) ? new Date() : t, h);
}

export interface UploadKey {
  readonly model: string;
  readonly version?: string;
  /** Set when the key was issued by `POST /v1/batch`: `<model>[@version]/<jobId>/<file>`. */
  readonly jobId?: string;
  readonly filename: string;
}

/**
 * Reads the model (and optional version or alias) from an input key: `<model>/...` or
 * `<model>@<version>/...`. Returns a reason when the key cannot name a model.
 */
export function parseUploadKey(key: string): UploadKey | { error: string } {
  const parts = key.split('/');
  if (parts.length < 2 || parts[0] === '') {
    return {
      error: `upload '${key}' is not under a model folder; upload to <input-bucket>/<model>/<file>.csv (or <model>@<version>/...)`,
    };
  }
  const [head, ...rest] = parts as [string, ...string[]];
  const at = head.indexOf('@');
  const model = at === -1 ? head : head.slice(0, at);
  const version = at === -1 ? undefined : head.slice(at + 1);
  if (!MODEL_NAME.test(model))
    return { error: `'${model}' (from the key's first folder) is not a model name` };
  if (version === '')
    return { error: `'${head}' has an empty version after '@'; use <model>@<version or alias>/` };
  const filename = rest[rest.length - 1] ?? '';
  const jobId = rest.length === 2 && JOB_ID.test(rest[0] ?? '') ? (rest[0] ?? '') : undefined;
  return { model, ...(version ? { version } : {}), ...(jobId ? { jobId } : {}), filename };
}

/**
 * The upload suffixes batch reads, and the format each means. The split step reads the format from
 * them, the CLI its content type, and the stack filters the bucket's notifications on them.
 */
export const BATCH_SUFFIXES: Readonly<Record<string, BatchFormat>> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
};

export function formatFromKey(key: string): BatchFormat | undefined {
  const k = key.toLowerCase();
  for (const [suffix, format] of Object.entries(BATCH_SUFFIXES)) if (k.endsWith(suffix)) return format;
  return undefined;
}

const pad = (n: number) => String(n).padStart(6, '0');

/** Where everything of a job lives in the output bucket. */
export const keys = {
  job: (jobId: string) => `${jobId}/_job.json`,
  part: (jobId: string, chunk: number, format: BatchFormat) =>
    `${jobId}/part-${pad(chunk)}.${resultFormat(format)}`,
  errors: (jobId: string, chunk: number) => `${jobId}/errors-${pad(chunk)}.jsonl`,
  chunksPrefix: (jobId: string) => `${jobId}/_chunks/`,
  /** Every marker of one chunk (done or failed) starts with this. */
  chunkPrefix: (jobId: string, chunk: number) => `${jobId}/_chunks/${pad(chunk)}.`,
  chunkDone: (jobId: string, m: { chunk: number; rowsRead: number; scored: number; rejected: number }) =>
    `${jobId}/_chunks/${pad(m.chunk)}.ok.${m.rowsRead}.${m.scored}.${m.rejected}.json`,
  chunkFailed: (jobId: string, chunk: number) => `${jobId}/_chunks/${pad(chunk)}.failed.json`,
  success: (jobId: string) => `${jobId}/_SUCCESS.json`,
  failed: (jobId: string) => `${jobId}/_FAILED.json`,
};

/** A chunk's completion marker, read back from its key alone (no GET needed to count progress). */
export type ChunkMarker =
  | {
      readonly chunk: number;
      readonly ok: true;
      readonly rowsRead: number;
      readonly scored: number;
      readonly rejected: number;
    }
  | { readonly chunk: number; readonly ok: false; readonly key: string };

const MARKER = /\/_chunks\/(\d{6})\.(?:ok\.(\d+)\.(\d+)\.(\d+)|failed)\.json$/;

export function parseMarkerKey(key: string): ChunkMarker | undefined {
  const m = MARKER.exec(key);
  if (!m) return undefined;
  const chunk = Number(m[1]);
  if (m[2] === undefined) return { chunk, ok: false, key };
  return { chunk, ok: true, rowsRead: Number(m[2]), scored: Number(m[3]), rejected: Number(m[4]) };
}

/** One SQS message: where a chunk's bytes are, not the rows themselves. */
export const chunkMessageSchema = z.strictObject({
  v: z.literal(1),
  jobId: z.string().regex(JOB_ID),
  bucket: z.string().min(3),
  key: z.string().min(1),
  etag: z.string().min(1),
  format: z.enum(BATCH_FORMATS),
  columns: z.array(z.string()).optional(),
  idColumn: z.string().optional(),
  model: z.string().regex(MODEL_NAME),
  version: z.string().min(1),
  chunk: z.number().int().min(0),
  chunks: z.number().int().min(1),
  /** Byte range [start, end) of whole lines. */
  start: z.number().int().min(0),
  end: z.number().int().min(1),
  /** 1-based data row number of the chunk's first line, and its row count. */
  firstRow: z.number().int().min(1),
  rows: z.number().int().min(1),
  /** Lines before the first data row (1 for a CSV header), to report file line numbers. */
  headerLines: z.number().int().min(0),
});
export type ChunkMessage = z.infer<typeof chunkMessageSchema>;
