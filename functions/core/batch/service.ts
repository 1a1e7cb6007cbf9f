import { basename } from 'node:path';
import type * as z from 'zod';
import { invalid, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.ts';
import type { MessageQueue, ObjectStore, QueueEntry, UrlSigner } from '../ports.ts';
import type { batchJobSchema, batchUploadTicketSchema } from '../protocol.ts';
import type { ModelRegistry, ModelVersion } from '../registry.ts';
import { EndpointError } from '../remote.ts';
import { ChunkMismatchError, scoreChunk } from './chunk.ts';
import {
  type ChunkFailure,
  type ChunkMarker,
  type ChunkMessage,
  chunkFailureSchema,
  failedAtSplit,
  formatFromKey,
  JOB_ID,
  type JobRecord,
  type JobStatus,
  type JobSummary,
  jobIdForUpload,
  jobRecordSchema,
  keys,
  newJobId,
  parseMarkerKey,
  parseUploadKey,
  progressOf,
  summarise,
} from './job.ts';
import { type Line, readLines } from './lines.ts';
import { canSee, type Owner, ownerIndexPrefix, type Viewer } from './owner.ts';
import { planChunks } from './plan.ts';
import { createRowDecoder, resultFormat } from './rows.ts';

export interface BatchSettings {
  readonly inputBucket: string;
  readonly outputBucket: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly chunkRows: number;
  readonly chunkBytes: number;
  /** Attempts per chunk before it is dead-lettered with its reason. */
  readonly maxAttempts: number;
}

export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface BatchDeps {
  readonly store: ObjectStore;
  readonly queue: MessageQueue;
  readonly registry: ModelRegistry;
  readonly settings: BatchSettings;
  readonly log: Log;
  readonly now?: () => Date;
  /** Scores validated instances of a model version (the scoring core, or a remote endpoint). */
  readonly predict?: (mv: ModelVersion, instances: readonly Record<string, unknown>[]) => Promise<unknown[]>;
  /** Told each chunk's row counts once its outputs are written: the BatchRows metrics. */
  readonly onChunkScored?: (counts: { readonly scored: number; readonly rejected: number }) => void;
}

/** An uploaded object, as an S3 event names it. */
export interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly etag?: string;
  readonly sequencer?: string;
  readonly eventTime?: string;
  /** Who uploaded it, as the S3 event names them: the job's owner when no API call started it. */
  readonly uploader?: Owner;
}

export type SplitOutcome =
  | { readonly outcome: 'queued'; readonly jobId: string; readonly chunks: number; readonly rows: number }
  | { readonly outcome: 'duplicate'; readonly jobId: string }
  | { readonly outcome: 'failed'; readonly jobId: string; readonly reason: string }
  | { readonly outcome: 'skipped'; readonly reason: string };

const JSON_TYPE = 'application/json';
const now = (d: BatchDeps) => (d.now ? d.now() : new Date()).toISOString();

export async function readJob(d: BatchDeps, jobId: string): Promise<JobRecord | undefined> {
  const text = await d.store.readText(d.settings.outputBucket, keys.job(jobId));
  return text === undefined ? undefined : jobRecordSchema.parse(JSON.parse(text));
}

async function writeJob(d: BatchDeps, job: JobRecord): Promise<void> {
  await d.store.write(d.settings.outputBucket, keys.job(job.jobId), `${JSON.stringify(job, null, 2)}\n`, {
    contentType: JSON_TYPE,
  });
}

/** Files the job under its owner, so listing a principal's jobs reads only theirs. */
async function indexOwner(d: BatchDeps, jobId: string, owner: Owner | undefined): Promise<void> {
  if (!owner) return;
  await d.store.write(d.settings.outputBucket, `${ownerIndexPrefix(owner)}${jobId}`, '', {
    contentType: 'text/plain',
  });
}

async function readSummary(d: BatchDeps, jobId: string): Promise<JobSummary | undefined> {
  for (const key of [keys.success(jobId), keys.failed(jobId)]) {
    const text = await d.store.readText(d.settings.outputBucket, key);
    if (text !== undefined) return JSON.parse(text) as JobSummary;
  }
  return undefined;
}

