/** GET /v1/models/{model}/quality and the quality event: their shapes, from one schema each. */
import * as z from 'zod';

const figure = z.number().nullable();

export const qualityEventSchema = z
  .object({
    type: z.literal('infera.quality'),
    state: z
      .enum(['alarm', 'ok'])
      .describe('"alarm" when a figure crosses its threshold; "ok" once it is back.'),
    model: z.string(),
    version: z.string(),
    figure: z.enum(['accuracy', 'f1', 'auc', 'mae', 'rmse']),
    value: z.number(),
    threshold: z.number(),
    labelled: z.number().int().describe('Labelled predictions the figure is computed from.'),
    windowHours: z.number(),
    time: z.string(),
  })
  .meta({ id: 'QualityEvent' });
export type QualityEvent = z.infer<typeof qualityEventSchema>;

const perLabelSchema = z.object({
  label: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int().describe('Labelled predictions whose true label is this one.'),
});

const alarmStateSchema = z.object({
  figure: z.enum(['accuracy', 'f1', 'auc', 'mae', 'rmse']),
  threshold: z.number(),
  value: figure,
  state: z.enum(['ok', 'alarm', 'insufficient-labels']),
});

export const versionQualitySchema = z.object({
  version: z.string(),
  predictions: z.number().int().describe('Predictions logged in the window, each id once.'),
  traffic: z
    .record(z.string(), z.number().int())
    .describe('Those predictions by how they were served: live, canary, shadow, pinned, batch.'),
  labelled: z.number().int().describe('Predictions with a label.'),
  labelDelaySeconds: z.object({ mean: z.number(), max: z.number() }).nullable(),
  accuracy: figure,
  f1: figure.describe('Binary: F1 of the positive label. Multiclass: the mean F1 over labels (macro).'),
  macroF1: figure,
  auc: figure.describe('Binary classification: area under the ROC curve of the positive label.'),
  ece: figure.describe('Expected calibration error of the chosen label, over 10 equal-width bins.'),
  mae: figure,
  rmse: figure,
  perLabel: z.array(perLabelSchema),
  series: z.array(
    z.object({
      at: z.string().describe('Start of the bucket of prediction times.'),
      labelled: z.number().int(),
      accuracy: figure,
      mae: figure,
    }),
  ),
  alarms: z.array(alarmStateSchema),
});
export type VersionQuality = z.infer<typeof versionQualitySchema>;

export const qualityReportSchema = z
  .object({
    model: z.string(),
    task: z.string(),
    positiveLabel: z.string().nullable(),
    window: z.object({ from: z.string(), to: z.string(), hours: z.number() }),
    computedAt: z.string(),
    seriesSeconds: z.number().int().describe("The width of each point of the versions' series."),
    engine: z.enum(['duckdb', 'athena']),
    labels: z.object({
      received: z.number().int().describe('Label records received in the window, repeats included.'),
      ids: z.number().int().describe('Distinct ids among them: a label sent twice counts once.'),
      replaced: z.number().int().describe('Ids whose labels disagree: the one with the latest "at" counts.'),
      unmatched: z.number().int().describe('Ids that match no prediction in the window.'),
    }),
    minLabels: z.number().int(),
    versions: z.array(versionQualitySchema),
  })
  .meta({ id: 'QualityReport' });
export type QualityReport = z.infer<typeof qualityReportSchema>;
