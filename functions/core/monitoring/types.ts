import type * as z from 'zod';
import type { Prediction } from '../protocol/schemas.ts';
import type { InputMoments } from './inputs.ts';
import type {
  driftEventSchema,
  latencySummarySchema,
  monitorReportSchema,
  versionReportSchema,
} from './report-schema.ts';

/** What monitoring is configured with, what it observes, and what it reports. */

export interface MonitorOptions {
  /** The window "last N minutes" covers. */
  readonly windowMinutes: number;
  /** Time resolution of the window and of the dashboard's series. */
  readonly bucketSeconds: number;
  /** PSI at or above which a feature (or the prediction score) is drifting. */
  readonly psiThreshold: number;
  /** Observations the window needs before drift is judged: fewer are too noisy. */
  readonly minSamples: number;
  /** A prediction whose chosen label has a lower probability than this is low-confidence. */
  readonly lowConfidence: number;
  /** Drift events kept for the report. */
  readonly maxEvents: number;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  windowMinutes: 5,
  bucketSeconds: 10,
  psiThreshold: 0.2,
  minSamples: 500,
  lowConfidence: 0.6,
  maxEvents: 50,
};

/** Raised once when a feature (or the score) crosses the threshold; again only after it recovers. */
export type DriftEvent = z.infer<typeof driftEventSchema>;

/** How a request went, as the handler saw it. */
export interface Observation {
  readonly latencyMs: number;
  /** HTTP status: 2xx served, 4xx rejected (bad input), 5xx failed. */
  readonly status: number;
  /** v1 instances as received (before validation, so rejected values count too). */
  readonly instances?: readonly unknown[];
  /** Rows the request carried, when `instances` does not say (a tensor model's v2 request). */
  readonly rows?: number | undefined;
  readonly predictions?: readonly Prediction[];
  /** A tensor, image or text model's input moments, in inputKeys(manifest) order. */
  readonly inputs?: readonly InputMoments[];
}

/** The Monitor's report for one model; the route adds the traffic policy (report-schema.ts). */
export type MonitoringReport = z.infer<typeof monitorReportSchema>;
export type VersionReport = z.infer<typeof versionReportSchema>;
export type LatencySummary = z.infer<typeof latencySummarySchema>;