async function writeSummary(d: BatchDeps, s: JobSummary): Promise<'written' | 'exists'> {
  const key = s.status === 'succeeded' ? keys.success(s.jobId) : keys.failed(s.jobId);
  return d.store.write(d.settings.outputBucket, key, `${JSON.stringify(s, null, 2)}\n`, {
    contentType: JSON_TYPE,
    ifNoneMatch: true,
  });
}

async function failJob(d: BatchDeps, job: JobRecord, reason: string): Promise<SplitOutcome> {
  const failed: JobRecord = { ...job, state: 'failed', error: reason };
  await writeJob(d, failed);
  await writeSummary(d, failedAtSplit(failed, reason, now(d)));
  d.log.warn('batch job failed at split', { jobId: job.jobId, reason });
  return { outcome: 'failed', jobId: job.jobId, reason };
}

/**
 * The split step: pins the model version, writes the job record, cuts the object into row-aligned
 * byte ranges and queues one small message per chunk. Safe to run twice for the same upload: the
 * job id comes from the upload, a finished split is not repeated, and an interrupted one resumes.
 */
export async function splitUpload(d: BatchDeps, u: Upload): Promise<SplitOutcome> {
  const s = d.settings;
  const parsed = parseUploadKey(u.key);
  const jobId = 'jobId' in parsed && parsed.jobId ? parsed.jobId : jobIdForUpload(u);
  const existing = await readJob(d, jobId);
  if (existing && (existing.state === 'queued' || existing.state === 'failed')) {
    d.log.info('duplicate upload notification; the job already exists', { jobId, state: existing.state });
    return { outcome: 'duplicate', jobId };
  }
  const head = await d.store.head(u.bucket, u.key);
  if (!head) return { outcome: 'skipped', reason: `s3://${u.bucket}/${u.key} no longer exists` };
  if (u.etag && stripQuotes(u.etag) !== stripQuotes(head.etag)) {
    return {
      outcome: 'skipped',
      reason: `s3://${u.bucket}/${u.key} was overwritten; the newer upload is its own job`,
    };
  }
  const owner = existing?.owner ?? u.uploader;
  const job: JobRecord = {
    jobId,
    state: 'splitting',
    model: 'error' in parsed ? '(none)' : parsed.model,
    createdAt: existing?.createdAt ?? now(d),
    ...(owner ? { owner } : {}),
    source: { bucket: u.bucket, key: u.key, etag: head.etag, bytes: head.bytes },
  };
  if (!existing?.owner) await indexOwner(d, jobId, owner);
  if ('error' in parsed) return failJob(d, job, parsed.error);

  const metaVersion = head.metadata.version ?? head.metadata['model-version'];
  if (parsed.version && metaVersion && parsed.version !== metaVersion) {
    return failJob(
      d,
      job,
      `the key names version '${parsed.version}' but the object metadata says '${metaVersion}'; give one of them`,
    );
  }
  let mv: ModelVersion;
  try {
    mv = d.registry.resolve(parsed.model, parsed.version ?? metaVersion ?? existing?.version);
  } catch (err) {
    if (err instanceof NotFoundError) return failJob(d, job, err.message);
    throw err;
  }
  job.version = mv.version;
  job.route = {
    target: mv.route.target,
    ...(mv.route.endpoint ? { endpoint: mv.route.endpoint.name } : {}),
  };
  await writeJob(d, job);

  const idColumn = head.metadata['id-column'];
  let plan: Awaited<ReturnType<typeof planChunks>>;
  try {
    plan = await planChunks(await d.store.read(u.bucket, u.key, { ifMatch: head.etag }), mv.manifest, {
      format: formatFromKey(u.key),
      chunkRows: s.chunkRows,
      chunkBytes: s.chunkBytes,
      ...(idColumn ? { idColumn } : {}),
    });
  } catch (err) {
    if (err instanceof ValidationError) return failJob(d, job, err.message);
    if (err instanceof PreconditionFailedError) {
      return { outcome: 'skipped', reason: `s3://${u.bucket}/${u.key} changed while it was being split` };
    }
    throw err;
  }
  Object.assign(job, {
    format: plan.format,
    ...(plan.columns ? { columns: plan.columns } : {}),
    ...(plan.ignoredColumns?.length ? { ignoredColumns: plan.ignoredColumns } : {}),
    ...(plan.idColumn ? { idColumn: plan.idColumn } : {}),
    rowsTotal: plan.rowsTotal,
    chunks: plan.chunks.length,
  });
  await writeJob(d, job);

  const entries: QueueEntry[] = plan.chunks.map((c) => {
    const msg: ChunkMessage = {
      v: 1,
      jobId,
      bucket: u.bucket,
      key: u.key,
      etag: head.etag,
      format: plan.format,
      ...(plan.columns ? { columns: plan.columns } : {}),
      ...(plan.idColumn ? { idColumn: plan.idColumn } : {}),
      model: mv.name,
      version: mv.version,
      chunk: c.chunk,
      chunks: plan.chunks.length,
      start: c.start,
      end: c.end,
      firstRow: c.firstRow,
      rows: c.rows,
      headerLines: plan.headerLines,
    };
    return { id: String(c.chunk), body: asciiJson(msg) };
  });
  await sendAll(d.queue, s.queueUrl, entries);
  await writeJob(d, { ...job, state: 'queued', splitAt: now(d) });
  d.log.info('batch job queued', {
    jobId,
    model: mv.name,
    version: mv.version,
    route: mv.route.target,
    ...(mv.route.endpoint ? { endpoint: mv.route.endpoint.name } : {}),
    rows: plan.rowsTotal,
    chunks: plan.chunks.length,
  });
  if (plan.chunks.length === 0) await finaliseIfComplete(d, jobId);
  return { outcome: 'queued', jobId, chunks: plan.chunks.length, rows: plan.rowsTotal };
}

