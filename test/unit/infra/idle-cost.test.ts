import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOURS_PER_MONTH, idleCost } from '../../../infra/lib/idle-cost.ts';

const alarm = (metrics?: number) => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: metrics
    ? { Metrics: [...Array.from({ length: metrics }, () => ({ MetricStat: {} })), { Expression: 'a+b' }] }
    : { MetricName: 'Errors' },
});

describe('idle cost of a template', () => {
  it('prices instances, provisioned concurrency, alarms per metric, dashboards and keys, as worked out by hand', () => {
    const cost = idleCost({
      Resources: {
        Ec: {
          Type: 'AWS::SageMaker::EndpointConfig',
          Properties: {
            ProductionVariants: [
              { InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 },
              { ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } },
            ],
          },
        },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 2048 } },
        Live: {
          Type: 'AWS::Lambda::Alias',
          Properties: {
            FunctionName: { Ref: 'Fn' },
            ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 3 },
          },
        },
        A1: alarm(3),
        A2: alarm(),
        D: { Type: 'AWS::CloudWatch::Dashboard' },
        K: { Type: 'AWS::KMS::Key' },
        Q: { Type: 'AWS::SQS::Queue' },
      },
    });
    // 2 × $1.408 × 730 h = $2055.68; 3 × 2 GB × $0.0000041667 × 3600 s × 730 h = $65.70;
    // alarms read 3 + 1 metrics = $0.40; dashboard $3; key $1.
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 0.01, `${a} ≈ ${b}`);
    near(cost.computeMonthly, 2055.68 + 65.7);
    near(cost.monthly, 2055.68 + 65.7 + 0.4 + 3 + 1);
    near(cost.hourly, cost.monthly / HOURS_PER_MONTH);
    assert.deepEqual(
      cost.lines.map((l) => [l.what, l.count]),
      [
        ['SageMaker ml.g5.xlarge instance (always on)', 2],
        ['Lambda provisioned concurrency', 3],
        ['CloudWatch alarms (2, reading 4 metrics)', 2],
        ['CloudWatch dashboard', 1],
        ['KMS key', 1],
      ],
    );
  });

  it('counts nothing for serverless endpoints and functions, and names instance types it has no price for', () => {
    const cost = idleCost({
      Resources: {
        Ec: {
          Type: 'AWS::SageMaker::EndpointConfig',
          Properties: { ProductionVariants: [{ InstanceType: 'ml.p5.48xlarge' }, { ServerlessConfig: {} }] },
        },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 20 } },
      },
    });
    assert.equal(cost.monthly, 0);
    assert.deepEqual(cost.unpriced, ['ml.p5.48xlarge']);
  });
});
