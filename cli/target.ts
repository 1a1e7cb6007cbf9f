import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FunctionVersion, getAlias, lambdaClient, listVersions } from '#adapters/lambda.ts';
import { ModelPackageError } from '#core/errors.ts';
import { relPath } from '#core/model/paths.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { type AliasesFile, aliasesFileOf, namedVersions, type Transition } from '#core/model/traffic.ts';
import {
  isSharedDescription,
  liveFromDescription,
  modelFunctionName,
  sharedModelsFunctionName,
} from '../infra/lib/names.ts';
import { CliError } from './common.ts';

/**
 * Where a model-lifecycle command acts: the local models/ folder (aliases.json, which a running
 * npm start applies at once) or a deployed model function (its Lambda alias `live`, with --stack
 * or --function). Shared by release, promote, shadow, deployments and rollback.
 */

export interface ReleaseOptions {
  readonly model: string;
  readonly to?: string;
  readonly stack?: string;
  readonly function?: string;
  readonly region?: string;
  /** A local model store folder (npm start --store). */
  readonly store?: string;
  readonly models: string;
  readonly json: boolean;
}

/** The flags every model-lifecycle command takes: where it acts (a models folder or a stack) and --json. */
export const LIFECYCLE_FLAGS = {
  models: { type: 'string', default: 'models' },
  stack: { type: 'string' },
  function: { type: 'string' },
  region: { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** The options every model-lifecycle command shares, from parsed flags. */
export function releaseOptions(
  model: string,
  values: Readonly<Record<string, string | boolean | undefined>>,
): ReleaseOptions {
  return {
    model,
    models: values.models as string,
    json: values.json === true,
    ...(typeof values.to === 'string' ? { to: values.to } : {}),
    ...(typeof values.stack === 'string' ? { stack: values.stack } : {}),
    ...(typeof values.function === 'string' ? { function: values.function } : {}),
    ...(typeof values.region === 'string' ? { region: values.region } : {}),
    ...(typeof values.store === 'string' ? { store: values.store } : {}),
  };
}

export const isCloud = (o: ReleaseOptions) => o.stack !== undefined || o.function !== undefined;

/** A command may name one place to act: a stack, a function, or a store folder. */
export function checkPlace(o: ReleaseOptions, command: string): void {
  if (o.store !== undefined && isCloud(o))
    throw new CliError(`infera ${command}: give --store <dir> or --stack/--function, not both.`, [], 2);
}

/** The Lambda function of a model on a stack: the name the CDK gives it (infra/lib/names.ts). */
export function functionNameFor(o: ReleaseOptions): string {
  if (o.function) return o.function;
  const name = modelFunctionName(o.stack as string, o.model);
  if (!name) {
    throw new CliError(
      `The function name ${o.stack}-${o.model} would be over 64 characters, so the stack let CloudFormation name it.`,
      ['Pass it with --function (see the Function-<model> output of the stack).'],
      2,
    );
  }
  return name;
}

/** The model version a Lambda version serves, from the description the CDK gives it. */
export function liveModelVersion(v: FunctionVersion): string | undefined {
  return liveFromDescription(v.description);
}

/**
 * The model's function on AWS, its published versions and its live alias. On a stack whose models
 * share one function, there is no <stack>-<model>: the shared function is the model's.
 */
export async function readCloud(o: ReleaseOptions) {
  const client = lambdaClient(o.region ? { region: o.region } : {});
  const read = async (fn: string) => {
    const [versions, alias] = await Promise.all([listVersions(client, fn), getAlias(client, fn, 'live')]);
    return { fn, client, versions, alias, shared: versions.some((v) => isSharedDescription(v.description)) };
  };
  const fn = functionNameFor(o);
  try {
    return await read(fn);
  } catch (err) {
    const shared = o.function ? undefined : sharedModelsFunctionName(o.stack as string);
    if ((err as { name?: string }).name !== 'ResourceNotFoundException' || !shared) awsError(err, fn);
    try {
      return await read(shared);
    } catch {
      awsError(err, fn);
    }
  }
}

/**
 * Refuses a per-model move of a shared model function's alias: its versions hold every model, so
 * the alias cannot move one model alone.
 */
export function refuseShared(cloud: { fn: string; shared: boolean }, o: ReleaseOptions, what: string): void {
  if (!cloud.shared) return;
  throw new CliError(
    `${o.model} is served by ${cloud.fn}, which all of the stack's models share: its Lambda versions hold every model, so ${what} cannot move ${o.model} alone.`,
    [
      `Release it in models/ (infera release ${o.model} <version> [--canary <percent>]), commit aliases.json and cdk deploy: CodeDeploy canaries the new function version, in which only ${o.model} changed, after its hook checks every model's golden fixtures.`,
      `infera rollback ${o.model} --stack ${o.stack ?? '<stack>'} moves the whole function back one version.`,
    ],
  );
}

export async function loadLocal(o: ReleaseOptions) {
  try {
    const registry = await ModelRegistry.load(o.models, { only: [o.model] });
    return registry.get(o.model);
  } catch (err) {
    if (err instanceof ModelPackageError) throw new CliError(err.message, [], 1);
    throw err;
  }
}

export function awsError(err: unknown, fn: string): never {
  const e = err as { name?: string; message?: string };
  if (e.name === 'ResourceNotFoundException') {
    throw new CliError(`Lambda function ${fn} (or its "live" alias) was not found: ${e.message}`, [
      'Check --stack/--function and --region; the stack output Function-<model> names it.',
    ]);
  }
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '')) {
    throw new CliError(`No AWS credentials: ${e.message}`, [
      'Configure them as for the AWS CLI (aws configure, AWS_PROFILE).',
    ]);
  }
  throw new CliError(`AWS call failed (${e.name ?? 'error'}): ${e.message ?? String(err)}`);
}

/**
 * Applies a transition to a local model's aliases.json: reads it, lets `change` decide, writes
 * the result to a temporary file and renames it over the old one, so a reader (the running
 * platform) sees the old policy or the new one, never half a file.
 */
export async function changeLocal(
  o: ReleaseOptions,
  change: (file: AliasesFile, entry: Awaited<ReturnType<typeof loadLocal>>) => Transition,
): Promise<number> {
  const entry = await loadLocal(o);
  const path = join(o.models, o.model, 'aliases.json');
  // The registry has just read and checked aliases.json; the file is rebuilt from what it holds.
  const t = change(aliasesFileOf(entry.aliases, entry.policy), entry);
  if (!t.ok) {
    if (t.reason.endsWith('nothing changed.')) {
      console.log(`${o.model}: ${t.reason}`);
      return 0;
    }
    throw new CliError(`${o.model}: ${t.reason}`, t.fix ? [t.fix] : []);
  }
  const known = entry.versions.map((v) => v.version);
  for (const v of namedVersions(t.file)) {
    if (!known.includes(v)) {
      throw new CliError(`${o.model} has no version '${v}'. Known versions: ${known.join(', ')}.`, [], 2);
    }
  }
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(t.file, null, 2)}\n`);
  await rename(tmp, path);
  console.log(`${o.model}: ${t.summary} (${relPath(path)}).`);
  console.log('A running npm start applies it at once. Commit aliases.json so the next cdk deploy ships it.');
  return 0;
}