/** Longest reason kept from a failed invocation: error text, not a stack or a payload. */
const MAX_REASON = 500;

/**
 * The split step failed on every attempt (Lambda's on-failure destination, or the local event
 * source after its retries): the job ends failed with the reason, so nobody waits on a job that
 * stays "splitting". A job that got further (queued, or already failed) is left as it is.
 */
export async function splitFailed(d: BatchDeps, u: Upload, error: string): Promise<SplitOutcome> {
  const parsed = parseUploadKey(u.key);
  const jobId = 'jobId' in parsed && parsed.jobId ? parsed.jobId : jobIdForUpload(u);
  const existing = await readJob(d, jobId);
  if (existing && (existing.state === 'queued' || existing.state === 'failed')) {
    return { outcome: 'duplicate', jobId };
  }
  const job: JobRecord = existing ?? {
    jobId,
    state: 'splitting',
    model: 'error' in parsed ? '(none)' : parsed.model,
    createdAt: now(d),
    ...(u.uploader ? { owner: u.uploader } : {}),
    source: { bucket: u.bucket, key: u.key, ...(u.etag ? { etag: stripQuotes(u.etag) } : {}) },
  };
  if (!existing) await indexOwner(d, jobId, u.uploader);
  const text = error.length > MAX_REASON ? `${error.slice(0, MAX_REASON)}…` : error;
  return failJob(d, job, `the split step failed on every attempt (${text}); upload the file again to retry`);
}

function stripQuotes(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/**
 * SendMessageBatch, 10 entries per call, a few calls in flight; entries SQS rejects are retried
 * with backoff, and what still fails after `attempts` is an error naming the entries.
 */
export async function sendAll(
  queue: MessageQueue,
  queueUrl: string,
  entries: readonly QueueEntry[],
  opts: { attempts?: number; concurrency?: number; backoffMs?: number } = {},
): Promise<void> {
  const attempts = opts.attempts ?? 5;
  const batches: QueueEntry[][] = [];
  for (let i = 0; i < entries.length; i += 10) batches.push(entries.slice(i, i + 10));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = batches[next++] as QueueEntry[];
      for (let attempt = 1; pending.length > 0; attempt++) {
        let failed: { id: string; reason: string }[];
        try {
          failed = await queue.sendBatch(queueUrl, pending);
        } catch (err) {
          failed = pending.map((e) => ({ id: e.id, reason: (err as Error).message }));
        }
        if (failed.length === 0) break;
        if (attempt >= attempts) {
          throw new Error(
            `SQS refused ${failed.length} chunk message(s) after ${attempts} attempts: ${failed
              .slice(0, 3)
              .map((f) => `chunk ${f.id}: ${f.reason}`)
              .join('; ')}`,
          );
        }
        const ids = new Set(failed.map((f) => f.id));
        pending = pending.filter((e) => ids.has(e.id));
        await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 100) * 2 ** (attempt - 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, batches.length) }, worker));
}

