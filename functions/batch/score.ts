import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ScoreDeps } from '#core/batch/deps.ts';
import { CHUNKS_IN_FLIGHT, inFlight } from '#core/batch/in-flight.ts';
import { chunkMessageSchema } from '#core/batch/job.ts';
import { processChunk } from '#core/batch/score-step.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { batchDeps } from '#runtime/batch.ts';
import { loadConfig } from '#runtime/config.ts';
import { logger, metrics, traceInvocations } from '#runtime/observability.ts';

/**
 * The score function: SQS chunk messages in, parts and error files out. Powertools' BatchProcessor
 * reports failed records individually (ReportBatchItemFailures), so one bad chunk never makes the
 * others run again. Two records run at a time (CHUNKS_IN_FLIGHT): one chunk decodes and scores while
 * the other's results are written, and at most two chunks' rows are in memory. Log lines name their
 * job and chunk themselves, since two records share the logger.
 */

export function createScoreHandler(deps: ScoreDeps) {
  const processor = new BatchProcessor(EventType.SQS);
  const slot = inFlight(CHUNKS_IN_FLIGHT);

  const record = async (r: SQSRecord): Promise<string> => {
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      body = undefined;
    }
    const parsed = chunkMessageSchema.safeParse(body, { reportInput: true });
    if (!parsed.success) {
      // Not a chunk message: no job to update. Park it in the DLQ with the reason rather than loop on it.
      const reason = `not a chunk message: ${body === undefined ? 'the body is not JSON' : formatIssues(parsed.error).join('; ')}`;
      await deps.queue.send(deps.settings.dlqUrl, r.body, { reason: reason.slice(0, 1000) });
      logger.error('malformed message dead-lettered', { messageId: r.messageId, reason });
      metrics.addMetric('BatchChunksDeadLettered', MetricUnit.Count, 1);
      return 'dead-lettered';
    }
    const msg = parsed.data;
    const attempt = Number(r.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const outcome = await slot(() => processChunk(deps, msg, attempt));
    if (outcome === 'scored') metrics.addMetric('BatchChunksScored', MetricUnit.Count, 1);
    if (outcome === 'dead-lettered') metrics.addMetric('BatchChunksDeadLettered', MetricUnit.Count, 1);
    return outcome;
  };

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(traceInvocations({ captureResponse: false }))
    .use(logMetrics(metrics))
    .handler(async (event, context) =>
      processPartialResponse(event, record, processor, { context, processInParallel: true }),
    );
}

export const handler = createScoreHandler({
  ...(await batchDeps(loadConfig(), { scoring: true })),
  onChunkScored: ({ scored, rejected }) => {
    metrics.addMetric('BatchRowsScored', MetricUnit.Count, scored);
    metrics.addMetric('BatchRowsRejected', MetricUnit.Count, rejected);
  },
});
