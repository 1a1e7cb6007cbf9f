/**
 * What a model was trained on: lineage and training statistics (feature quantiles, drift bins,
 * score and tensor-input distributions) that monitoring compares live traffic against.
 */
import * as z from 'zod';

const quantile = z.strictObject({ q: z.number().min(0).max(1), value: z.number() });

const numericStats = z.strictObject({
  mean: z.number(),
  std: z.number().min(0),
  min: z.number(),
  max: z.number(),
  quantiles: z
    .array(quantile)
    .min(2)
    .describe('Ascending quantiles of the training data, used as drift bins.'),
  bins: z
    .array(z.number().min(0).max(1))
    .optional()
    .describe(
      'Training fraction in each drift bin between the distinct quantile values: (-inf, v1], (v1, v2], ..., (vk, +inf). Exact where many rows share a value (integer features); derived from the quantiles when absent.',
    ),
  missingRate: z.number().min(0).max(1),
});

const categoricalStats = z.strictObject({
  frequencies: z.record(z.string(), z.number().min(0).max(1)),
  missingRate: z.number().min(0).max(1),
});

export const lineageSchema = z.strictObject({
  trainingDataHash: z.string().min(1).describe('Hash of the exact training data, e.g. sha256:<hex>.'),
  trainingCode: z.string().min(1).describe('Where the training code lives: a path, commit or URL.'),
  createdAt: z.iso.datetime({ offset: true }),
  algorithm: z.string().optional(),
  holdoutMetrics: z.record(z.string(), z.number()).default({}),
  notes: z.string().optional(),
});

export const trainingStatsSchema = z.strictObject({
  rows: z.number().int().min(1),
  features: z.record(z.string(), z.union([numericStats, categoricalStats])),
  score: numericStats
    .partial({ missingRate: true })
    .optional()
    .describe('Distribution of the model score on holdout data.'),
  inputs: z
    .record(
      z.string(),
      z.strictObject({
        mean: z.number(),
        std: z.number().min(0),
        min: z.number(),
        max: z.number(),
        shape: z
          .array(z.number().int().min(1))
          .optional()
          .describe(
            "One instance's shape in the sample, without the batch dimension: what npm run traffic sends for the input's dynamic dimensions.",
          ),
      }),
    )
    .optional()
    .describe(
      'Tensor inputs on training data, after pre-processing: by input name, "name[c]" for an image channel, or the text field for tokens per text. The dashboard shows live values against them.',
    ),
});
export type TrainingStats = z.infer<typeof trainingStatsSchema>;
