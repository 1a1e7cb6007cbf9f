import { S3ObjectStore, s3Client } from '#adapters/s3.ts';
import { SqsQueue, sqsClient } from '#adapters/sqs.ts';
import type { BatchDeps, Log, ScoreDeps } from '#core/batch/deps.ts';
import { decode } from '#core/protocol/codec.ts';
import { batchSettings, type Config } from './config.ts';
import { logger } from './observability.ts';
import { getPlatform, getRegistry } from './platform.ts';

/** The core's Log port over the Powertools logger. */
const log: Log = {
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
};

/**
 * Wires the batch core to AWS: S3 and SQS adapters (pointed at AWS_ENDPOINT_URL when set, the
 * local emulator), the registry, and the scorer for the function that scores.
 */
export async function batchDeps(
  config: Config,
  opts: { scoring: true },
): Promise<ScoreDeps & { s3: S3ObjectStore }>;
export async function batchDeps(
  config: Config,
  opts: { scoring: false },
): Promise<BatchDeps & { s3: S3ObjectStore }>;
export async function batchDeps(
  config: Config,
  opts: { scoring: boolean },
): Promise<(BatchDeps | ScoreDeps) & { s3: S3ObjectStore }> {
  const settings = batchSettings(config);
  const s3 = new S3ObjectStore(s3Client(config.AWS_ENDPOINT_URL));
  const queue = new SqsQueue(sqsClient(config.AWS_ENDPOINT_URL));
  if (!opts.scoring) {
    return { s3, store: s3, queue, registry: await getRegistry(config), settings, log };
  }
  const { registry, scorer } = await getPlatform(config);
  return {
    s3,
    store: s3,
    queue,
    registry,
    settings,
    log,
    // No fallback for batch: a chunk waits for its endpoint (SQS retries it) rather than mixing models.
    predict: async (mv, rows) =>
      (await scorer.run(mv, decode({ protocol: 'v1', rows }, mv.manifest), { allowFallback: false }))
        .predictions,
    matrixScorer: (mv) => scorer.matrixScorer(mv),
    // A batch row's id joins labels as a request id does: the file's id column, else <job>#<row>.
    onScoredRows: async (mv, { jobId, chunk }, rows) => {
      // Loaded by the score function's first chunk, not by the split and API functions at all.
      const quality = (await import('./quality.ts')).getQuality(config);
      if (!quality.logs(mv)) return;
      const scored = rows();
      await quality.predictions(
        mv,
        `batch-${jobId}-${chunk}`,
        'batch',
        undefined,
        scored.map((r) => r.p),
        scored.map((r) => r.id ?? `${jobId}#${r.row}`),
        { must: true },
      );
    },
  };
}
