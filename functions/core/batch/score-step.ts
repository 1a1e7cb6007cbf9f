import { EndpointError } from '../endpoint/faults.ts';
import { messageOf, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.ts';
import { asciiJson, asciiText } from './ascii-json.ts';
import { ChunkMismatchError, scoreChunk } from './chunk.ts';
import { type BatchDeps, JSON_TYPE, now, type ScoreDeps } from './deps.ts';
import { type ChunkMessage, keys } from './job.ts';
import type { ChunkFailure } from './job-record.ts';
import { finaliseIfComplete } from './job-store.ts';
import { type Line, readLineBatches } from './lines.ts';
import { createRowDecoder, resultFormat } from './rows.ts';
import { createTabularEncoder } from './tabular-fast.ts';

/** The score step: one chunk message → its part and error files, and its marker. */

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
  d: ScoreDeps,
  msg: ChunkMessage,
  receiveCount: number,
): Promise<ChunkOutcome> {
  const s = d.settings;
  // Done before counted: SQS redelivers a whole batch when a neighbour fails or times out, so a
  // finished chunk can come back past its attempts; it is done, not failed.
  if (await chunkIsDone(d, msg)) {
    await finaliseIfComplete(d, msg.jobId, msg.chunks, msg.chunk);
    return 'already-done';
  }
  if (receiveCount > s.maxAttempts) {
    await deadLetter(
      d,
      msg,
      `the score function stopped without reporting (crash, out of memory or timeout) on ${receiveCount - 1} attempt(s); see its logs for job ${msg.jobId} chunk ${msg.chunk}`,
      receiveCount,
    );
    return 'dead-lettered';
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
    const matrix = d.matrixScorer?.(mv);
    const encoder = matrix
      ? createTabularEncoder(mv.manifest, msg.format, {
          ...(msg.columns ? { columns: msg.columns } : {}),
          ...(msg.idColumn ? { idColumn: msg.idColumn } : {}),
        })
      : undefined;
    const out = await scoreChunk({
      lines:
        msg.format === 'image' ? wholeFile(body, msg.start) : readLineBatches(body, { offset: msg.start }),
      firstRow: msg.firstRow,
      rows: msg.rows,
      headerLines: msg.headerLines,
      format: msg.format,
      decoder,
      manifest: mv.manifest,
      hasId: msg.idColumn !== undefined || msg.format === 'image',
      predict: (instances) => predict(mv, instances),
      ...(matrix && encoder ? { encoded: { encoder, predict: matrix } } : {}),
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
    if (out.scored > 0) await d.onScoredRows?.(mv, msg, out.predictions);
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
    const reason = messageOf(err);
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
  await finaliseIfComplete(d, msg.jobId, msg.chunks, msg.chunk);
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
  await finaliseIfComplete(d, msg.jobId, msg.chunks, msg.chunk);
}

/** An image file's bytes as the one "line" of its chunk, base64 text for the image row decoder. */
async function* wholeFile(body: AsyncIterable<Uint8Array>, start: number): AsyncGenerator<Line[]> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const b of body) {
    parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    size += b.length;
  }
  yield [{ start, end: start + size, text: Buffer.concat(parts, size).toString('base64') }];
}
