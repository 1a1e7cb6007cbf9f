/** A manifest's `quality` section: how labels that arrive later are joined and judged. */
import * as z from 'zod';
import { FEATURE_NAME } from './names.ts';

/** The figures an alarm can watch: the first three must stay at or above, the last two at or below. */
export const QUALITY_FLOORS = ['accuracy', 'f1', 'auc'] as const;
export const QUALITY_CEILINGS = ['mae', 'rmse'] as const;
export type QualityFigure = (typeof QUALITY_FLOORS)[number] | (typeof QUALITY_CEILINGS)[number];
export const QUALITY_FIGURES = [...QUALITY_FLOORS, ...QUALITY_CEILINGS] as const;

/** Whether a figure alarms above its threshold (an error) rather than below it (a score). */
export const isCeiling = (f: QualityFigure): boolean => QUALITY_CEILINGS.some((c) => c === f);

const unit = z.number().min(0).max(1);
const positive = z.number().gt(0).max(1e15);

export const qualitySchema = z
  .strictObject({
    idField: z
      .string()
      .regex(FEATURE_NAME, 'must be a field name such as "transaction_id"')
      .optional()
      .describe(
        "An instance field that carries the caller's own id for the row: labels name it instead of the request id. It is not a feature and is not scored.",
      ),
    positiveLabel: z
      .string()
      .min(1)
      .optional()
      .describe('Binary classification: the label AUC and F1 are computed for; default the second label.'),
    minLabels: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe('Labelled predictions a version needs before an alarm judges it.'),
    windowHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24)
      .describe('Predictions made in the last N hours are joined to their labels.'),
    alarms: z
      .strictObject({
        accuracy: unit.optional().describe('Alarm when accuracy falls below this.'),
        f1: unit
          .optional()
          .describe('Alarm when F1 (binary: of the positive label; else macro) falls below this.'),
        auc: unit.optional().describe('Binary classification: alarm when AUC falls below this.'),
        mae: positive.optional().describe('Regression: alarm when the mean absolute error rises above this.'),
        rmse: positive
          .optional()
          .describe('Regression: alarm when the root mean squared error rises above this.'),
      })
      .default({})
      .describe('Thresholds on labelled quality; a release in canary is rolled back when one is crossed.'),
  })
  .describe('Model quality from ground truth: labels sent later, joined to the predictions by id.');

export type QualitySpec = z.output<typeof qualitySchema>;
