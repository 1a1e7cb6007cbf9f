import * as z from 'zod';
import { formatIssues } from '../issues.ts';

/**
 * The price table every cost figure uses: AWS list prices (on demand, no free tier, no Savings
 * Plans or discounts), one region, one date, a source for every number. Nothing is fetched at run
 * time; a team with other prices passes a file of the same shape (`infera cost --prices`), and
 * any entry it gives replaces the one here.
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
});
export type PriceTable = z.infer<typeof priceTableSchema>;
export type InstancePrice = z.infer<typeof instance>;

const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const SAGEMAKER = 'https://aws.amazon.com/sagemaker/pricing/';

export const PRICES: PriceTable = {
  version: 1,
  region: 'us-east-1',
  date: '2026-11-26',
  note: 'AWS list prices for us-east-1, on demand, without the free tier, Savings Plans or volume tiers (the first tier of each is used). Copied by hand from the pages named in each source; check them before budgeting, and pass --prices <file> for your region or your discounts.',
  lambda: {
    request: { usd: 0.0000002, per: 'request ($0.20 per million)', source: LAMBDA },
    gbSecondX86: { usd: 0.0000166667, per: 'GB-second, x86_64', source: LAMBDA },
    gbSecondArm: { usd: 0.0000133334, per: 'GB-second, arm64', source: LAMBDA },
    provisionedGbSecondX86: {
      usd: 0.0000041667,
      per: 'GB-second of provisioned concurrency configured, x86_64',
      source: LAMBDA,
    },
  },
  apiGateway: {
    httpRequest: {
      usd: 0.000001,
      per: 'HTTP API request ($1.00 per million, first 300 million a month)',
      source: 'https://aws.amazon.com/api-gateway/pricing/',
    },
  },
  sagemaker: {
    serverlessGbSecond: {
      usd: 0.00002,
      per: 'GB-second of Serverless Inference memory ($0.0000200 a second at 1 GB)',
      source: SAGEMAKER,
    },
    serverlessDataGb: { usd: 0.016, per: 'GB of data in or out of Serverless Inference', source: SAGEMAKER },
    instances: {
      'ml.c6i.xlarge': {
        usd: 0.238,
        per: 'instance-hour, real-time inference',
        source: SAGEMAKER,
        vcpus: 4,
        accelerator: 'none',
      },
      'ml.g5.xlarge': {
        usd: 1.408,
        per: 'instance-hour, real-time inference',
        source: SAGEMAKER,
        vcpus: 4,
        accelerator: 'gpu',
      },
      'ml.inf2.xlarge': {
        usd: 0.99,
        per: 'instance-hour, real-time inference',
        source: SAGEMAKER,
        vcpus: 4,
        accelerator: 'inferentia',
      },
    },
  },
  sqs: {
    request: {
      usd: 0.0000004,
      per: 'standard queue request, each 64 KB ($0.40 per million)',
      source: 'https://aws.amazon.com/sqs/pricing/',
    },
  },
  s3: {
    putRequest: {
      usd: 0.000005,
      per: 'PUT, COPY, POST or LIST request, S3 Standard ($0.005 per 1,000)',
      source: 'https://aws.amazon.com/s3/pricing/',
    },
    getRequest: {
      usd: 0.0000004,
      per: 'GET request, S3 Standard ($0.0004 per 1,000)',
      source: 'https://aws.amazon.com/s3/pricing/',
    },
  },
  cloudwatch: {
    alarmMetricMonth: {
      usd: 0.1,
      per: 'standard-resolution alarm metric a month',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
    dashboardMonth: {
      usd: 3,
      per: 'dashboard a month (an account has three free)',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
    },
  },
  kms: {
    keyMonth: {
      usd: 1,
      per: 'customer-managed key a month',
      source: 'https://aws.amazon.com/kms/pricing/',
    },
  },
};

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
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out;
  }
  return b;
}
