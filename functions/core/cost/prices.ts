import type { PriceTable } from './price-table.ts';

/**
 * The price table every cost figure uses: AWS list prices (on demand, no free tier, no Savings
 * Plans or discounts), one region, one date, a source for every number. Nothing is fetched at run
 * time; a team with other prices passes a file of the same shape (`infera cost --prices`), and
 * any entry it gives replaces the one here (price-table.ts holds the shape and the merge).
 */

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
  dynamodb: {
    readRequest: {
      usd: 0.000000125,
      per: 'on-demand read request unit: one strongly consistent read of up to 4 KB ($0.125 per million)',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    },
    writeRequest: {
      usd: 0.000000625,
      per: 'on-demand write request unit: 1 KB; a transactional write takes two ($0.625 per million)',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    },
  },
};
