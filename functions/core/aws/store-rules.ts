/**
 * The model store's rules (infera:modelStore): the /tmp its packages are fetched into, the DynamoDB
 * item and transaction a record is, and the alarms a canary makes. Kept apart from AWS_RULES
 * (rules.ts), which every function bundles for its own checks: only the stack, the CLI and the
 * store's code need these. ALL_AWS_RULES (all-rules.ts) joins them for docs/deploy.md.
 */
import type { AwsRule } from './rule.ts';

export const STORE_RULES = {
  'lambda-ephemeral-storage': {
    rule: "A function's /tmp is 512 MB unless its EphemeralStorage asks for more, up to 10,240 MB.",
    limit: 10_240,
    unit: 'MB',
    infera:
      "A store-backed function writes fetched model packages there: infera:packageCacheMb (400) sets the cache's budget, and the stack gives the function 512 MB or the budget plus 112 MB of /tmp, whichever is more. cdk synth refuses a budget that would not fit.",
    source: {
      title: 'AWS Lambda API Reference: EphemeralStorage',
      url: 'https://docs.aws.amazon.com/lambda/latest/api/API_EphemeralStorage.html',
    },
    read: '2026-12-07',
  },
  'dynamodb-item-size': {
    rule: 'A DynamoDB item, attribute names and values together, is at most 400 KB.',
    limit: 400 * 1024,
    unit: 'bytes',
    infera:
      "A model's record (its published versions and traffic policy) is one item: at most 1,000 versions (about 75 bytes each) and a 500-character reason keep it under 100 KB. The record schema enforces both, locally and on AWS.",
    source: {
      title: 'Amazon DynamoDB Developer Guide: Quotas in Amazon DynamoDB',
      url: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
    },
    read: '2026-12-07',
  },
  'dynamodb-transaction': {
    rule: 'TransactWriteItems takes up to 100 actions, at most 4 MB together, and no two on the same item.',
    limit: 100,
    unit: 'count',
    infera:
      "A record change is one transaction of two puts: the model's head item, conditioned on its revision, and the revision's own item for the audit trail.",
    source: {
      title: 'Amazon DynamoDB API Reference: TransactWriteItems',
      url: 'https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html',
    },
    read: '2026-12-07',
  },
  'cloudwatch-alarm-name': {
    rule: 'A CloudWatch alarm name is 1-255 characters, unique in its Region; its description at most 1,024.',
    limit: 255,
    unit: 'count',
    infera:
      'infera release --canary names its two alarms <function>-<model>-v<version>-canary-errors and -p99, cut to fit, and deletes them after the bake.',
    source: {
      title: 'Amazon CloudWatch API Reference: PutMetricAlarm',
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
    },
    read: '2026-12-07',
  },
} as const satisfies Record<string, AwsRule>;

export type StoreRuleId = keyof typeof STORE_RULES;

/** A store rule's number. */
export function storeLimitOf(id: StoreRuleId): number {
  return STORE_RULES[id].limit;
}
