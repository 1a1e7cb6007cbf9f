/**
 * `infera deployments` and `infera rollback`: where `live` points and moving it back, either in
 * the local models/ folder (aliases.json) or on a deployed stack (the Lambda alias `live`).
 */
import { join } from 'node:path';
import { type FunctionVersion, pointAlias } from '#adapters/lambda.ts';
import { relPath } from '#core/model/paths.ts';
import { rollback } from '#core/model/traffic.ts';
import { parseCommand, usageError } from './args.ts';
import { CliError, table } from './common.ts';
import { locateStore } from './model-store.ts';
import { storeDeployments, storeRollback } from './store-lifecycle.ts';
import {
  awsError,
  changeLocal,
  checkPlace,
  isCloud,
  LIFECYCLE_FLAGS,
  liveModelVersion,
  loadLocal,
  type ReleaseOptions,
  readCloud,
  refuseShared,
  releaseOptions,
} from './target.ts';

export const DEPLOYMENTS_HELP = {
  deployments: `Usage: infera deployments <model> [--stack <name> | --function <name>] [--region <r>] [--models <dir>] [--json]

Shows a model's versions and where its "live" alias points.

Local (default): reads models/<model>/ and aliases.json.
AWS (--stack or --function): lists the published versions of the model's Lambda function and
its "live" alias, including a canary split while CodeDeploy shifts traffic. Uses your AWS
credentials and region as the AWS CLI does.

Options:
  --stack <name>      deployed stack name (cdk.json infera:stackName, default Infera); the
                      function is <stack>-<model>, or <stack>-shared-models when the
                      stack's models share one
  --function <name>   the Lambda function name, when it is not <stack>-<model>
  --region <region>   AWS region (default: AWS_REGION / your profile)
  --models <dir>      local models folder (default: the one a running npm start
                      serves, else models)
  --json              print JSON
`,
  rollback: `Usage: infera rollback <model> [--to <version>] [--stack <name> | --function <name>] [--region <r>] [--models <dir>] [--yes]

Moves a model's "live" alias back.

Local (default): points "live" in models/<model>/aliases.json back to one version: from a
canary split, the stable side; otherwise "previous" (set by infera release), or else the next
lower version; or --to <version>. A running npm start applies it at once.
AWS (--stack or --function): points the Lambda alias "live" at the previous published function
version, or at the newest one whose live model version is --to <version>. Each Lambda version
holds its code and its models, so both roll back together. This is immediate and takes any
canary weight off. A shared model function moves back whole: every model with it. The next
cdk deploy moves "live" again: revert models/ (or aliases.json) in git before you deploy, or
the rollback is undone.

Options:
  --to <version>      model version to serve (default: the one before the current)
  --stack <name>      deployed stack name; the function is <stack>-<model>,
                      or <stack>-shared-models when the stack's models share one
  --function <name>   the Lambda function name, when it is not <stack>-<model>
  --region <region>   AWS region
  --models <dir>      local models folder (default: the one a running npm start
                      serves, else models)
`,
};

function parse(command: 'deployments' | 'rollback', args: string[]): ReleaseOptions | undefined {
  const parsed = parseCommand(
    {
      name: `infera ${command}`,
      help: DEPLOYMENTS_HELP[command],
      positionals: true,
      options: { ...LIFECYCLE_FLAGS, to: { type: 'string' } },
    },
    args,
  );
  if (!parsed) return undefined;
  const { values } = parsed;
  const [model, extra] = parsed.positionals;
  if (!model)
    throw new CliError(`Name the model: infera ${command} <model>`, ['List models with: infera models'], 2);
  if (extra) throw usageError(`infera ${command}`, `Unexpected argument '${extra}'.`);
  if (command === 'deployments' && values.to) {
    throw new CliError('--to is for infera rollback.', [], 2);
  }
  const o = releaseOptions(model, values);
  checkPlace(o, command);
  return o;
}

