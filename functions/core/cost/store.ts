/**
 * What a model store costs (infera:modelStore), per model: the record reads of the instances
 * serving it, the package fetches of their cold starts, the writes and alarms of a release. Pure:
 * prices in, dollars out. `infera cost` prints it; docs/many-models.md explains it.
 */
import type { PriceTable } from './price-table.ts';

const SECONDS_A_MONTH = 30 * 24 * 3600;

export interface StoreCostInput {
  /** MODEL_POLICY_TTL_MS: an instance serving a model reads its record at most once per this. */
  readonly ttlMs: number;
  /** Objects a version's package holds: its files and its index. */
  readonly objectsPerVersion: number;
  /** Minutes a canary bakes with its two alarms. */
  readonly bakeMinutes: number;
}

export interface StoreCost {
  /** One instance serving one model without pause for a month: one strongly consistent read per ttl. */
  readonly recordReadsPerInstanceMonth: number;
  /** Reads are at most one per request, whatever the ttl: the bound per million predictions. */
  readonly recordReadsPerMillionPredictions: number;
  /** A model's first request in a new instance: its record and its packages' objects. */
  readonly coldFetch: number;
  /** A release (or rollback) writes one transaction of two items. */
  readonly policyWrite: number;
  /** The canary's two alarms (two metrics each), for the bake, billed by the hour. */
  readonly canaryAlarms: number;
}

export function storeCost(prices: PriceTable, input: StoreCostInput): StoreCost {
  const read = prices.dynamodb.readRequest.usd;
  const readsPerMonth = input.ttlMs > 0 ? SECONDS_A_MONTH / (input.ttlMs / 1000) : SECONDS_A_MONTH * 1000;
  const alarmHours = Math.max(1, Math.ceil(input.bakeMinutes / 60));
  return {
    recordReadsPerInstanceMonth: readsPerMonth * read,
    recordReadsPerMillionPredictions: 1_000_000 * read,
    coldFetch: read + input.objectsPerVersion * prices.s3.getRequest.usd,
    // Two items of at most 1 KB each, transactional: two write units each.
    policyWrite: 4 * prices.dynamodb.writeRequest.usd,
    canaryAlarms: (4 * prices.cloudwatch.alarmMetricMonth.usd * alarmHours) / (30 * 24),
  };
}
