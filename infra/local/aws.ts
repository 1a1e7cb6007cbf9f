/**
 * The local AWS: an embedded S3 + SQS emulator (fauxqs) speaking the real wire protocols on
 * 127.0.0.1, with the platform's buckets and queues created through the AWS SDK, as a deployment
 * would. fauxqs has no bucket notifications, so this also reports every completed upload to the
 * input bucket (PutObject, CompleteMultipartUpload, CopyObject): the local S3 event source uses it.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { GROUND_TRUTH_PREFIX } from '#core/quality/ingest.ts';
import { answerClientErrors } from '#http/client-errors.ts';
import { foreignRequest, GUARDED_SERVER, type GuardOptions } from '#http/guard.ts';
import { batchEnvironment } from '#runtime/config.ts';
import { persistentStores } from './fauxqs-state.ts';
import { addConditionalWrites } from './s3-conditional.ts';
import type { S3Repairs } from './s3-files.ts';

export interface LocalAwsNames {
  readonly inputBucket: string;
  readonly outputBucket: string;
  readonly queue: string;
  readonly dlq: string;
  /** Ground-truth uploads (ground-truth/<model>/...) and their results. */
  readonly qualityBucket: string;
}

export const DEFAULT_NAMES: LocalAwsNames = {
  inputBucket: 'infera-batch-input',
  outputBucket: 'infera-batch-output',
  queue: 'infera-batch-chunks',
  dlq: 'infera-batch-chunks-dlq',
  qualityBucket: 'infera-quality',
};

export interface UploadNotice {
  readonly eventName: 'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectCreated:Copy';
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
  readonly sequencer: string;
  readonly eventTime: string;
  readonly sourceIp: string;
}

export interface LocalAws {
  readonly endpoint: string;
  readonly region: string;
  readonly names: LocalAwsNames;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** What the start found a crash had left in the persisted S3 folder, and put right. */
  readonly repairs: S3Repairs;
  /** Called for every completed upload to the input bucket, and to ground-truth/ in the quality bucket. */
  onUpload(listener: (n: UploadNotice) => void): void;
  /** Announces an input object again, e.g. one whose split a crash interrupted. */
  replay(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalAwsOptions {
  readonly port?: number;
  readonly host?: string;
  /** Browser origins admitted on purpose (npm start --allow-origin). */
  readonly guard?: GuardOptions;
  readonly names?: LocalAwsNames;
  /** Queue visibility timeout, seconds: how long a failed chunk waits before it is retried. */
  readonly visibilityTimeout?: number;
  /** Receives before SQS moves a message to the DLQ (the backstop behind the worker's own limit). */
  readonly maxReceiveCount?: number;
  /**
   * Keep S3 and SQS on disk here (S3 objects as files under s3/, queues and messages in SQLite
   * under sqs/), so uploads, results, jobs and in-flight chunks survive a crash or a restart.
   * Without it everything lives in memory.
   */
  readonly stateDir?: string;
}

export const REGION = 'us-east-1';

/**
 * The environment the batch handlers need to reach this emulator: the endpoint, dummy credentials
 * and the resource names. Nothing else differs from a deployment.
 */
export function handlerEnv(aws: LocalAws): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...batchEnvironment({
      inputBucket: aws.names.inputBucket,
      outputBucket: aws.names.outputBucket,
      queueUrl: aws.queueUrl,
      dlqUrl: aws.dlqUrl,
    }),
  };
}

/**
 * Errors fauxqs does not answer itself reach Fastify's default handler, which made a malformed
 * body a 500 quoting the body back. Answer them as AWS would: a 400 naming the problem, in the
 * protocol's own error shape (SQS JSON, or S3 XML), echoing nothing the client sent.
 */
