/** The shapes of a cost estimate: what was measured, what is assumed, and each route's lines. */

/** Handler times measured on one local vCPU (one onnxruntime thread), per request. */
export interface Timing {
  readonly rows: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Request and response body sizes, bytes. */
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export interface Assumptions {
  /** Time on a Lambda vCPU per unit of local vCPU time: 1 means this machine's cores are as fast. */
  readonly cpuFactor: number;
  /** Share of an always-on instance's capacity that traffic keeps busy. */
  readonly utilization: number;
  /** The times were observed on the route itself (monitoring), not measured here: no scaling. */
  readonly observed?: boolean;
}

export interface CostLine {
  readonly what: string;
  readonly usd: number;
}

export type RouteKind = 'lambda' | 'sagemaker' | 'serverless' | 'batch';

export interface RouteCost {
  readonly route: string;
  readonly kind: RouteKind;
  /** Dollars per million predictions (rows), and what they are made of. */
  readonly perMillion: number;
  readonly lines: readonly CostLine[];
  /** Latency per request at the timing's batch size, warm, as this route would see it. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** What the route costs a month with no traffic at all. */
  readonly idleMonthly: number;
  /** True when the route can cold start (a new Lambda or Serverless instance). */
  readonly coldStarts: boolean;
  /** Set when the route cannot be priced (no price for its instance type). */
  readonly unpriced?: string;
  /** A SageMaker route: where its time was taken (CPU, or the accelerator and the source). */
  readonly timedOn?: string;
}
