/**
 * The rules labelled quality relies on: what Athena takes and returns, and how its partition
 * projection reads a table. Kept apart from AWS_RULES (rules.ts), which every function bundles;
 * ALL_AWS_RULES (all-rules.ts) joins them for docs/deploy.md.
 */
import type { AwsRule } from './rule.ts';

const READ = '2026-12-07';

export const QUALITY_RULES = {
  'athena-query-string': {
    rule: 'An Athena query string is at most 262,144 bytes (UTF-8); the quota cannot be raised.',
    limit: 262_144,
    unit: 'bytes',
    infera:
      'The quality join is one statement of about 4 KB whatever the number of models or rows: values go as execution parameters, never into the text. qualitySql refuses to build a longer one.',
    source: {
      title: 'Amazon Athena User Guide: Service Quotas',
      url: 'https://docs.aws.amazon.com/athena/latest/ug/service-limits.html',
    },
    read: READ,
  },
  'athena-execution-parameter': {
    rule: "Each of StartQueryExecution's ExecutionParameters is a string of 1 to 1,024 characters; a string value is written with its single quotes.",
    limit: 1024,
    unit: 'count',
    infera:
      'The quality function passes the model, the window and the positive label as parameters, quoted and escaped; a longer one is refused before the call (model names are at most 63 characters, labels 200).',
    source: {
      title: 'Amazon Athena API Reference: StartQueryExecution',
      url: 'https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html',
    },
    read: READ,
  },
  'athena-results-page': {
    rule: 'GetQueryResults returns at most 1,000 rows per call (MaxResults), the first row of the first page being the column names.',
    limit: 1000,
    unit: 'count',
    infera:
      'The join returns aggregates, not rows: a few hundred per model and version (the ROC curve is the largest, one row per distinct score at 5 decimals). The quality function reads every page and refuses more than 2,000,000 rows.',
    source: {
      title: 'Amazon Athena API Reference: GetQueryResults',
      url: 'https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html',
    },
    read: READ,
  },
  'athena-scan-cutoff': {
    rule: "A workgroup's BytesScannedCutoffPerQuery is at least 10,000,000 bytes; a query that would scan more is cancelled. Athena bills $5 per TB scanned, at least 10 MB per query.",
    limit: 10_000_000,
    unit: 'bytes',
    infera:
      "infera:qualityScanLimitGb (10) sets the quality workgroup's cutoff; synth refuses one under 10,000,000 bytes. One run of the join costs at most that many bytes at $5/TB.",
    source: {
      title: 'Amazon Athena API Reference: WorkGroupConfiguration',
      url: 'https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfiguration.html',
    },
    read: READ,
  },
  'athena-injected-projection': {
    rule: "A partition column projected as 'injected' must be given one value by an equality in each query's WHERE clause; otherwise the query fails.",
    infera:
      'The predictions and labels tables project the model as injected (no list of models to keep in the table), and the join names one model: WHERE model = ?. The hour and day partitions are dates ranged over the retention, so a window prunes to its own hours.',
    source: {
      title: 'Amazon Athena User Guide: Supported types for partition projection',
      url: 'https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html',
    },
    read: READ,
  },
} as const satisfies Record<string, AwsRule>;

export type QualityRuleId = keyof typeof QUALITY_RULES;

/** A quality rule's number. */
export function qualityLimitOf(id: Exclude<QualityRuleId, 'athena-injected-projection'>): number {
  return QUALITY_RULES[id].limit;
}
