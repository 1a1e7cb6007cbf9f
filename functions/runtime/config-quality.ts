/** The settings of labelled quality: where its log goes, how it is sampled and judged. */
import * as z from 'zod';

export const QUALITY_CONFIG = {
  QUALITY_DESTINATION: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Where the quality log goes (ids and predictions of models with a manifest quality section, and their labels): s3://bucket/prefix on AWS, a folder locally (npm start: .infera/state/quality). Unset: off.',
    ),
  QUALITY_SAMPLE_RATE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe(
      'Share of answered requests whose row ids and predictions go to the quality log. Labels for the others are counted as unmatched.',
    ),
  QUALITY_FLUSH_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(1000)
    .describe(
      'S3 quality log: prediction lines are gathered for this long per model, hour and version, then written as one object by the request that finds them due (0: one object per request). A folder log appends at once.',
    ),
  QUALITY_REPORT_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(2000)
    .describe('Locally: how long a computed quality report is reused before the join runs again.'),
  QUALITY_EVALUATE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(60)
    .describe(
      'Locally: how often every model with quality alarms is judged and its events sent (0: only when asked). On AWS a schedule runs the quality function.',
    ),
  QUALITY_ATHENA_WORKGROUP: z
    .string()
    .min(1)
    .optional()
    .describe('The quality function: the Athena workgroup the join runs in. The CDK stack sets it.'),
  QUALITY_ATHENA_DATABASE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The quality function: the Glue database holding the predictions and labels tables. The CDK stack sets it.',
    ),
  QUALITY_MODELS: z
    .string()
    .min(2)
    .optional()
    .describe(
      "The quality function: JSON of each judged model's task and quality section, written by the CDK stack from the manifests.",
    ),
};
