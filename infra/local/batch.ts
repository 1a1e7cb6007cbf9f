import type { LocalAws } from './aws.ts';
import {
  type EventSource,
  type Handler,
  invokeAsync,
  s3EventFor,
  startSqsEventSource,
} from './event-sources.ts';
import { printable } from './log-safe.ts';

export interface LocalBatchOptions {
  readonly aws: LocalAws;
  readonly split: Handler;
  /** The split function's on-failure destination. */
  readonly splitFailed: Handler;
  readonly score: Handler;
  readonly batchSize?: number;
  readonly batchingWindowMs?: number;
  readonly pollers?: number;
  readonly log?: (line: string) => void;
}

export interface LocalBatch {
  /** Resolves when every split invocation started so far has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wires the batch functions to the local AWS as the CDK stack wires them on AWS: uploads to the
 * input bucket invoke the split function (whose last failed attempt goes to the split-failed
 * function); the chunk queue feeds the score function.
 */
export function startLocalBatch(o: LocalBatchOptions): LocalBatch {
  const inflight = new Set<Promise<unknown>>();
  o.aws.onUpload((n) => {
    if (n.bucket !== o.aws.names.inputBucket) return;
    o.log?.(`[s3] ${n.eventName} s3://${n.bucket}/${printable(n.key)} (${n.size} bytes) -> split`);
    const p = invokeAsync('batch-split', o.split, s3EventFor(n, o.aws.region), {
      onFailure: { name: 'batch-split-failed', handler: o.splitFailed },
      ...(o.log ? { log: o.log } : {}),
    }).finally(() => inflight.delete(p));
    inflight.add(p);
  });
  const source: EventSource = startSqsEventSource({
    sqs: o.aws.sqs,
    queueUrl: o.aws.queueUrl,
    queueArn: o.aws.queueArn,
    region: o.aws.region,
    functionName: 'batch-score',
    handler: o.score,
    batchSize: o.batchSize ?? 10,
    batchingWindowMs: o.batchingWindowMs ?? 200,
    pollers: o.pollers ?? 2,
    ...(o.log ? { log: o.log } : {}),
  });
  return {
    idle: async () => {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    stop: async () => {
      await source.stop();
      await Promise.allSettled([...inflight]);
    },
  };
}
