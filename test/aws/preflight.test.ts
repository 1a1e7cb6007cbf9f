/**
 * `infera preflight` against moto_server, with the real AWS CLI bootstrapping it (the SSM
 * parameter cdk bootstrap writes). moto 5.2.1 answers SSM, but Lambda's GetAccountSettings is a
 * 404 and Service Quotas has no lambda or sagemaker: those checks must say "unknown" and why,
 * never pass. What the quota checks do with real answers is tested on recorded responses
 * (test/infra/preflight.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Check } from '../../cli/preflight-checks.ts';
import { cli, run } from '../helpers.ts';
import { type Moto, requireTools, startMoto } from '../support/moto.ts';

let moto: Moto;
before(async () => {
  requireTools('moto_server', 'aws');
  moto = await startMoto('us-east-1');
});
after(async () => {
  await moto?.close();
});

async function preflight(): Promise<{ code: number | null; checks: Check[]; stderr: string }> {
  const r = await cli(['preflight', '--region', 'us-east-1', '--json'], moto.env);
  return { code: r.code, checks: (JSON.parse(r.stdout) as { checks: Check[] }).checks, stderr: r.stderr };
}
const verdicts = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c.verdict]));

describe('infera preflight against moto_server', () => {
  it('fails the bootstrap check of a region never bootstrapped, naming cdk bootstrap', async () => {
    const { code, checks } = await preflight();
    assert.equal(code, 1);
    const c = checks.find((x) => x.name === 'CDK bootstrap');
    assert.equal(c?.verdict, 'fail');
    assert.match(
      c?.detail ?? '',
      /us-east-1 is not bootstrapped: no \/cdk-bootstrap\/hnb659fds\/version parameter/,
    );
  });

  it('passes the bootstrap and region checks once bootstrapped, and reports the quota checks as unknown, naming why', async () => {
    const put = await run(
      'aws',
      [
        'ssm',
        'put-parameter',
        '--name',
        '/cdk-bootstrap/hnb659fds/version',
        '--value',
        '30',
        '--type',
        'String',
      ],
      moto.env,
    );
    assert.equal(put.code, 0, put.stderr);
    const { code, checks } = await preflight();
    assert.equal(code, 0);
    assert.deepEqual(verdicts(checks), {
      synth: 'pass',
      'Lambda concurrency': 'unknown',
      'SageMaker quotas': 'unknown',
      'CodeBuild image builds': 'unknown',
      'CDK bootstrap': 'pass',
      'Region features': 'pass',
    });
    const lambda = checks.find((c) => c.name === 'Lambda concurrency');
    assert.match(lambda?.detail ?? '', /GetAccountSettings did not answer: .*\(HTTP 404\)/);
    assert.match(lambda?.fix ?? '', /Concurrent executions/);
    const builds = checks.find((c) => c.name === 'CodeBuild image builds');
    assert.match(builds?.detail ?? '', /Service Quotas did not answer for CodeBuild/);
    const quotas = checks.find((c) => c.name === 'SageMaker quotas');
    assert.match(quotas?.detail ?? '', /not available in the current Region/);
    assert.match(
      quotas?.fix ?? '',
      /Maximum total concurrency that can be allocated across all serverless endpoints/,
    );
  });
});
