import { basename } from 'node:path';
import type * as z from 'zod';
import { fieldOf, invalid, NotFoundError, ValidationError } from '../errors.ts';
import type { UrlSigner } from '../ports.ts';
import type { batchJobSchema, batchUploadTicketSchema } from '../protocol/schemas.ts';
import { type BatchDeps, now } from './deps.ts';
import { JOB_ID, newJobId } from './job.ts';
import { type JobRecord, type JobStatus, progressOf } from './job-record.ts';
import { indexOwner, listMarkers, readJob, readSummary, writeJob } from './job-store.ts';
import { canSee, type Owner, ownerIndexPrefix, type Viewer } from './owner.ts';

/** What the batch API does: upload tickets, job status and listing, result links. */

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
  req: {
    model: string;
    version?: string | undefined;
    filename?: string | undefined;
    bytes?: number | undefined;
  },
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
    const name = String(fieldOf(err, 'name') ?? fieldOf(err, 'Code') ?? '');
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
