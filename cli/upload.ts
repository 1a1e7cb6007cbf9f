/**
 * Puts a file where a batch upload ticket says: one presigned PUT, or presigned part PUTs (four
 * at a time, streamed from disk, never the whole file in memory) whose ETags complete the
 * multipart upload. Used by `infera batch submit`, and by the tests and benchmarks that upload as
 * a client would.
 */
import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { CliError } from './common.ts';

/** What POST /v1/batch answers, as far as uploading goes. */
export interface UploadTicket {
  readonly jobId: string;
  readonly key: string;
  readonly upload?: { readonly url: string };
  readonly multipart?: {
    readonly uploadId: string;
    readonly partBytes: number;
    readonly parts: readonly { readonly partNumber: number; readonly url: string }[];
  };
  readonly completeUrl?: string;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/**
 * Uploads `file` (`size` bytes, sent as `contentType`) to the ticket's URLs. Returns the parts in
 * order for a multipart ticket (POST them to complete it), none for a single PUT. `onBytes` is
 * told the running total.
 */
export async function uploadToTicket(
  ticket: UploadTicket,
  file: string,
  size: number,
  contentType: string,
  onBytes: (sent: number) => void = () => {},
): Promise<UploadedPart[]> {
  let sent = 0;
  const counting = () =>
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        onBytes(sent);
        cb(null, chunk);
      },
    });
  const put = async (url: string, start: number, end: number): Promise<string> => {
    const body = Readable.toWeb(
      createReadStream(file, { start, end: end - 1 }).pipe(counting()),
    ) as ReadableStream;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'PUT',
        body,
        headers: { 'content-length': String(end - start), 'content-type': contentType },
        duplex: 'half',
      } as RequestInit);
    } catch (err) {
      throw new CliError(
        `Upload to S3 failed: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`,
      );
    }
    if (!res.ok) {
      throw new CliError(`Upload to S3 failed: ${res.status} ${res.statusText}`, [
        (await res.text()).slice(0, 300),
      ]);
    }
    return res.headers.get('etag') ?? '';
  };
  if (ticket.upload) {
    await put(ticket.upload.url, 0, size);
    return [];
  }
  if (!ticket.multipart) throw new CliError('The upload ticket has neither an upload nor multipart URLs.');
  const { partBytes, parts } = ticket.multipart;
  const etags: UploadedPart[] = [];
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const p = parts[next++] as { partNumber: number; url: string };
      const start = (p.partNumber - 1) * partBytes;
      etags.push({
        partNumber: p.partNumber,
        etag: await put(p.url, start, Math.min(size, start + partBytes)),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, parts.length) }, worker));
  return etags.sort((a, b) => a.partNumber - b.partNumber);
}