export type ChunkOutcome = 'scored' | 'already-done' | 'dead-lettered';

/** Errors that no retry can fix: the chunk goes straight to the dead-letter queue. */
function isPermanent(err: unknown): boolean {
  return (
    err instanceof PreconditionFailedError ||
    err instanceof NotFoundError ||
    err instanceof ValidationError ||
    err instanceof ChunkMismatchError ||
    (err instanceof EndpointError && err.status === 400)
  );
}

/**
 * The score step for one chunk message. Output keys are deterministic, so a redelivered chunk
 * overwrites its own part. A chunk that keeps failing (or cannot succeed) is recorded with its
 * reason, sent to the dead-letter queue, and counted in the job's summary.
 */
export async function processChunk(
  d: BatchDeps,
  msg: ChunkMessage,
  receiveCount: number,
): Promise<ChunkOutcome> {
  const s = d.settings;
  if (receiveCount > s.maxAttempts) {
    await deadLetter(
      d,
      msg,
      `the score function stopped without reporting (crash, out of memory or timeout) on ${receiveCount - 1} attempt(s); see its logs for job ${msg.jobId} chunk ${msg.chunk}`,
      receiveCount,
    );
    return 'dead-lettered';
  }
  if (await chunkIsDone(d, msg)) {
    await finaliseIfComplete(d, msg.jobId);
    return 'already-done';
  }
  try {
    const mv = d.registry.resolve(msg.model, msg.version);
    const decoder = createRowDecoder(mv.manifest, msg.format, {
      ...(msg.columns ? { columns: msg.columns } : {}),
      ...(msg.idColumn ? { idColumn: msg.idColumn } : {}),
      filename: msg.key.slice(msg.key.lastIndexOf('/') + 1),
    });
    const body = await d.store.read(msg.bucket, msg.key, {
      start: msg.start,
      end: msg.end,
      ifMatch: msg.etag,
    });
    const predict = d.predict;
    if (!predict) throw new Error('BatchDeps.predict is not set; the score function needs a scorer');
    const out = await scoreChunk({
      lines: msg.format === 'image' ? wholeFile(body, msg.start) : readLines(body, { offset: msg.start }),
      firstRow: msg.firstRow,
      rows: msg.rows,
      headerLines: msg.headerLines,
      format: msg.format,
      decoder,
      manifest: mv.manifest,
      hasId: msg.idColumn !== undefined || msg.format === 'image',
      predict: (instances) => predict(mv, instances) as Promise<never>,
    });
    const type = resultFormat(msg.format) === 'csv' ? 'text/csv' : 'application/x-ndjson';
    if (out.scored > 0)
      await d.store.write(s.outputBucket, keys.part(msg.jobId, msg.chunk, msg.format), out.results, {
        contentType: type,
      });
    if (out.rejected > 0) {
      await d.store.write(s.outputBucket, keys.errors(msg.jobId, msg.chunk), out.errors, {
        contentType: 'application/x-ndjson',
      });
    }
    const marker = { chunk: msg.chunk, rowsRead: out.rowsRead, scored: out.scored, rejected: out.rejected };
    await d.store.write(
      s.outputBucket,
      keys.chunkDone(msg.jobId, marker),
      JSON.stringify({ ...marker, at: now(d) }),
      {
        contentType: JSON_TYPE,
      },
    );
    d.onChunkScored?.({ scored: out.scored, rejected: out.rejected });
  } catch (err) {
    const reason = (err as Error).message;
    if (!isPermanent(err) && receiveCount < s.maxAttempts) {
      d.log.warn('chunk failed; it will be retried', {
        jobId: msg.jobId,
        chunk: msg.chunk,
        attempt: receiveCount,
        reason,
      });
      throw err;
    }
    await deadLetter(d, msg, reason, receiveCount);
    return 'dead-lettered';
  }
  await finaliseIfComplete(d, msg.jobId);
  return 'scored';
}