function emulatorErrors(
  err: Error & { statusCode?: number },
  request: { headers: Record<string, string | string[] | undefined> },
  reply: {
    code(n: number): { header(k: string, v: string): { send(b: string): unknown } };
  },
): unknown {
  const json = String(request.headers['content-type'] ?? '').includes('x-amz-json');
  let status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  let code = 'InternalError';
  let message = `The emulator failed on this request (${err.name}).`;
  if (status < 500) {
    code = 'InvalidRequest';
    message = err.message;
  } else if (err instanceof SyntaxError) {
    status = 400;
    code = json ? 'SerializationException' : 'MalformedXML';
    message = json ? 'The request body is not valid JSON.' : 'The request body is not well-formed.';
  } else if (err instanceof TypeError) {
    status = 400;
    code = 'InvalidRequest';
    message = 'The request does not have the parts this operation needs (body, parameters or headers).';
  }
  if (json) {
    return reply
      .code(status)
      .header('content-type', 'application/x-amz-json-1.0')
      .send(JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message }));
  }
  const xml = message.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return reply
    .code(status)
    .header('content-type', 'application/xml')
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml}</Message></Error>`,
    );
}

export async function startLocalAws(opts: LocalAwsOptions = {}): Promise<LocalAws> {
  const names = opts.names ?? DEFAULT_NAMES;
  const host = opts.host ?? '127.0.0.1';
  if (opts.stateDir) {
    mkdirSync(join(opts.stateDir, 'sqs'), { recursive: true });
    mkdirSync(join(opts.stateDir, 's3'), { recursive: true });
  }
  const persisted = opts.stateDir
    ? await persistentStores(join(opts.stateDir, 'sqs'), join(opts.stateDir, 's3'))
    : undefined;
  const app = buildApp({
    logger: false,
    defaultRegion: REGION,
    ...(persisted ? { stores: persisted.stores as never } : {}),
  });
  if (persisted) app.addHook('preClose', async () => persisted.close());
  app.setErrorHandler(emulatorErrors);
  // Fastify answers a request line Node cannot parse with a 400 but no "Connection: close", then
  // drops the socket, so a keep-alive client sends its next request into a closed socket. Answer
  // as the other listeners do: the error, then the socket closed, and said so.
  app.server.removeAllListeners('clientError');
  answerClientErrors(app.server);
  // As GUARDED_SERVER: a request without Host reaches the guard below, which answers it in JSON.
  // Fastify made the server; Node reads the option from the server object (not in its types).
  Object.assign(app.server, GUARDED_SERVER);
  const listeners: ((n: UploadNotice) => void)[] = [];
  let sequence = 0;
  let s3: S3Client | undefined;

  // No web page may reach the emulator: same Host and Origin rules as the gateway (guard.ts).
  app.addHook('onRequest', async (request, reply) => {
    const foreign = foreignRequest(request.raw, host, opts.guard);
    if (foreign)
      await reply
        .code(foreign.status)
        .header('content-type', 'application/json')
        .send({ error: foreign.error, code: foreign.status === 400 ? 'bad_request' : 'forbidden' });
  });

  addConditionalWrites(app, () => s3);

  // S3 event notifications: fauxqs does not implement them, so watch completed writes instead.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 200 || !s3) return;
    const params = request.params as { bucket?: string; '*'?: string } | undefined;
    const bucket = params?.bucket;
    const key = params?.['*'];
    const watched =
      bucket === names.inputBucket ||
      (bucket === names.qualityBucket && key?.startsWith(GROUND_TRUTH_PREFIX));
    if (!watched || !key) return;
    const query = (request.query ?? {}) as Record<string, string>;
    let eventName: UploadNotice['eventName'];
    if (request.method === 'PUT' && !('uploadId' in query) && !('partNumber' in query)) {
      eventName = request.headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put';
    } else if (request.method === 'POST' && 'uploadId' in query) {
      eventName = 'ObjectCreated:CompleteMultipartUpload';
    } else return;
    await notify(eventName, bucket, key, request.ip);
  });

  /** Tells the listeners about an object in the input bucket, as S3's ObjectCreated event would. */
  const notify = async (
    eventName: UploadNotice['eventName'],
    bucket: string,
    key: string,
    sourceIp: string,
  ) => {
    if (!s3) return;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      sequence++;
      const notice: UploadNotice = {
        eventName,
        bucket,
        key,
        size: head.ContentLength ?? 0,
        eTag: (head.ETag ?? '').replace(/"/g, ''),
        sequencer: `${Date.now().toString(16).toUpperCase()}${sequence.toString(16).padStart(8, '0').toUpperCase()}`,
        eventTime: new Date().toISOString(),
        sourceIp,
      };
      for (const l of listeners) l(notice);
    } catch (err) {
      console.error(`[s3] could not read back s3://${bucket}/${key} after upload: ${(err as Error).message}`);
    }
  };

  await app.listen({ port: opts.port ?? 4566, host });
  const port = (app.server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  s3 = new S3Client({ endpoint, region: REGION, credentials, forcePathStyle: true });
  const sqs = new SQSClient({ endpoint, region: REGION, credentials });

  for (const b of [names.inputBucket, names.outputBucket, names.qualityBucket]) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: b }));
    } catch (err) {
      // Kept from a previous run (stateDir): the bucket is already there, as it should be.
      if (!/BucketAlready(OwnedByYou|Exists)/.test((err as Error).name)) throw err;
    }
  }
  // Created, or kept from a previous run (stateDir) and given this run's attributes.
  const ensureQueue = async (QueueName: string, Attributes: Record<string, string>) => {
    try {
      return await sqs.send(new CreateQueueCommand({ QueueName, Attributes }));
    } catch (err) {
      if (!/QueueNameExists|QueueAlreadyExists/.test((err as Error).name)) throw err;
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName }));
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes }));
      return { QueueUrl };
    }
  };
  const dlq = await ensureQueue(names.dlq, { MessageRetentionPeriod: String(14 * 24 * 3600) });
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn as string;
  const q = await ensureQueue(names.queue, {
    VisibilityTimeout: String(opts.visibilityTimeout ?? 30),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: String(opts.maxReceiveCount ?? 5),
    }),
  });
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn as string;
  // fauxqs names queues sqs.<region>.localhost; the path is what identifies them, so use the endpoint's host.
  const local = (name: string) => `${endpoint}/000000000000/${name}`;

  return {
    endpoint,
    region: REGION,
    names,
    queueUrl: local(names.queue),
    queueArn,
    repairs: persisted?.repairs ?? { damaged: [], removed: 0 },
    dlqUrl: local(names.dlq),
    dlqArn,
    s3,
    sqs,
    onUpload: (l) => listeners.push(l),
    replay: (key) => notify('ObjectCreated:Put', names.inputBucket, key, '127.0.0.1'),
    close: async () => {
      s3?.destroy();
      sqs.destroy();
      await app.close();
    },
  };
}
