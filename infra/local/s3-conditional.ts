/**
 * S3's conditional write, which fauxqs (2.4.1) does not implement: a PutObject with
 * `If-None-Match: *` succeeds only when the key is new, otherwise it is a 412 PreconditionFailed,
 * as S3 answers. Conditional writes to one key are serialised from the check until the answer, so
 * two racing writers cannot both land: the batch summary is written exactly once, as on AWS.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { buildApp } from 'fauxqs';

type Emulator = ReturnType<typeof buildApp>;
interface Request {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly params: unknown;
  readonly query: unknown;
}

const PRECONDITION_FAILED = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`;

/** The object a conditional PutObject targets, or undefined for any other request. */
function conditionalPut(request: Request): string | undefined {
  if (request.method !== 'PUT' || request.headers['if-none-match'] !== '*') return undefined;
  const params = request.params as { bucket?: string; '*'?: string } | undefined;
  const query = (request.query ?? {}) as Record<string, string>;
  if (!params?.bucket || !params['*'] || 'uploadId' in query || 'partNumber' in query) return undefined;
  return `${params.bucket}/${params['*']}`;
}

/** Adds If-None-Match to the emulator's PutObject. `s3` is read when a request arrives. */
export function addConditionalWrites(app: Emulator, s3: () => S3Client | undefined): void {
  const tails = new Map<string, Promise<void>>();
  const releases = new WeakMap<object, () => void>();

  app.addHook('onRequest', async (request, reply) => {
    const id = conditionalPut(request);
    const client = s3();
    if (!id || !client) return;
    const before = tails.get(id) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    tails.set(id, tail);
    void tail.then(() => {
      if (tails.get(id) === tail) tails.delete(id);
    });
    releases.set(request, release);
    await before;
    const [bucket, ...key] = id.split('/');
    const exists = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key.join('/') })).then(
      () => true,
      () => false,
    );
    if (exists) {
      release();
      return reply.code(412).header('content-type', 'application/xml').send(PRECONDITION_FAILED);
    }
  });
  const done = async (request: object) => releases.get(request)?.();
  app.addHook('onResponse', done);
  app.addHook('onRequestAbort', done);
}
