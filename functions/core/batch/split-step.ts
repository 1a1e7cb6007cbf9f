import { nth } from '../checked.ts';
import { messageOf, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.ts';
import type { ModelVersion } from '../model/registry.ts';
import type { MessageQueue, QueueEntry } from '../ports.ts';
import { asciiJson } from './ascii-json.ts';
import { type BatchDeps, now, type Upload } from './deps.ts';
import { type ChunkMessage, formatFromKey, jobIdForUpload, parseUploadKey } from './job.ts';
import { failedAtSplit, type JobRecord } from './job-record.ts';
import { finaliseIfComplete, indexOwner, readJob, writeJob, writeSummary } from './job-store.ts';
import { planChunks } from './plan.ts';

/** The split step (S3 upload → chunk messages), and its on-failure ending. */

export type SplitOutcome =
  | { readonly outcome: 'queued'; readonly jobId: string; readonly chunks: number; readonly rows: number }
  | { readonly outcome: 'duplicate'; readonly jobId: string }
  | { readonly outcome: 'failed'; readonly jobId: string; readonly reason: string }
  | { readonly outcome: 'skipped'; readonly reason: string };

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
    target: mv.placement.target,
    ...(mv.placement.endpoint ? { endpoint: mv.placement.endpoint.name } : {}),
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
    route: mv.placement.target,
    ...(mv.placement.endpoint ? { endpoint: mv.placement.endpoint.name } : {}),
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
      let pending = nth(batches, next++);
      for (let attempt = 1; pending.length > 0; attempt++) {
        let failed: { id: string; reason: string }[];
        try {
          failed = await queue.sendBatch(queueUrl, pending);
        } catch (err) {
          failed = pending.map((e) => ({ id: e.id, reason: messageOf(err) }));
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
