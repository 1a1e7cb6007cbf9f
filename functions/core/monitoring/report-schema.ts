/**
 * The monitoring report's schema: what `GET /v1/models/{model}/monitoring` answers and the
 * dashboard draws. The report's types are inferred from it, so the documented shape and the
 * built one cannot drift apart; docs/releases-and-monitoring.md explains the fields.
 */
import * as z from 'zod';

export const latencySummarySchema = z.object({ p50: z.number(), p90: z.number(), p99: z.number() });

/** Requests, errors, latency and score over a span of traffic. */
const countSummary = z.object({
  requests: z.number(),
  instances: z.number(),
  perSecond: z.number(),
  errors: z.number(),
  rejected: z.number(),
  errorRate: z.number(),
  rejectedRate: z.number(),
  latencyMs: latencySummarySchema,
  meanScore: z.number().nullable(),
  lowConfidenceRate: z.number().nullable(),
});

/** One feature's data quality and drift over a span of traffic. */
const featureSummary = z.object({
  count: z.number(),
  missingRate: z.number(),
  expectedMissingRate: z.number().nullable(),
  outOfRangeRate: z.number(),
  beyondTrainingRate: z.number(),
  psi: z.number().nullable(),
  ks: z.number().nullable(),
  chiSquare: z.number().nullable(),
  drifting: z.boolean(),
  judged: z.boolean().describe('Whether enough rows were seen to judge drift (minSamples).'),
  bins: z
    .object({ labels: z.array(z.string()), expected: z.array(z.number()), actual: z.array(z.number()) })
    .nullable(),
});

/** A tensor input's moments over a span of traffic; null statistics before the first value. */
const momentsSummary = z.object({
  count: z.number(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

export const versionReportSchema = z.object({
  version: z.string(),
  window: countSummary,
  total: countSummary,
  series: z.array(
    z.object({
      t: z.number(),
      requests: z.number(),
      perSecond: z.number(),
      errors: z.number(),
      rejected: z.number(),
      p50: z.number(),
      p90: z.number(),
      p99: z.number(),
    }),
  ),
  features: z.array(
    z.object({ name: z.string(), type: z.string(), window: featureSummary, total: featureSummary }),
  ),
  inputs: z
    .array(
      z.object({
        name: z.string(),
        kind: z.enum(['values', 'tokens']),
        window: momentsSummary,
        total: momentsSummary,
        training: z
          .object({ mean: z.number(), std: z.number(), min: z.number(), max: z.number() })
          .nullable(),
      }),
    )
    .describe('Tensor, image and text models: per input, image channel ("x[0]") or tokens per text.'),
  score: z
    .object({
      labels: z.array(z.string()),
      expected: z.array(z.number()),
      window: z.array(z.number()),
      total: z.array(z.number()),
      psi: z.number().nullable(),
      ks: z.number().nullable(),
      samples: z.number(),
      drifting: z.boolean(),
    })
    .nullable(),
});

export const driftEventSchema = z.object({
  type: z.literal('infera.drift'),
  kind: z.enum(['feature', 'prediction']),
  model: z.string(),
  version: z.string(),
  feature: z.string().describe('The feature name, or "score" for the prediction score.'),
  psi: z.number(),
  threshold: z.number(),
  ks: z.number().optional(),
  chiSquare: z.number().optional(),
  samples: z.number(),
  windowMinutes: z.number(),
  time: z.string(),
});

const comparisonSchema = z.object({
  primary: z.string(),
  shadow: z.string(),
  requests: z.number(),
  instances: z.number(),
  agreement: z.number().nullable(),
  meanDelta: z.number().nullable(),
  meanAbsDelta: z.number().nullable(),
  maxAbsDelta: z.number(),
  errors: z.number(),
  skipped: z.number(),
  latencyMs: z.object({ primary: latencySummarySchema, shadow: latencySummarySchema }),
});

/** What the Monitor reports for one model. */
export const monitorReportSchema = z.object({
  model: z.string(),
  generatedAt: z.string(),
  since: z.string().describe('When this process started counting.'),
  windowMinutes: z.number(),
  bucketSeconds: z.number(),
  psiThreshold: z.number(),
  minSamples: z.number(),
  lowConfidence: z.number(),
  versions: z.array(versionReportSchema),
  comparisons: z.array(comparisonSchema),
  events: z.array(driftEventSchema),
});

/** GET /v1/models/{model}/monitoring: the Monitor's report plus the model's traffic policy. */
export const monitoringReportSchema = monitorReportSchema
  .extend({
    policy: z.object({
      live: z.array(z.object({ version: z.string(), weight: z.number() })),
      shadow: z.string().nullable(),
      aliases: z.record(z.string(), z.string()),
    }),
    costs: z
      .array(
        z.object({
          version: z.string(),
          route: z.string(),
          perMillionUsd: z.number().nullable(),
          basis: z.string(),
        }),
      )
      .describe(
        "Each version's estimated cost per million predictions on its configured route, from the window's p50 latency at list prices (core/cost). `infera cost` gives every route.",
      ),
  })
  .meta({ id: 'MonitoringReport' });
