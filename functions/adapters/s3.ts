import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { fieldOf, PreconditionFailedError } from '#core/errors.ts';
import type { ObjectInfo, ObjectStore, ReadOptions, UrlSigner } from '#core/ports.ts';

/**
 * S3 behind the ObjectStore and UrlSigner ports. The same code talks to AWS and to the local
 * emulator; only the endpoint differs (AWS_ENDPOINT_URL, path-style addressing locally).
 */
export function s3Client(endpoint?: string): S3Client {
  return new S3Client({
    // Otherwise presigned PUT URLs carry the CRC32 of an empty body, and S3 rejects real uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

const status = (err: unknown) => fieldOf(fieldOf(err, '$metadata'), 'httpStatusCode');

function isMissing(err: unknown): boolean {
  const name = fieldOf(err, 'name');
  return name === 'NoSuchKey' || name === 'NotFound' || status(err) === 404;
}

/** Every page of a ListObjectsV2 listing. */
async function* pages(
  client: S3Client,
  bucket: string,
  prefix: string,
  delimiter?: string,
): AsyncGenerator<ListObjectsV2CommandOutput> {
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    yield r;
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
}

export class S3ObjectStore implements ObjectStore, UrlSigner {
  readonly client: S3Client;

  constructor(client: S3Client) {
    this.client = client;
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: r.ETag ?? '', bytes: r.ContentLength ?? 0, metadata: r.Metadata ?? {} };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async read(bucket: string, key: string, opts: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const range =
      opts.start !== undefined || opts.end !== undefined
        ? `bytes=${opts.start ?? 0}-${opts.end !== undefined ? opts.end - 1 : ''}`
        : undefined;
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(range ? { Range: range } : {}),
          ...(opts.ifMatch ? { IfMatch: opts.ifMatch } : {}),
        }),
      );
      return r.Body as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (status(err) === 412) {
        throw new PreconditionFailedError(
          `s3://${bucket}/${key} changed after the job started (its ETag is no longer ${opts.ifMatch}); upload it again to score the new content`,
        );
      }
      throw err;
    }
  }

  async readText(bucket: string, key: string): Promise<string | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await (r.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(
    bucket: string,
    key: string,
    body: string | Uint8Array,
    opts: { contentType?: string; ifNoneMatch?: boolean } = {},
  ): Promise<'written' | 'exists'> {
    // Encoded once: the length, the signature and the socket all read these bytes.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          // Given, so an empty body is not taken for a stream of unknown length.
          ContentLength: bytes.length,
          ContentType: opts.contentType ?? 'application/octet-stream',
          ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return 'written';
    } catch (err) {
      if (opts.ifNoneMatch && (status(err) === 412 || status(err) === 409)) return 'exists';
      throw err;
    }
  }

  async *list(bucket: string, prefix: string): AsyncIterable<{ key: string; bytes: number }> {
    for await (const r of pages(this.client, bucket, prefix)) {
      for (const o of r.Contents ?? []) if (o.Key) yield { key: o.Key, bytes: o.Size ?? 0 };
    }
  }

  async listPrefixes(bucket: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const r of pages(this.client, bucket, prefix, '/')) {
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
    }
    return out;
  }

  putUrl(bucket: string, key: string, expiresIn: number): Promise<string> {
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
  }

  getUrl(bucket: string, key: string, expiresIn: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
  }

  async createMultipartUpload(bucket: string, key: string): Promise<string> {
    const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    if (!r.UploadId) throw new Error(`S3 returned no UploadId for s3://${bucket}/${key}`);
    return r.UploadId;
  }

  partUrl(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    expiresIn: number,
  ): Promise<string> {
    return getSignedUrl(
      this.client,
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn },
    );
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; etag: string }[],
  ): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
  }
}