export async function deploymentsCommand(args: string[]): Promise<number> {
  const o = parse('deployments', args);
  if (!o) return 0;
  const store = await locateStore(o);
  if (store) return storeDeployments(store, o.model, o.json);
  if (!isCloud(o)) {
    const entry = await loadLocal(o);
    const share = new Map(entry.policy.live.map((w) => [w.version, w.weight]));
    const rows = entry.versions.map((v) => ({
      version: v.version,
      live: share.has(v.version),
      ...(share.size > 1 && share.has(v.version) ? { weight: share.get(v.version) } : {}),
      ...(entry.policy.shadow === v.version ? { shadow: true } : {}),
      aliases: Object.entries(entry.aliases)
        .filter(([, t]) => t === v.version)
        .map(([a]) => a),
      target: v.placement.target,
      createdAt: v.manifest.lineage?.createdAt ?? '',
      sha256: v.manifest.sha256,
    }));
    if (o.json) {
      console.log(JSON.stringify({ model: o.model, where: 'local', versions: rows }, null, 2));
      return 0;
    }
    console.log(
      table([
        ['VERSION', 'LIVE', 'ALIASES', 'TARGET', 'CREATED', 'SHA256'],
        ...rows.map((r) => [
          `${r.live ? '* ' : '  '}${r.version}`,
          r.live ? `${Math.round((r.weight ?? 1) * 100)}%` : r.shadow ? 'shadow' : '-',
          r.aliases.join(',') || '-',
          r.target,
          r.createdAt || '-',
          r.sha256.slice(0, 12),
        ]),
      ]),
    );
    console.log(`\n* live (${relPath(join(o.models, o.model, 'aliases.json'))})`);
    return 0;
  }
  const { fn, versions, alias } = await readCloud(o);
  if (o.json) {
    console.log(JSON.stringify({ model: o.model, function: fn, alias, versions }, null, 2));
    return 0;
  }
  console.log(
    table([
      ['FUNCTION VERSION', 'MODEL LIVE', 'TRAFFIC', 'DEPLOYED', 'CODE SHA256'],
      ...versions.map((v) => {
        const weight = alias.additionalWeights[v.version];
        const traffic =
          v.version === alias.functionVersion
            ? `${Math.round((1 - Object.values(alias.additionalWeights).reduce((a, b) => a + b, 0)) * 100)}%`
            : weight !== undefined
              ? `${Math.round(weight * 100)}% (canary)`
              : '-';
        return [
          `${v.version === alias.functionVersion ? '* ' : '  '}${v.version}`,
          liveModelVersion(v) ?? '?',
          traffic,
          v.lastModified || '-',
          v.codeSha256.slice(0, 12),
        ];
      }),
    ]),
  );
  console.log(`\n* ${fn}:live`);
  return 0;
}

export async function rollbackCommand(args: string[]): Promise<number> {
  const o = parse('rollback', args);
  if (!o) return 0;
  const store = await locateStore(o);
  if (store) return storeRollback(store, o.model, o.to);
  if (!isCloud(o)) {
    return changeLocal(o, (file, entry) =>
      rollback(
        file,
        entry.policy,
        entry.versions.map((v) => v.version),
        o.to,
      ),
    );
  }
  const cloud = await readCloud(o);
  if (o.to) refuseShared(cloud, o, 'infera rollback --to');
  const { fn, client, versions, alias } = cloud;
  const current = alias.functionVersion;
  let target: FunctionVersion | undefined;
  if (o.to) {
    target = [...versions].reverse().find((v) => liveModelVersion(v) === o.to && v.version !== current);
    if (!target) {
      const served = [...new Set(versions.map(liveModelVersion).filter(Boolean))].join(', ') || 'none';
      throw new CliError(
        `No other published version of ${fn} serves ${o.model} version ${o.to}. Model versions on record: ${served}.`,
        [`See: infera deployments ${o.model} --stack ...`],
      );
    }
  } else {
    target = [...versions].reverse().find((v) => Number(v.version) < Number(current));
    if (!target)
      throw new CliError(
        `${fn}:live is on version ${current}, the oldest published; nothing to roll back to.`,
      );
  }
  const canary = Object.keys(alias.additionalWeights).length > 0;
  let after: Awaited<ReturnType<typeof pointAlias>>;
  try {
    after = await pointAlias(
      client,
      fn,
      'live',
      target.version,
      `Rolled back by infera rollback from ${current} at ${new Date().toISOString()}`,
    );
  } catch (err) {
    awsError(err, fn);
  }
  console.log(
    `${fn}:live ${current} (model ${liveModelVersion(versions.find((v) => v.version === current) ?? target) ?? '?'}) -> ${after.functionVersion} (model ${liveModelVersion(target) ?? '?'})${canary ? ', canary weight removed' : ''}.`,
  );
  if (canary)
    console.log(
      'A CodeDeploy deployment was shifting traffic: stop it in CodeDeploy so it does not shift again.',
    );
  if (cloud.shared)
    console.log(
      `${fn} serves every model of the stack: all of them are back on function version ${after.functionVersion}, and ${o.model} with them.`,
    );
  console.log('The next cdk deploy moves live again: revert models/ in git first.');
  return 0;
}
