import type { Prediction } from '../protocol.ts';
import type { featureSummary, summary } from './counters.ts';
import type { InputMoments, summarizeMoments } from './inputs.ts';

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
export interface DriftEvent {
  readonly type: 'infera.drift';
  readonly kind: 'feature' | 'prediction';
  readonly model: string;
  readonly version: string;
  /** The feature name, or "score" for the prediction score. */
  readonly feature: string;
  readonly psi: number;
  readonly threshold: number;
  readonly ks?: number;
  readonly chiSquare?: number;
  readonly samples: number;
  readonly windowMinutes: number;
  readonly time: string;
}

/** How a request went, as the handler saw it. */
export interface Observation {
  readonly latencyMs: number;
  /** HTTP status: 2xx served, 4xx rejected (bad input), 5xx failed. */
  readonly status: number;
  /** v1 instances as received (before validation, so rejected values count too). */
  readonly instances?: readonly unknown[];
  readonly predictions?: readonly Prediction[];
  /** A tensor, image or text model's input moments, in inputKeys(manifest) order. */
  readonly inputs?: readonly InputMoments[];
}

export type MonitoringReport = {
  model: string;
  generatedAt: string;
  since: string;
  windowMinutes: number;
  bucketSeconds: number;
  psiThreshold: number;
  minSamples: number;
  lowConfidence: number;
  versions: VersionReport[];
  comparisons: {
    primary: string;
    shadow: string;
    requests: number;
    instances: number;
    agreement: number | null;
    meanDelta: number | null;
    meanAbsDelta: number | null;
    maxAbsDelta: number;
    errors: number;
    skipped: number;
    latencyMs: { primary: LatencySummary; shadow: LatencySummary };
  }[];
  events: DriftEvent[];
};

export type LatencySummary = { p50: number; p90: number; p99: number };

export type VersionReport = {
  version: string;
  window: ReturnType<typeof summary>;
  total: ReturnType<typeof summary>;
  series: {
    t: number;
    requests: number;
    perSecond: number;
    errors: number;
    rejected: number;
    p50: number;
    p90: number;
    p99: number;
  }[];
  features: {
    name: string;
    type: string;
    window: ReturnType<typeof featureSummary>;
    total: ReturnType<typeof featureSummary>;
  }[];
  /** Tensor, image and text models: per input, image channel ("x[0]") or tokens per text. */
  inputs: {
    name: string;
    kind: 'values' | 'tokens';
    window: ReturnType<typeof summarizeMoments>;
    total: ReturnType<typeof summarizeMoments>;
    training: { mean: number; std: number; min: number; max: number } | null;
  }[];
  score: {
    labels: string[];
    expected: number[];
    window: number[];
    total: number[];
    psi: number | null;
    ks: number | null;
    samples: number;
    drifting: boolean;
  } | null;
};

/** A count summary over `seconds` of traffic. */