async function chunkIsDone(d: BatchDeps, msg: ChunkMessage): Promise<boolean> {
  const prefix = `${keys.chunksPrefix(msg.jobId)}${String(msg.chunk).padStart(6, '0')}.ok.`;
  for await (const _ of d.store.list(d.settings.outputBucket, prefix)) return true;
  return false;
}

async function deadLetter(d: BatchDeps, msg: ChunkMessage, reason: string, attempts: number): Promise<void> {
  const failure: ChunkFailure = {
    chunk: msg.chunk,
    firstRow: msg.firstRow,
    rows: msg.rows,
    reason,
    attempts,
    at: now(d),
  };
  await d.store.write(
    d.settings.outputBucket,
    keys.chunkFailed(msg.jobId, msg.chunk),
    JSON.stringify(failure),
    {
      contentType: JSON_TYPE,
    },
  );
  await d.queue.send(d.settings.dlqUrl, asciiJson(msg), {
    reason: asciiText(reason.slice(0, 1000)),
    jobId: msg.jobId,
    chunk: String(msg.chunk),
    attempts: String(attempts),
  });
  d.log.error('chunk dead-lettered', { jobId: msg.jobId, chunk: msg.chunk, attempts, reason });
  await finaliseIfComplete(d, msg.jobId);
}

async function listMarkers(d: BatchDeps, jobId: string): Promise<ChunkMarker[]> {
  const markers: ChunkMarker[] = [];
  for await (const o of d.store.list(d.settings.outputBucket, keys.chunksPrefix(jobId))) {
    const m = parseMarkerKey(o.key);
    if (m) markers.push(m);
  }
  return markers;
}

/**
 * Writes the job's summary once every chunk has a marker. Any worker may find it complete; the
 * summary is a conditional write, so only the first one lands (and they would write the same counts).
 */
export async function finaliseIfComplete(d: BatchDeps, jobId: string): Promise<JobSummary | undefined> {
  const job = await readJob(d, jobId);
  if (!job || job.chunks === undefined || job.state === 'failed') return undefined;
  if (await readSummary(d, jobId)) return undefined;
  const markers = await listMarkers(d, jobId);
  const p = progressOf(markers);
  if (p.done.size < job.chunks) return undefined;
  const failures: ChunkFailure[] = [];
  for (const m of p.done.values()) {
    if (m.ok) continue;
    const text = await d.store.readText(d.settings.outputBucket, m.key);
    if (text) failures.push(chunkFailureSchema.parse(JSON.parse(text)));
  }
  const summary = summarise(job, markers, failures, now(d));
  if (!summary) return undefined;
  if ((await writeSummary(d, summary)) === 'written') {
    d.log.info('batch job finished', {
      jobId,
      status: summary.status,
      rowsTotal: summary.rowsTotal,
      rowsScored: summary.rowsScored,
      rowsRejected: summary.rowsRejected,
      rowsFailed: summary.rowsFailed,
      durationMs: summary.durationMs,
    });
  }
  return summary;
}

/** What `GET /v1/batch/{jobId}` answers: exactly its route's response schema. */
export type JobView = z.infer<typeof batchJobSchema>;

/**
 * A job the viewer may see. Someone else's job is answered exactly as a missing one, so its
 * existence is not disclosed.
 */
async function visibleJob(d: BatchDeps, jobId: string, viewer: Viewer, hint: string): Promise<JobRecord> {
  const job = await readJob(d, jobId);
  if (!job || !canSee(job, viewer)) throw new NotFoundError(`No batch job '${jobId}'. ${hint}`);
  return job;
}

