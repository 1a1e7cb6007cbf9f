import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { type BatchDeps, type SplitOutcome, splitUpload } from '#core/batch/service.ts';
import { batchDeps } from '#shared/batch.ts';
import { loadConfig } from '#shared/config.ts';
import { logger, metrics, tracer } from '#shared/observability.ts';

/** What S3 sends once when a notification configuration is saved. It names no object. */
interface S3TestEvent {
  readonly Service: string;
  readonly Event: 's3:TestEvent';
  readonly Bucket: string;
}

export type SplitEvent = S3Event | S3TestEvent;

function isTestEvent(e: SplitEvent): e is S3TestEvent {
  return (e as S3TestEvent).Event === 's3:TestEvent';
}

/** S3 writes object keys in events URL-encoded, with '+' for spaces. */
export function eventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/**
 * The split function: an S3 upload event becomes a job record and one SQS message per chunk.
 * S3 delivers at least once; splitUpload makes a repeated notification a no-op.
 */
export function createSplitHandler(deps: BatchDeps) {
  return middy<SplitEvent, SplitOutcome[]>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(logMetrics(metrics))
    .handler(async (event) => {
      if (isTestEvent(event)) {
        logger.info('s3:TestEvent received; nothing to do', { bucket: event.Bucket });
        return [];
      }
      const outcomes: SplitOutcome[] = [];
      for (const r of event.Records ?? []) {
        if (!r.eventName?.startsWith('ObjectCreated:')) continue;
        const key = eventKey(r.s3.object.key);
        if (key.endsWith('/')) continue;
        const outcome = await splitUpload(deps, {
          bucket: r.s3.bucket.name,
          key,
          ...(r.s3.object.eTag ? { etag: r.s3.object.eTag } : {}),
          ...(r.s3.object.sequencer ? { sequencer: r.s3.object.sequencer } : {}),
          ...(r.eventTime ? { eventTime: r.eventTime } : {}),
        });
        if (outcome.outcome === 'skipped') logger.warn('upload skipped', { key, reason: outcome.reason });
        metrics.addMetric(`BatchJobs_${outcome.outcome}`, MetricUnit.Count, 1);
        outcomes.push(outcome);
      }
      return outcomes;
    });
}

export const handler = createSplitHandler(await batchDeps(loadConfig(), { scoring: false }));
