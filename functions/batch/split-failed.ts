import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import type { BatchDeps } from '#core/batch/deps.ts';
import { type SplitOutcome, splitFailed } from '#core/batch/split-step.ts';
import { batchDeps } from '#runtime/batch.ts';
import { loadConfig } from '#runtime/config.ts';
import { logger, metrics } from '#runtime/observability.ts';
import { isSplitEvent, uploadsIn } from './s3-events.ts';

/**
 * What Lambda sends an on-failure destination after the last attempt of an asynchronous
 * invocation: the original event and the error of the last attempt. Only what is used is checked.
 */
export const failureRecordSchema = z.looseObject({
  requestContext: z.looseObject({ approximateInvokeCount: z.number().optional() }).optional(),
  requestPayload: z.looseObject({}),
  responsePayload: z
    .looseObject({ errorType: z.string().optional(), errorMessage: z.string().optional() })
    .nullish(),
});
export type SplitFailureRecord = z.infer<typeof failureRecordSchema>;

/**
 * The split function's on-failure destination: every upload in an event the split step could not
 * handle after its retries ends as a failed job, with the last error as its reason, so
 * `GET /v1/batch/{id}` and `infera batch status --wait` end instead of waiting on "splitting".
 */
export function createSplitFailedHandler(deps: BatchDeps) {
  return middy<unknown, SplitOutcome[]>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event) => {
      const parsed = failureRecordSchema.safeParse(event);
      if (!parsed.success) {
        logger.error('not an on-failure destination record; nothing to mark failed', {
          issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
        });
        return [];
      }
      const { requestPayload, responsePayload, requestContext } = parsed.data;
      const error = responsePayload?.errorMessage
        ? `${responsePayload.errorType ?? 'Error'}: ${responsePayload.errorMessage}`
        : 'no error message';
      const outcomes: SplitOutcome[] = [];
      for (const upload of isSplitEvent(requestPayload) ? uploadsIn(requestPayload) : []) {
        const outcome = await splitFailed(deps, upload, error);
        logger.warn('batch split failed on every attempt', {
          attempts: requestContext?.approximateInvokeCount,
          errorType: responsePayload?.errorType,
          ...('jobId' in outcome ? { jobId: outcome.jobId } : {}),
          outcome: outcome.outcome,
        });
        metrics.addMetric('BatchSplitFailures', MetricUnit.Count, 1);
        outcomes.push(outcome);
      }
      return outcomes;
    });
}

export const handler = createSplitFailedHandler(await batchDeps(loadConfig(), { scoring: false }));
