/**
 * A batch job's records: `_job.json` (what the API and the split function know), the chunk
 * failures, and the summary every input row is counted in exactly once.
 */
import * as z from 'zod';
import type { ChunkMarker } from './job.ts';
import { BATCH_FORMATS } from './rows.ts';

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
