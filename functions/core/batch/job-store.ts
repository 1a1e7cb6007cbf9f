import { type BatchDeps, JSON_TYPE, now } from './deps.ts';
import { type ChunkMarker, keys, parseMarkerKey } from './job.ts';
import {
  type ChunkFailure,
  chunkFailureSchema,
  type JobRecord,
  type JobSummary,
  jobRecordSchema,
  progressOf,
  summarise,
} from './job-record.ts';
import { type Owner, ownerIndexPrefix } from './owner.ts';

/** The job's records in the output bucket: _job.json, the owner index, chunk markers and the summary. */

export async function readJob(d: BatchDeps, jobId: string): Promise<JobRecord | undefined> {
  const text = await d.store.readText(d.settings.outputBucket, keys.job(jobId));
  return text === undefined ? undefined : jobRecordSchema.parse(JSON.parse(text));
}

export async function writeJob(d: BatchDeps, job: JobRecord): Promise<void> {
  await d.store.write(d.settings.outputBucket, keys.job(job.jobId), `${JSON.stringify(job, null, 2)}\n`, {
    contentType: JSON_TYPE,
  });
}

/** Files the job under its owner, so listing a principal's jobs reads only theirs. */
export async function indexOwner(d: BatchDeps, jobId: string, owner: Owner | undefined): Promise<void> {
  if (!owner) return;
  await d.store.write(d.settings.outputBucket, `${ownerIndexPrefix(owner)}${jobId}`, '', {
    contentType: 'text/plain',
  });
}

export async function readSummary(d: BatchDeps, jobId: string): Promise<JobSummary | undefined> {
  for (const key of [keys.success(jobId), keys.failed(jobId)]) {
    const text = await d.store.readText(d.settings.outputBucket, key);
    if (text !== undefined) return JSON.parse(text) as JobSummary;
  }
  return undefined;
}

export async function writeSummary(d: BatchDeps, s: JobSummary): Promise<'written' | 'exists'> {
  const key = s.status === 'succeeded' ? keys.success(s.jobId) : keys.failed(s.jobId);
  return d.store.write(d.settings.outputBucket, key, `${JSON.stringify(s, null, 2)}\n`, {
    contentType: JSON_TYPE,
    ifNoneMatch: true,
  });
}

async function hasMarker(d: BatchDeps, jobId: string, chunk: number): Promise<boolean> {
  for await (const _ of d.store.list(d.settings.outputBucket, keys.chunkPrefix(jobId, chunk))) return true;
  return false;
}

export async function listMarkers(d: BatchDeps, jobId: string): Promise<ChunkMarker[]> {
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
export async function finaliseIfComplete(
  d: BatchDeps,
  jobId: string,
  /** The job's chunk count when the caller knows it (a chunk message does): one listing answers "not yet". */
  chunks?: number,
  /** The caller's own chunk, whose marker it has just written. */
  self?: number,
): Promise<JobSummary | undefined> {
  let markers: ChunkMarker[] | undefined;
  if (chunks !== undefined) {
    // Probes first: a missing marker of the last or the first chunk means "not yet" for the price of
    // a listing of one key, where listing every marker after every chunk grows with the square of
    // the chunk count (B3). Never wrong: whichever chunk completes the job finds all the others.
    for (const probe of new Set([chunks - 1, 0])) {
      if (probe !== self && probe >= 0 && !(await hasMarker(d, jobId, probe))) return undefined;
    }
    markers = await listMarkers(d, jobId);
    if (progressOf(markers).done.size < chunks) return undefined;
  }
  const job = await readJob(d, jobId);
  if (!job || job.chunks === undefined || job.state === 'failed') return undefined;
  if (await readSummary(d, jobId)) return undefined;
  markers ??= await listMarkers(d, jobId);
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
