/**
 * infera preflight against an account that cannot be reached from here: the SDK clients answer
 * with the responses in test/events/aws (shaped as AWS documents them) through
 * aws-sdk-client-mock. What moto implements is tested against moto_server in test/aws.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { preflightCommand } from '../../cli/preflight.ts';
import type { Check } from '../../cli/preflight-checks.ts';
import { editJson, MODELS, ROOT } from '../helpers.ts';

const lambda = mockClient(LambdaClient);
const quotas = mockClient(ServiceQuotasClient);
const ssm = mockClient(SSMClient);
afterEach(() => {
  lambda.reset();
  quotas.reset();
  ssm.reset();
});

const recorded = async (name: string) =>
  JSON.parse(await readFile(join(ROOT, 'test', 'events', 'aws', name), 'utf8')) as Record<string, unknown>;

/** Runs `infera preflight --json` and returns its exit code and checks. */
async function run(...args: string[]): Promise<{ code: number; checks: Check[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    const code = await preflightCommand(['--region', 'us-east-1', '--json', ...args]);
    return { code, checks: (JSON.parse(lines.join('\n')) as { checks: Check[] }).checks };
  } finally {
    console.log = log;
  }
}

async function account(settings: string, bootstrap: string | null = '30') {
  lambda.on(GetAccountSettingsCommand).resolves(await recorded(settings));
  const q = await recorded('service-quotas-sagemaker-defaults.json');
  quotas
    .on(ListAWSDefaultServiceQuotasCommand, { ServiceCode: 'sagemaker' })
    .resolves({ Quotas: q.Quotas as never });
  const cb = await recorded('service-quotas-codebuild-defaults.json');
  quotas
    .on(ListAWSDefaultServiceQuotasCommand, { ServiceCode: 'codebuild' })
    .resolves({ Quotas: cb.Quotas as never });
  quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [] });
  if (bootstrap === null) {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  } else {
    ssm
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: '/cdk-bootstrap/hnb659fds/version', Value: bootstrap } });
  }
}

const named = (checks: Check[], name: string) => {
  const c = checks.find((x) => x.name === name);
  assert.ok(c, `${name} in ${checks.map((x) => x.name).join(', ')}`);
  return c;
};

