/**
 * `infera preflight`: before a deploy, reads the target account and says, check by check, whether
 * the stack as synthesized for that region will deploy there, and what to do when it will not.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  paginateListAWSDefaultServiceQuotas,
  paginateListServiceQuotas,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parseCommand } from './args.ts';
import { CliError, table } from './common.ts';
import { type AccountReader, type Check, needsOf, preflight, type Template } from './preflight-checks.ts';

export const PREFLIGHT_HELP = `Usage: infera preflight [--region <r>] [--profile <p>] [-c <key>=<value> ...] [--json]

Before a deploy, reads the target account and prints each check with pass, fail or unknown,
and the fix:
  - the stack synthesized for the region, against AWS's rules (what cdk synth checks);
  - Lambda's concurrency quota (GetAccountSettings) against what the stack reserves and runs;
  - SageMaker's quotas (Service Quotas) for each instance type and the serverless concurrency
    the stack asks for;
  - the CDK bootstrap version (its SSM parameter);
  - the region's support for each feature the stack uses.
A check that cannot read its answer (no permission, an API the endpoint does not implement) is
"unknown", with the reason and the console page to look at. Uses your AWS credentials as the
AWS CLI does. Exit code 1 when a check fails.

Options:
  --region <region>     AWS region (default: AWS_REGION / your profile)
  --profile <name>      AWS profile (default: AWS_PROFILE / default)
  -c, --context <k=v>   a deployment setting, as for cdk synth, e.g. -c infera:sagemaker=off (repeatable)
  --json                print JSON
`;

/** A service's quotas, name -> value: defaults first, applied values (raised quotas) win. */
async function serviceQuotas(client: ServiceQuotasClient, ServiceCode: string): Promise<Map<string, number>> {
  // Some quotas list only a default.
  const values = new Map<string, number>();
  for await (const page of paginateListAWSDefaultServiceQuotas({ client }, { ServiceCode })) {
    for (const q of page.Quotas ?? [])
      if (q.QuotaName && q.Value !== undefined) values.set(q.QuotaName, q.Value);
  }
  for await (const page of paginateListServiceQuotas({ client }, { ServiceCode })) {
    for (const q of page.Quotas ?? [])
      if (q.QuotaName && q.Value !== undefined) values.set(q.QuotaName, q.Value);
  }
  return values;
}

/** The account through the AWS SDK, with its normal credential chain. */
function sdkAccount(region: string, profile: string | undefined): AccountReader {
  const opts = { region, ...(profile ? { profile } : {}) };
  const lambda = new LambdaClient(opts);
  const quotas = new ServiceQuotasClient(opts);
  const ssm = new SSMClient(opts);
  return {
    async lambdaConcurrency() {
      const out = await lambda.send(new GetAccountSettingsCommand({}));
      const n = out.AccountLimit?.ConcurrentExecutions;
      if (n === undefined)
        throw new Error('GetAccountSettings answered without AccountLimit.ConcurrentExecutions');
      return n;
    },
    sagemakerQuotas: () => serviceQuotas(quotas, 'sagemaker'),
    codebuildQuotas: () => serviceQuotas(quotas, 'codebuild'),
    async bootstrapVersion(parameter) {
      try {
        const out = await ssm.send(new GetParameterCommand({ Name: parameter }));
        return Number(out.Parameter?.Value);
      } catch (err) {
        if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
        throw err;
      }
    },
  };
}

/**
 * Synthesizes the stack for `region` (no bundling: only the template is read) and returns its
 * template, or the synth's AWS-rule and cdk-nag findings as failed checks.
 */
async function synthFor(
  region: string,
  context: Record<string, string>,
): Promise<{ template?: Template; stackName: string; findings: Check[] }> {
  const { buildApp } = await import('../infra/app.ts');
  const outdir = mkdtempSync(join(tmpdir(), 'infera-preflight-'));
  try {
    const { app, stack } = await buildApp({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [], ...context },
      env: { region },
    });
    try {
      const assembly = app.synth();
      const artifact = assembly.getStackByName(stack.stackName);
      const template = JSON.parse(
        readFileSync(join(assembly.directory, artifact.templateFile), 'utf8'),
      ) as Template;
      return { template, stackName: stack.stackName, findings: [] };
    } catch (err) {
      if (!/Validation failed/.test((err as Error).message)) throw err;
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: {
          pluginName: string;
          violations: { ruleName: string; description: string; suggestedFix?: string }[];
        }[];
      };
      const findings = report.pluginReports.flatMap((p) =>
        p.violations.map(
          (v): Check => ({
            name: `synth: ${v.ruleName}`,
            verdict: 'fail',
            detail: v.description,
            ...(v.suggestedFix ? { fix: v.suggestedFix } : {}),
          }),
        ),
      );
      return { stackName: stack.stackName, findings };
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`The stack does not synthesize: ${(err as Error).message.replace(/^infera: /, '')}`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export async function preflightCommand(
  args: string[],
  account?: (region: string) => AccountReader,
): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'infera preflight',
      help: PREFLIGHT_HELP,
      options: {
        region: { type: 'string' },
        profile: { type: 'string' },
        context: { type: 'string', short: 'c', multiple: true },
        json: { type: 'boolean', default: false },
      },
    },
    args,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new CliError('No region: give --region, or set AWS_REGION.', ['See: infera preflight --help'], 2);
  }
  const context: Record<string, string> = {};
  for (const kv of values.context ?? []) {
    const at = kv.indexOf('=');
    if (at < 1) throw new CliError(`-c ${kv}: expected <key>=<value>, e.g. -c infera:sagemaker=off`, [], 2);
    context[kv.slice(0, at)] = kv.slice(at + 1);
  }

  const synth = await synthFor(region, context);
  const checks: Check[] = [
    ...(synth.findings.length > 0
      ? synth.findings
      : [
          {
            name: 'synth',
            verdict: 'pass' as const,
            detail: `${synth.stackName} synthesizes for ${region} with no AWS-rule or cdk-nag finding`,
          },
        ]),
  ];
  if (synth.template) {
    const reader = account ? account(region) : sdkAccount(region, values.profile);
    checks.push(...(await preflight(needsOf(synth.template), reader, region)));
  }

  if (values.json) console.log(JSON.stringify({ region, stack: synth.stackName, checks }, null, 2));
  else {
    console.log(`infera preflight: ${synth.stackName} in ${region}\n`);
    console.log(
      table([
        ['CHECK', 'RESULT', 'DETAIL'],
        ...checks.map((c) => [c.name, c.verdict.toUpperCase(), c.detail]),
      ]),
    );
    const todo = checks.filter((c) => c.fix && c.verdict !== 'pass');
    if (todo.length > 0) {
      console.log('\nWhat to do:');
      for (const c of todo) console.log(`  ${c.name}: ${c.fix}`);
    }
    const count = (v: string) => checks.filter((c) => c.verdict === v).length;
    console.log(`\nchecks: ${count('pass')} pass, ${count('fail')} fail, ${count('unknown')} unknown`);
    if (count('unknown') > 0)
      console.log('An unknown check is not a pass: check it where it says before you deploy.');
  }
  return checks.some((c) => c.verdict === 'fail') ? 1 : 0;
}
