import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { MODEL_NAME } from '../model/manifest.ts';
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
  const jobId = rest.length === 2 && JOB_ID.test(rest[0] as string) ? (rest[0] as string) : undefined;
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

export const JOB_STATES = ['awaiting-upload', 'splitting', 'queued', 'failed'] as const;

/** `_job.json`: written by `POST /v1/batch` (awaiting-upload) and the split function, never by workers. */
export const jobRecordSchema = z.object({
  jobId: z.string(),
  state: z.enum(JOB_STATES),
  model: z.string(),
  version: z.string().optional(),
  route: z
    .object({ target: z.enum(['lambda', 'sagemaker']), endpoint: z.string().optional() })
    .optional()
    .describe('Where the chunks are scored: the score function itself, or the SageMaker endpoint.'),
  createdAt: z.string(),
  owner: z
    .object({ id: z.string(), arn: z.string().optional() })
    .optional()
    .describe('The principal that started the job: only it sees the job, unless the view is shared.'),
  source: z
    .object({
      bucket: z.string(),
      key: z.string(),
      etag: z.string().optional(),
      bytes: z.number().optional(),
    })
    .optional(),
  format: z.enum(BATCH_FORMATS).optional(),
  columns: z.array(z.string()).optional(),
  ignoredColumns: z.array(z.string()).optional(),
  idColumn: z.string().optional(),
  rowsTotal: z.number().int().optional(),
  chunks: z.number().int().optional(),
  splitAt: z.string().optional(),
  error: z.string().optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export const chunkFailureSchema = z.object({
  chunk: z.number().int(),
  firstRow: z.number().int(),
  rows: z.number().int(),
  reason: z.string(),
  attempts: z.number().int(),
  at: z.string(),
});
export type ChunkFailure = z.infer<typeof chunkFailureSchema>;

export type JobStatus = 'awaiting-upload' | 'splitting' | 'running' | 'succeeded' | 'partial' | 'failed';

/** `_SUCCESS.json` / `_FAILED.json`: the job's outcome. Every input row is in exactly one count. */
export type JobSummary = {
  readonly jobId: string;
  readonly status: 'succeeded' | 'partial' | 'failed';
  readonly model: string;
  readonly version?: string;
  readonly route?: JobRecord['route'];
  readonly source?: JobRecord['source'];
  readonly rowsTotal: number;
  readonly rowsRead: number;
  readonly rowsScored: number;
  readonly rowsRejected: number;
  /** Rows in chunks that failed (not scored, not rejected): they went to the dead-letter queue. */
  readonly rowsFailed: number;
  readonly chunks: number;
  readonly failedChunks: readonly ChunkFailure[];
  readonly reason?: string;
  readonly createdAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
};

export interface Progress {
  readonly chunksDone: number;
  readonly chunksFailed: number;
  readonly rowsRead: number;
  readonly rowsScored: number;
  readonly rowsRejected: number;
}

/** Sums the markers; a chunk that has both (redriven after failing) counts as done. */
export function progressOf(markers: readonly ChunkMarker[]): Progress & { done: Map<number, ChunkMarker> } {
  const done = new Map<number, ChunkMarker>();
  for (const m of markers) {
    const prev = done.get(m.chunk);
    if (!prev || (!prev.ok && m.ok)) done.set(m.chunk, m);
  }
  let chunksDone = 0;
  let chunksFailed = 0;
  let rowsRead = 0;
  let rowsScored = 0;
  let rowsRejected = 0;
  for (const m of done.values()) {
    if (m.ok) {
      chunksDone++;
      rowsRead += m.rowsRead;
      rowsScored += m.scored;
      rowsRejected += m.rejected;
    } else chunksFailed++;
  }
  return { chunksDone, chunksFailed, rowsRead, rowsScored, rowsRejected, done };
}

/**
 * The job's outcome from its record and chunk markers, or undefined while chunks are outstanding.
 * Deterministic for the same markers, so two workers finalising at once write the same bytes.
 */
export function summarise(
  job: JobRecord,
  markers: readonly ChunkMarker[],
  failures: readonly ChunkFailure[],
  finishedAt: string,
): JobSummary | undefined {
  const chunks = job.chunks ?? 0;
  const p = progressOf(markers);
  if (p.done.size < chunks) return undefined;
  const failed = failures.filter((f) => p.done.get(f.chunk)?.ok === false).sort((a, b) => a.chunk - b.chunk);
  const rowsFailed = failed.reduce((s, f) => s + f.rows, 0);
  const status = failed.length === 0 ? 'succeeded' : p.chunksDone === 0 ? 'failed' : 'partial';
  const reason =
    failed.length === 0
      ? undefined
      : `${failed.length} of ${chunks} chunk(s) failed and went to the dead-letter queue; first: chunk ${failed[0]?.chunk}: ${failed[0]?.reason}`;
  return {
    jobId: job.jobId,
    status,
    model: job.model,
    ...(job.version ? { version: job.version } : {}),
    ...(job.route ? { route: job.route } : {}),
    ...(job.source ? { source: job.source } : {}),
    rowsTotal: job.rowsTotal ?? 0,
    rowsRead: p.rowsRead,
    rowsScored: p.rowsScored,
    rowsRejected: p.rowsRejected,
    rowsFailed,
    chunks,
    failedChunks: failed,
    ...(reason ? { reason } : {}),
    createdAt: job.createdAt,
    finishedAt,
    durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(job.createdAt)),
  };
}

/** The summary of a job that failed before any chunk ran (unknown model, bad header, ...). */
export function failedAtSplit(job: JobRecord, reason: string, finishedAt: string): JobSummary {
  return {
    jobId: job.jobId,
    status: 'failed',
    model: job.model,
    ...(job.version ? { version: job.version } : {}),
    ...(job.source ? { source: job.source } : {}),
    rowsTotal: job.rowsTotal ?? 0,
    rowsRead: 0,
    rowsScored: 0,
    rowsRejected: 0,
    rowsFailed: job.rowsTotal ?? 0,
    chunks: job.chunks ?? 0,
    failedChunks: [],
    reason,
    createdAt: job.createdAt,
    finishedAt,
    durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(job.createdAt)),
  };
}
