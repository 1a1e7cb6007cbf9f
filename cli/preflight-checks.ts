/**
 * What `infera preflight` checks, without the SDK: what a synthesized template asks of an account
 * (needsOf), and each check's verdict from what the account answered (preflight). The account is
 * a port, so the checks run against moto, recorded SDK responses, or AWS alike. A check whose
 * answer cannot be read is "unknown", with the reason and the console page to look at: it never
 * passes silently.
 */
import { cite, limitOf, serverlessInferenceIn } from '#core/aws/rules.ts';

export type Verdict = 'pass' | 'fail' | 'unknown';

export interface Check {
  readonly name: string;
  readonly verdict: Verdict;
  readonly detail: string;
  /** What to do about a fail, or where to look for an unknown. */
  readonly fix?: string;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
export interface Template {
  readonly Resources?: Record<string, Resource>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Rules?: Record<string, unknown>;
}

/** What a deployment asks of its account. */
export interface StackNeeds {
  readonly functions: number;
  /** Reserved concurrency, summed over the functions that reserve any. */
  readonly reserved: number;
  /** Executions the stack can run at once at its own bounds: reservations, SQS maximums, and one for each other function. */
  readonly peak: number;
  /** Instance type -> instances, over every instance endpoint (blue/green updates run both fleets). */
  readonly instances: ReadonlyMap<string, number>;
  /** Serverless endpoints: config logical id -> MaxConcurrency. */
  readonly serverless: ReadonlyMap<string, number>;
  /** Serving images built in CodeBuild during the deployment (infera:imageBuild=codebuild). */
  readonly imageBuilds: number;
  readonly bootstrapParameter: string;
  readonly bootstrapVersion: number;
}

const num = (v: unknown) =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : 0;

/** Reads a template for what its deployment needs of an account. */
export function needsOf(t: Template): StackNeeds {
  const all = Object.values(t.Resources ?? {});
  const functions = all.filter((r) => r.Type === 'AWS::Lambda::Function');
  let reserved = 0;
  let peak = 0;
  for (const f of functions) {
    const r = num(f.Properties?.ReservedConcurrentExecutions);
    reserved += r;
    peak += r > 0 ? r : 1;
  }
  for (const esm of all.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')) {
    const max = num(
      (esm.Properties?.ScalingConfig as Record<string, unknown> | undefined)?.MaximumConcurrency,
    );
    if (max > 1) peak += max - 1; // its function already counts one
  }
  const instances = new Map<string, number>();
  const serverless = new Map<string, number>();
  for (const [id, r] of Object.entries(t.Resources ?? {})) {
    if (r.Type !== 'AWS::SageMaker::EndpointConfig') continue;
    for (const v of (r.Properties?.ProductionVariants as Record<string, unknown>[] | undefined) ?? []) {
      const sc = v.ServerlessConfig as Record<string, unknown> | undefined;
      if (sc) serverless.set(id, num(sc.MaxConcurrency));
      else if (typeof v.InstanceType === 'string') {
        instances.set(v.InstanceType, (instances.get(v.InstanceType) ?? 0) + num(v.InitialInstanceCount));
      }
    }
  }
  const parameter = t.Parameters?.BootstrapVersion?.Default;
  // CDK's rule lists the versions it refuses (["1", ..., "5"]): the one it needs is one more.
  const refused = JSON.stringify(t.Rules?.CheckBootstrapVersion ?? {}).match(/\["1"(?:,"\d+")*\]/)?.[0];
  const bootstrapVersion = refused ? (JSON.parse(refused) as string[]).length + 1 : 6;
  return {
    functions: functions.length,
    reserved,
    peak,
    instances,
    serverless,
    imageBuilds: all.filter((r) => r.Type === 'Custom::CDKContainerImageBuild').length,
    bootstrapParameter: typeof parameter === 'string' ? parameter : '/cdk-bootstrap/hnb659fds/version',
    bootstrapVersion,
  };
}

/** The account, as preflight reads it; each call may fail (no permission, not implemented). */
export interface AccountReader {
  /** Lambda GetAccountSettings: AccountLimit.ConcurrentExecutions. */
  lambdaConcurrency(): Promise<number>;
  /** Service Quotas ListServiceQuotas for SageMaker: quota name -> value. */
  sagemakerQuotas(): Promise<ReadonlyMap<string, number>>;
  /** Service Quotas ListServiceQuotas for CodeBuild: quota name -> value. */
  codebuildQuotas(): Promise<ReadonlyMap<string, number>>;
  /** The CDK bootstrap stack's version (its SSM parameter), or undefined when there is none. */
  bootstrapVersion(parameter: string): Promise<number | undefined>;
}

const QUOTAS_CONSOLE = (region: string, service: string) =>
  `https://${region}.console.aws.amazon.com/servicequotas/home/services/${service}/quotas`;

function why(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const first = (e.message ?? String(err)).split('\n')[0] ?? '';
  return `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${first.slice(0, 200)}`;
}

/** Serverless concurrency shared by every serverless endpoint of an account and region. */
export const SERVERLESS_TOTAL_QUOTA =
  'Maximum total concurrency that can be allocated across all serverless endpoints';

/** Runs every check. `region` is where the stack goes; `reserving` is infera:reservedConcurrency. */
export async function preflight(needs: StackNeeds, account: AccountReader, region: string): Promise<Check[]> {
  const checks: Check[] = [];

  try {
    const quota = await account.lambdaConcurrency();
    const minimum = limitOf('lambda-unreserved-minimum');
    const need = needs.reserved > 0 ? needs.reserved + minimum : needs.peak;
    checks.push(
      quota >= need
        ? {
            name: 'Lambda concurrency',
            verdict: 'pass',
            detail: `quota ${quota}; the stack ${needs.reserved > 0 ? `reserves ${needs.reserved} and Lambda keeps ${minimum} unreserved` : `runs up to ${needs.peak} executions at its own bounds (${needs.functions} functions, the batch queue's maximum)`}.${needs.reserved === 0 && quota >= needs.peak + minimum ? ` To reserve concurrency for each function: -c infera:reservedConcurrency=true -c infera:accountConcurrency=${quota}.` : ''}`,
          }
        : {
            name: 'Lambda concurrency',
            verdict: 'fail',
            detail: `quota ${quota} concurrent executions; the stack ${needs.reserved > 0 ? `reserves ${needs.reserved}, and Lambda keeps ${minimum} unreserved, so it needs ${need}` : `needs ${need} to run each of its ${needs.functions} functions once, and the batch queue at its maximum, at the same time`}. ${cite('lambda-concurrency-new-account')}`,
            fix: `Request "Concurrent executions" of at least ${Math.max(need, 1000)} in Service Quotas (${QUOTAS_CONSOLE(region, 'lambda')}/L-B99A9384)${needs.reserved > 0 ? ', or deploy with -c infera:reservedConcurrency=false' : ''}.`,
          },
    );
  } catch (err) {
    checks.push({
      name: 'Lambda concurrency',
      verdict: 'unknown',
      detail: `GetAccountSettings did not answer: ${why(err)}`,
      fix: `Read "Concurrent executions" in ${QUOTAS_CONSOLE(region, 'lambda')}/L-B99A9384; the stack needs ${needs.reserved > 0 ? needs.reserved + limitOf('lambda-unreserved-minimum') : needs.peak}.`,
    });
  }

  if (needs.instances.size > 0 || needs.serverless.size > 0) {
    try {
      const quotas = await account.sagemakerQuotas();
      for (const [type, count] of needs.instances) {
        const name = `${type} for endpoint usage`;
        const value = quotas.get(name);
        // Blue/green updates run the old and the new fleet side by side.
        const need = count * 2;
        checks.push(
          value === undefined
            ? {
                name: `SageMaker ${type}`,
                verdict: 'unknown',
                detail: `no quota named "${name}" was listed`,
                fix: `Look it up in ${QUOTAS_CONSOLE(region, 'sagemaker')}.`,
              }
            : value >= need
              ? {
                  name: `SageMaker ${type}`,
                  verdict: 'pass',
                  detail: `quota ${value}; the stack needs ${need} (${count}, twice during a blue/green update)`,
                }
              : {
                  name: `SageMaker ${type}`,
                  verdict: 'fail',
                  detail: `quota "${name}" is ${value}; the stack needs ${need} (${count}, twice during a blue/green update). The endpoint would fail with ResourceLimitExceeded and the stack roll back.`,
                  fix: `Request "${name}" of at least ${need} in ${QUOTAS_CONSOLE(region, 'sagemaker')}, or serve the model serverless (-c infera:sagemaker=serverless).`,
                },
        );
      }
      if (needs.serverless.size > 0) {
        const total = [...needs.serverless.values()].reduce((a, b) => a + b, 0);
        const value = quotas.get(SERVERLESS_TOTAL_QUOTA);
        checks.push(
          value === undefined
            ? {
                name: 'SageMaker serverless concurrency',
                verdict: 'unknown',
                detail: `no quota named "${SERVERLESS_TOTAL_QUOTA}" was listed`,
                fix: `Look it up in ${QUOTAS_CONSOLE(region, 'sagemaker')}.`,
              }
            : value >= total
              ? {
                  name: 'SageMaker serverless concurrency',
                  verdict: 'pass',
                  detail: `quota ${value}; the stack's serverless endpoints take ${total}`,
                }
              : {
                  name: 'SageMaker serverless concurrency',
                  verdict: 'fail',
                  detail: `quota "${SERVERLESS_TOTAL_QUOTA}" is ${value}; the stack's ${needs.serverless.size} serverless endpoint(s) take ${total}.`,
                  fix: `Request at least ${total} in ${QUOTAS_CONSOLE(region, 'sagemaker')}, or lower target.serverless.maxConcurrency.`,
                },
        );
      }
    } catch (err) {
      checks.push({
        name: 'SageMaker quotas',
        verdict: 'unknown',
        detail: `Service Quotas did not answer for SageMaker: ${why(err)}`,
        fix: `Check ${[...needs.instances.keys()]
          .map((t) => `"${t} for endpoint usage"`)
          .concat(needs.serverless.size > 0 ? [`"${SERVERLESS_TOTAL_QUOTA}"`] : [])
          .join(', ')} in ${QUOTAS_CONSOLE(region, 'sagemaker')}.`,
      });
    }
  }

  if (needs.imageBuilds > 0) checks.push(await codebuildCheck(needs.imageBuilds, account, region));

  try {
    const version = await account.bootstrapVersion(needs.bootstrapParameter);
    checks.push(
      version === undefined
        ? {
            name: 'CDK bootstrap',
            verdict: 'fail',
            detail: `${region} is not bootstrapped: no ${needs.bootstrapParameter} parameter.`,
            fix: `npx cdk bootstrap aws://<account>/${region}`,
          }
        : version >= needs.bootstrapVersion
          ? {
              name: 'CDK bootstrap',
              verdict: 'pass',
              detail: `version ${version} (the stack needs ${needs.bootstrapVersion} or later)`,
            }
          : {
              name: 'CDK bootstrap',
              verdict: 'fail',
              detail: `version ${version}; the stack needs ${needs.bootstrapVersion} or later.`,
              fix: `npx cdk bootstrap aws://<account>/${region} (it upgrades the CDKToolkit stack in place)`,
            },
    );
  } catch (err) {
    checks.push({
      name: 'CDK bootstrap',
      verdict: 'unknown',
      detail: `the ${needs.bootstrapParameter} parameter could not be read: ${why(err)}`,
      fix: `Look for the CDKToolkit stack in https://${region}.console.aws.amazon.com/cloudformation/home, or run npx cdk bootstrap.`,
    });
  }

  if (needs.serverless.size > 0) {
    checks.push(
      serverlessInferenceIn(region)
        ? {
            name: 'Region features',
            verdict: 'pass',
            detail: `${region} offers SageMaker Serverless Inference`,
          }
        : {
            name: 'Region features',
            verdict: 'fail',
            detail: `${region} has no SageMaker Serverless Inference. ${cite('sagemaker-serverless-regions')}`,
            fix: 'Deploy with -c infera:sagemaker=off, or give the model an instance target (target.instanceType).',
          },
    );
  } else {
    checks.push({
      name: 'Region features',
      verdict: 'pass',
      detail: `the stack uses nothing ${region} lacks`,
    });
  }
  return checks;
}

/** The CodeBuild quota the image builds run under: one small Linux build at a time is enough. */
async function codebuildCheck(builds: number, account: AccountReader, region: string): Promise<Check> {
  const name = 'CodeBuild image builds';
  const where = QUOTAS_CONSOLE(region, 'codebuild');
  const unverified =
    'A new account AWS has not yet verified can refuse every build ("Cannot have more than 0 builds in queue for the account") whatever its quota says; AWS Support clears that.';
  try {
    const quotas = await account.codebuildQuotas();
    const entry = [...quotas].find(([n]) => /concurrently running builds.*linux\/small/i.test(n));
    if (!entry) {
      return {
        name,
        verdict: 'unknown',
        detail: `no quota for concurrently running Linux/Small builds was listed; the stack runs ${builds} build(s), one at a time.`,
        fix: `Look it up in ${where}. ${unverified}`,
      };
    }
    const [quota, value] = entry;
    return value >= 1
      ? {
          name,
          verdict: 'pass',
          detail: `"${quota}" is ${value}; the stack runs ${builds} serving-image build(s), one at a time. ${unverified}`,
        }
      : {
          name,
          verdict: 'fail',
          detail: `"${quota}" is ${value}; the stack builds ${builds} serving image(s) in CodeBuild during the deployment, which would fail. ${cite('codebuild-concurrent-builds')}`,
          fix: `Request "${quota}" of at least 1 in ${where}, or build the images with the local Docker engine: -c infera:imageBuild=docker.`,
        };
  } catch (err) {
    return {
      name,
      verdict: 'unknown',
      detail: `Service Quotas did not answer for CodeBuild: ${why(err)}`,
      fix: `Check the concurrently running builds for Linux/Small in ${where}. ${unverified}`,
    };
  }
}
