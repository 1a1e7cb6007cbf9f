import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { BatchDeps } from '#core/batch/deps.ts';
import { type SplitOutcome, splitUpload } from '#core/batch/split-step.ts';
import { batchDeps } from '#runtime/batch.ts';
import { loadConfig } from '#runtime/config.ts';
import { logger, metrics, traceInvocations } from '#runtime/observability.ts';
import { isTestEvent, type SplitEvent, uploadsIn } from './s3-events.ts';

/**
 * The split function: an S3 upload event becomes a job record and one SQS message per chunk.
 * S3 delivers at least once; splitUpload makes a repeated notification a no-op.
 */
export function createSplitHandler(deps: BatchDeps) {
  return middy<SplitEvent, SplitOutcome[]>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(traceInvocations({ captureResponse: false }))
    .use(logMetrics(metrics))
    .handler(async (event) => {
      if (isTestEvent(event)) {
        logger.info('s3:TestEvent received; nothing to do', { bucket: event.Bucket });
        return [];
      }
      const outcomes: SplitOutcome[] = [];
      for (const upload of uploadsIn(event)) {
        const outcome = await splitUpload(deps, upload);
        if (outcome.outcome === 'skipped') {
          logger.warn('upload skipped', { key: upload.key, reason: outcome.reason });
        }
        metrics.addMetric(`BatchJobs_${outcome.outcome}`, MetricUnit.Count, 1);
        outcomes.push(outcome);
      }
      return outcomes;
    });
}

export const handler = createSplitHandler(await batchDeps(loadConfig(), { scoring: false }));
