import * as z from 'zod';
import { isRecord } from '../checked.ts';
import { formatIssues } from '../protocol/issues.ts';

/**
 * The price table's shape, and an override file merged over it. Apart from the table itself
 * (prices.ts), so a function that only reads prices does not build these schemas at start.
 */

const price = z.strictObject({
  usd: z.number().nonnegative(),
  /** What one `usd` buys, in words: "GB-second", "request", "instance-hour", … */
  per: z.string().min(1),
  source: z.url(),
});
const instance = price.extend({
  vcpus: z.number().int().positive(),
  accelerator: z.enum(['none', 'gpu', 'inferentia']),
});

export const priceTableSchema = z.strictObject({
  version: z.literal(1),
  region: z.string().min(1),
  /** When the numbers were taken from their sources. */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD'),
  note: z.string(),
  lambda: z.strictObject({
    request: price,
    gbSecondX86: price,
    gbSecondArm: price,
    provisionedGbSecondX86: price,
  }),
  apiGateway: z.strictObject({ httpRequest: price }),
  sagemaker: z.strictObject({
    serverlessGbSecond: price,
    serverlessDataGb: price,
    instances: z.record(z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/), instance),
  }),
  sqs: z.strictObject({ request: price }),
  s3: z.strictObject({ putRequest: price, getRequest: price }),
  cloudwatch: z.strictObject({ alarmMetricMonth: price, dashboardMonth: price }),
  kms: z.strictObject({ keyMonth: price }),
  dynamodb: z.strictObject({ readRequest: price, writeRequest: price }),
});
export type PriceTable = z.infer<typeof priceTableSchema>;
export type InstancePrice = z.infer<typeof instance>;

/**
 * Deep-merges an override (any subset of the table) over it, then checks the result; a bad
 * override is an error with one `path: problem` line per field.
 */
export function withOverrides(base: PriceTable, override: unknown): PriceTable {
  const r = priceTableSchema.safeParse(merge(base, override));
  if (!r.success) throw new Error(formatIssues(r.error).join('\n'));
  return r.data;
}

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
    return out;
  }
  return b;
}