describe('infera preflight on a recorded account', () => {
  it('fails on a new account with a concurrency quota of 10, naming the quota and the fix', async () => {
    await account('lambda-get-account-settings-new-account.json');
    const { code, checks } = await run();
    assert.equal(code, 1);
    const c = named(checks, 'Lambda concurrency');
    assert.equal(c.verdict, 'fail');
    assert.match(
      c.detail,
      /^quota 10 concurrent executions; the stack needs \d+ to run each of its \d+ functions once/,
    );
    assert.match(
      c.fix ?? '',
      /Request "Concurrent executions" of at least 1000 in Service Quotas .*L-B99A9384/,
    );
  });

  it('passes the concurrency check on a default account and says how to reserve', async () => {
    await account('lambda-get-account-settings-default.json');
    const { checks } = await run();
    const c = named(checks, 'Lambda concurrency');
    assert.equal(c.verdict, 'pass');
    assert.match(c.detail, /-c infera:reservedConcurrency=true -c infera:accountConcurrency=1000/);
  });

  it('fails reservations the account cannot hold, and passes them where it can', async () => {
    await account('lambda-get-account-settings-default.json');
    const held = await run('-c', 'infera:reservedConcurrency=true', '-c', 'infera:accountConcurrency=1000');
    assert.equal(named(held.checks, 'Lambda concurrency').verdict, 'pass');
    // Told the quota is 1000, while the account says 10: the account wins.
    lambda.reset();
    await account('lambda-get-account-settings-new-account.json');
    const over = await run('-c', 'infera:reservedConcurrency=true', '-c', 'infera:accountConcurrency=1000');
    const c = named(over.checks, 'Lambda concurrency');
    assert.equal(c.verdict, 'fail');
    assert.match(c.detail, /reserves \d+, and Lambda keeps 100 unreserved/);
    assert.match(c.fix ?? '', /-c infera:reservedConcurrency=false/);
  });

  it('fails the CodeBuild image build on an account whose small Linux builds are held at 0, and passes it once raised', async () => {
    await account('lambda-get-account-settings-default.json');
    const small = 'Concurrently running builds for Linux/Small environment';
    quotas
      .on(ListServiceQuotasCommand, { ServiceCode: 'codebuild' })
      .resolves({ Quotas: [{ QuotaName: small, Value: 0 }] });
    const held = named((await run()).checks, 'CodeBuild image builds');
    assert.equal(held.verdict, 'fail');
    assert.match(
      held.detail,
      /"Concurrently running builds for Linux\/Small environment" is 0; the stack builds 1 serving image/,
    );
    assert.match(held.fix ?? '', /-c infera:imageBuild=docker/);
    quotas.on(ListServiceQuotasCommand, { ServiceCode: 'codebuild' }).resolves({
      Quotas: [{ QuotaName: 'Concurrently running builds for Linux/Small environment', Value: 1 }],
    });
    const raised = named((await run()).checks, 'CodeBuild image builds');
    assert.equal(raised.verdict, 'pass');
    assert.match(
      raised.detail,
      /one at a time\. A new account AWS has not yet verified can refuse every build/,
    );
    // Built with the local Docker engine, the stack asks nothing of CodeBuild.
    const docker = await run('-c', 'infera:imageBuild=docker');
    assert.ok(!docker.checks.some((c) => c.name === 'CodeBuild image builds'));
  });

  it('fails a GPU endpoint on an account whose quota for it is 0', async () => {
    await account('lambda-get-account-settings-default.json');
    const models = await mkdtemp(join(tmpdir(), 'infera-gpu-models-'));
    await cp(join(MODELS, 'iris'), join(models, 'iris'), { recursive: true });
    await editJson(join(models, 'iris', '1', 'model.json'), (m) => {
      m.target = { type: 'sagemaker', instanceType: 'ml.g5.xlarge' };
    });
    const { code, checks } = await run('-c', `infera:models=${models}`);
    assert.equal(code, 1);
    const c = named(checks, 'SageMaker ml.g5.xlarge');
    assert.equal(c.verdict, 'fail');
    assert.match(c.detail, /quota "ml\.g5\.xlarge for endpoint usage" is 0; the stack needs 2/);
    assert.match(c.fix ?? '', /-c infera:sagemaker=serverless/);
  });

  it('checks the serverless concurrency the stack asks for against the account total', async () => {
    await account('lambda-get-account-settings-default.json');
    const { checks } = await run();
    const c = named(checks, 'SageMaker serverless concurrency');
    assert.equal(c.verdict, 'pass');
    assert.match(c.detail, /quota 10; the stack's serverless endpoints take 5/);
  });

  it('fails an account that was never bootstrapped, naming cdk bootstrap', async () => {
    await account('lambda-get-account-settings-default.json', null);
    const { checks } = await run();
    const c = named(checks, 'CDK bootstrap');
    assert.equal(c.verdict, 'fail');
    assert.match(c.fix ?? '', /npx cdk bootstrap aws:\/\/<account>\/us-east-1/);
  });

  it('reports a check it cannot read as unknown, with the reason, never as a pass', async () => {
    await account('lambda-get-account-settings-default.json');
    lambda.on(GetAccountSettingsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: lambda:GetAccountSettings'), {
        name: 'AccessDeniedException',
      }),
    );
    const { code, checks } = await run();
    assert.equal(code, 0);
    const c = named(checks, 'Lambda concurrency');
    assert.equal(c.verdict, 'unknown');
    assert.match(c.detail, /AccessDeniedException: User is not authorized/);
    assert.match(c.fix ?? '', /servicequotas\/home\/services\/lambda\/quotas\/L-B99A9384/);
  });
});
