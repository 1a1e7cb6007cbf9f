import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { S3ObjectStore, s3Client } from '#adapters/s3.ts';
import { parseCaptureTarget } from '#core/monitoring/capture.ts';
import { parseQualityModels } from '#core/quality/models-env.ts';
import { loadConfig } from '#runtime/config.ts';
import { sinksFor } from '#runtime/monitoring.ts';
import { logger, traceInvocations } from '#runtime/observability.ts';
import { getQuality } from '#runtime/quality.ts';
import { evaluateAll, ingestUploads } from '#runtime/quality-jobs.ts';
import { isSplitEvent, uploadsIn } from '../batch/s3-events.ts';

/**
 * The quality function: an S3 upload under ground-truth/ is ingested; anything else (the
 * EventBridge schedule) runs one evaluation round with Athena.
 */
const config = loadConfig();
const store = new S3ObjectStore(s3Client(config.AWS_ENDPOINT_URL));
const quality = getQuality(config);
const models = parseQualityModels(config.QUALITY_MODELS);

export const handler = middy<unknown, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(traceInvocations({ captureResponse: false }))
  .handler(async (event: unknown, context: Context) => {
    const deps = { store, quality, models };
    if (isSplitEvent(event)) return { ingested: (await ingestUploads(deps, uploadsIn(event))).length };
    const target = parseCaptureTarget(config.QUALITY_DESTINATION ?? '');
    if (target.kind !== 's3' || !config.QUALITY_ATHENA_WORKGROUP || !config.QUALITY_ATHENA_DATABASE)
      throw new Error(
        'QUALITY_DESTINATION (s3://...), QUALITY_ATHENA_WORKGROUP and QUALITY_ATHENA_DATABASE are required; the CDK stack sets them',
      );
    const { AthenaClient } = await import('@aws-sdk/client-athena');
    const { AthenaQualityEngine } = await import('#adapters/quality/athena.ts');
    const engine = new AthenaQualityEngine({
      client: new AthenaClient({}),
      workgroup: config.QUALITY_ATHENA_WORKGROUP,
      database: config.QUALITY_ATHENA_DATABASE,
      // Leave 10 s to write the reports after the last query.
      deadline: () => Date.now() + context.getRemainingTimeInMillis() - 10_000,
    });
    const events = await evaluateAll(
      { ...deps, engine, bucket: target.bucket, prefix: target.prefix },
      await sinksFor(config),
    );
    return { models: models.size, events };
  });