/** What `GET /v1/batch/{jobId}` shows: the outcome when finished, else progress from the markers. */
export async function jobStatus(d: BatchDeps, jobId: string, viewer: Viewer): Promise<JobView> {
  const job = await visibleJob(d, jobId, viewer, 'Your recent jobs are listed at GET /v1/batch.');
  const base = {
    jobId,
    model: job.model,
    ...(job.version ? { version: job.version } : {}),
    createdAt: job.createdAt,
    ...(job.owner ? { owner: job.owner.arn ?? job.owner.id } : {}),
    ...(job.source ? { source: job.source } : {}),
    ...(job.format ? { format: job.format } : {}),
    ...(job.ignoredColumns ? { ignoredColumns: job.ignoredColumns } : {}),
    ...(job.rowsTotal !== undefined ? { rowsTotal: job.rowsTotal } : {}),
    ...(job.chunks !== undefined ? { chunks: job.chunks } : {}),
  };
  const summary = await readSummary(d, jobId);
  if (summary) {
    return { ...base, status: summary.status, summary, ...(summary.reason ? { error: summary.reason } : {}) };
  }
  if (job.state === 'awaiting-upload') return { ...base, status: 'awaiting-upload' };
  if (job.state === 'failed')
    return { ...base, status: 'failed', ...(job.error ? { error: job.error } : {}) };
  const { done: _, ...progress } = progressOf(await listMarkers(d, jobId));
  return { ...base, status: job.state === 'splitting' ? 'splitting' : 'running', progress };
}

