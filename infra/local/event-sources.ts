/**
 * The local event sources, doing what AWS does between a service and a function:
 * - S3 notifications: an upload becomes an S3 event, delivered to the split function as an
 *   asynchronous invocation (two retries on error, as Lambda does);
 * - the SQS event source mapping: pollers receive chunk messages in batches (batch size and
 *   batching window), invoke the score function, delete only the records it did not report as
 *   failed, and leave those to come back after the visibility timeout, until SQS's redrive policy
 *   moves them to the DLQ.
 * The functions invoked are the deployed handler modules.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { S3Event, SQSBatchResponse, SQSEvent, SQSMessageAttributes } from 'aws-lambda';
import { LOCAL_OWNER } from '#core/batch/owner.ts';
import type { UploadNotice } from './aws.ts';
import { lambdaContext } from './gateway.ts';

// biome-ignore lint/suspicious/noExplicitAny: Lambda handlers take (event, context) and return anything.
export type Handler = (event: any, context: any) => Promise<unknown>;

export function s3EventFor(n: UploadNotice, region: string): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: n.eventTime,
        eventName: n.eventName,
        userIdentity: { principalId: LOCAL_OWNER.id },
        requestParameters: { sourceIPAddress: n.sourceIp },
        responseElements: { 'x-amz-request-id': randomUUID(), 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'infera-batch-split',
          bucket: {
            name: n.bucket,
            ownerIdentity: { principalId: 'local' },
            arn: `arn:aws:s3:::${n.bucket}`,
          },
          // S3 URL-encodes keys in events, with '+' for spaces.
          object: {
            key: encodeURIComponent(n.key).replace(/%2F/g, '/').replace(/%20/g, '+'),
            size: n.size,
            eTag: n.eTag,
            sequencer: n.sequencer,
          },
        },
      },
    ],
  };
}

/**
 * The record Lambda sends an on-failure destination after the last attempt: the event, and the
 * last error as the function's response (errorType, errorMessage).
 */
export function failureRecordFor(name: string, event: unknown, err: unknown, attempts: number) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:local:000000000000:function:${name}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: e.name, errorMessage: e.message },
  };
}

/**
 * Lambda's asynchronous invocation: the caller does not wait; errors are retried twice, then the
 * event goes to the on-failure destination, if there is one.
 */
export function invokeAsync(
  name: string,
  handler: Handler,
  event: unknown,
  opts: {
    retries?: number;
    retryDelayMs?: number;
    log?: (line: string) => void;
    onFailure?: { name: string; handler: Handler };
  } = {},
): Promise<unknown> {
  const retries = opts.retries ?? 2;
  const run = async (attempt: number): Promise<unknown> => {
    try {
      return await handler(event, lambdaContext(name, 900_000));
    } catch (err) {
      opts.log?.(`${name} failed (attempt ${attempt + 1} of ${retries + 1}): ${(err as Error).message}`);
      if (attempt >= retries) {
        const dest = opts.onFailure;
        if (!dest) return undefined;
        try {
          return await dest.handler(
            failureRecordFor(name, event, err, attempt + 1),
            lambdaContext(dest.name, 30_000),
          );
        } catch (destErr) {
          opts.log?.(`${dest.name} (on-failure destination) failed: ${(destErr as Error).message}`);
          return undefined;
        }
      }
      await new Promise((r) => setTimeout(r, (opts.retryDelayMs ?? 1000) * (attempt + 1)));
      return run(attempt + 1);
    }
  };
  return run(0);
}

export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly functionName: string;
  readonly handler: Handler;
  /** Records per invocation, 1 to 10. */
  readonly batchSize?: number;
  /** How long to gather records before invoking with fewer than batchSize. */
  readonly batchingWindowMs?: number;
  /** Concurrent pollers, each invoking its own batches. */
  readonly pollers?: number;
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface EventSource {
  stop(): Promise<void>;
}

function toLambdaAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [k, v] of Object.entries(attrs ?? {})) {
    out[k] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return out;
}

export function sqsEventFor(messages: readonly Message[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp:
          m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: toLambdaAttributes(m.MessageAttributes),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}

export function startSqsEventSource(o: SqsEventSourceOptions): EventSource {
  const batchSize = Math.min(10, Math.max(1, o.batchSize ?? 10));
  const windowMs = o.batchingWindowMs ?? 200;
  let running = true;

  const receive = async (max: number, waitSeconds: number) =>
    (
      await o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: o.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];

  const poller = async () => {
    while (running) {
      let batch: Message[];
      try {
        batch = await receive(batchSize, 1);
        const until = Date.now() + windowMs;
        while (running && batch.length > 0 && batch.length < batchSize && Date.now() < until) {
          const more = await receive(batchSize - batch.length, 0);
          if (more.length === 0) await new Promise((r) => setTimeout(r, 20));
          batch.push(...more);
        }
      } catch (err) {
        if (running) o.log?.(`receive failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (batch.length === 0) continue;
      let failed = new Set(batch.map((m) => m.MessageId ?? ''));
      try {
        const res = (await o.handler(
          sqsEventFor(batch, o.queueArn, o.region),
          lambdaContext(o.functionName, o.timeoutMs ?? 900_000),
        )) as SQSBatchResponse | undefined;
        failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (err) {
        // A thrown error fails the whole batch: every record comes back after the visibility timeout.
        o.log?.(
          `${o.functionName} failed; ${batch.length} record(s) will be retried: ${(err as Error).message}`,
        );
      }
      const done = batch.filter((m) => !failed.has(m.MessageId ?? ''));
      if (done.length > 0) {
        try {
          await o.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: o.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        } catch (err) {
          o.log?.(`delete failed (the records will be redelivered): ${(err as Error).message}`);
        }
      }
    }
  };

  const loops = Array.from({ length: Math.max(1, o.pollers ?? 2) }, poller);
  return {
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
    },
  };
}