/** The viewer's newest jobs first (everyone's, in a shared view). */
export async function listJobs(d: BatchDeps, viewer: Viewer, limit = 20): Promise<JobView[]> {
  const ids: string[] = [];
  if (viewer.shared) {
    for (const p of await d.store.listPrefixes(d.settings.outputBucket, '')) {
      const id = p.replace(/\/$/, '');
      if (JOB_ID.test(id)) ids.push(id);
    }
  } else {
    const prefix = ownerIndexPrefix(viewer.owner);
    for await (const o of d.store.list(d.settings.outputBucket, prefix)) {
      const id = o.key.slice(prefix.length);
      if (JOB_ID.test(id)) ids.push(id);
    }
  }
  ids.sort().reverse();
  const views: JobView[] = [];
  for (const id of ids.slice(0, limit)) {
    try {
      views.push(await jobStatus(d, id, viewer));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return views;
}

export interface ResultFile {
  readonly chunk: number;
  readonly key: string;
  readonly bytes: number;
  readonly url: string;
}

/** Presigned download links for a job's parts and error files, in chunk order. */
export async function jobResults(
  d: BatchDeps,
  signer: UrlSigner,
  jobId: string,
  viewer: Viewer,
  expiresIn: number,
): Promise<{ status: JobStatus; parts: ResultFile[]; errors: ResultFile[] }> {
  const view = await jobStatus(d, jobId, viewer);
  const parts: ResultFile[] = [];
  const errors: ResultFile[] = [];
  for await (const o of d.store.list(d.settings.outputBucket, `${jobId}/`)) {
    const m = /\/(part|errors)-(\d{6})\.(csv|jsonl)$/.exec(o.key);
    if (!m) continue;
    const file = {
      chunk: Number(m[2]),
      key: o.key,
      bytes: o.bytes,
      url: await signer.getUrl(d.settings.outputBucket, o.key, expiresIn),
    };
    (m[1] === 'part' ? parts : errors).push(file);
  }
  if (parts.length === 0 && errors.length === 0 && view.status === 'running') {
    throw new NotFoundError(`Job '${jobId}' has no results yet (status ${view.status}).`);
  }
  return { status: view.status, parts, errors };
}

/** Multipart uploads above this size; each presigned part is at least this big. */
export const PART_BYTES = 8 * 1024 * 1024;
/**
 * Presigned parts per upload: S3 allows 10,000, but presigning them all takes seconds of CPU and
 * megabytes of answer. Parts grow instead (S3 takes up to 5 GiB each), so 1,000 cover S3's 5 TiB.
 */
const MAX_PARTS = 1000;
/** Part URLs signed between two turns of the event loop. */
const SIGN_SLICE = 25;
/** S3's largest object. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 4;

/** What `POST /v1/batch` answers, before the handler adds the status and complete URLs. */
export type UploadTicket = Omit<z.infer<typeof batchUploadTicketSchema>, 'statusUrl' | 'completeUrl'>;

/**
 * `POST /v1/batch`: pins the model version now, records the job as awaiting its upload, and
 * returns where to upload. Files over 8 MiB get presigned multipart URLs, so size is not capped
 * by a single PUT (5 GB on S3).
 */
export async function createUpload(
  d: BatchDeps,
  signer: UrlSigner,
  req: { model: string; version?: string; filename?: string; bytes?: number },
  owner: Owner,
  expiresIn: number,
): Promise<UploadTicket> {
  const mv = d.registry.resolve(req.model, req.version);
  const jobId = newJobId(d.now ? d.now() : new Date());
  const filename = safeFilename(req.filename ?? 'input.csv');
  const key = `${mv.name}@${mv.version}/${jobId}/${filename}`;
  const bucket = d.settings.inputBucket;
  await writeJob(d, {
    jobId,
    state: 'awaiting-upload',
    model: mv.name,
    version: mv.version,
    createdAt: now(d),
    owner,
  });
  await indexOwner(d, jobId, owner);
  const expiresAt = new Date((d.now ? d.now() : new Date()).getTime() + expiresIn * 1000).toISOString();
  const base = { jobId, model: mv.name, version: mv.version, bucket, key, expiresAt };
  const bytes = req.bytes ?? 0;
  if (bytes <= PART_BYTES)
    return { ...base, upload: { method: 'PUT', url: await signer.putUrl(bucket, key, expiresIn) } };
  const partBytes = Math.max(PART_BYTES, Math.ceil(bytes / MAX_PARTS));
  const count = Math.ceil(bytes / partBytes);
  const uploadId = await signer.createMultipartUpload(bucket, key);
  const parts: { partNumber: number; url: string }[] = [];
  for (let n = 1; n <= count; n++) {
    parts.push({ partNumber: n, url: await signer.partUrl(bucket, key, uploadId, n, expiresIn) });
    // Signing is CPU work: let other requests in between slices (a process serving many).
    if (n % SIGN_SLICE === 0) await new Promise((r) => setImmediate(r));
  }
  return { ...base, multipart: { uploadId, partBytes, parts } };
}

/** `POST /v1/batch/{jobId}/complete`: finishes a multipart upload; S3 then notifies the split step. */
export async function completeUpload(
  d: BatchDeps,
  signer: UrlSigner,
  jobId: string,
  viewer: Viewer,
  req: { key: string; uploadId: string; parts: { partNumber: number; etag: string }[] },
): Promise<void> {
  const job = await visibleJob(d, jobId, viewer, 'Start one with POST /v1/batch.');
  if (req.key.split('/')[1] !== jobId) {
    throw new ValidationError(
      `key: '${req.key}' does not belong to job '${jobId}'; send the key POST /v1/batch returned`,
    );
  }
  if (job.state !== 'awaiting-upload') {
    throw new ValidationError(`job '${jobId}' is already ${job.state}; its upload is complete`);
  }
  try {
    await signer.completeMultipartUpload(d.settings.inputBucket, req.key, req.uploadId, req.parts);
  } catch (err) {
    // S3's answers about the caller's upload are the caller's to fix: a 400 naming the field.
    const name = (err as { name?: string; Code?: string }).name ?? (err as { Code?: string }).Code ?? '';
    const fix: Record<string, string> = {
      NoSuchUpload: `uploadId: '${req.uploadId}' is not an open upload for this job; send the uploadId POST /v1/batch returned`,
      InvalidPart:
        'parts: a part number or ETag does not match an uploaded part; send each ETag its part PUT returned',
      InvalidPartOrder: 'parts: the parts must be listed in ascending partNumber order',
      EntityTooSmall:
        'parts: every part but the last must be at least 5 MiB; upload the parts with the partBytes the ticket gave',
    };
    const message = fix[name];
    if (message) invalid(message);
    throw err;
  }
}

function safeFilename(name: string): string {
  const base = basename(name.replaceAll('\\', '/'));
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '');
  return cleaned.length > 0 ? cleaned.slice(-120) : 'input.csv';
}

/** An image file's bytes as the one "line" of its chunk, base64 text for the image row decoder. */
async function* wholeFile(body: AsyncIterable<Uint8Array>, start: number): AsyncGenerator<Line> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const b of body) {
    parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    size += b.length;
  }
  yield { start, end: start + size, text: Buffer.concat(parts, size).toString('base64') };
}

/**
 * JSON with every non-ASCII character escaped (\uXXXX, surrogate pairs as two): the same value to
 * any JSON parser, and a body every SQS implementation takes. An object key such as
 * `report-😀.csv` otherwise made the local emulator refuse the message and the job stall.
 */
export function asciiJson(value: unknown): string {
  return asciiText(JSON.stringify(value));
}

function asciiText(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
