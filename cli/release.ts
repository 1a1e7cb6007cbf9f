/**
 * `infera release`, `promote`, `shadow` and `compare`: moving live traffic between versions and
 * comparing them. Locally they rewrite models/<model>/aliases.json atomically, and a running
 * `npm start` applies the change at once. On AWS (--stack / --function) release and promote move
 * the Lambda alias `live`, whose version weights are how Lambda splits traffic. Where they act is
 * decided in target.ts.
 */
import { resolve } from 'node:path';
import { type FunctionVersion, pointAlias } from '#adapters/lambda.ts';
import { promote, release, rollback, setShadow } from '#core/model/traffic.ts';
import type { MonitoringReport } from '#core/monitoring/types.ts';
import { runningPlatforms } from '../infra/local/info-file.ts';
import { numberFlag, parseCommand, usageError } from './args.ts';
import { bake, monitoringJudge, parseDuration, qualityFromApi, withQualityAlarm } from './bake.ts';
import { api, CliError, DEFAULT_URL, table } from './common.ts';
import { locateStore } from './model-store.ts';
import { storePromote, storeRelease, storeShadow } from './store-lifecycle.ts';
import {
  awsError,
  changeLocal,
  checkPlace,
  isCloud,
  LIFECYCLE_FLAGS,
  liveModelVersion,
  loadLocal,
  readCloud,
  refuseShared,
  releaseOptions,
} from './target.ts';

export const RELEASE_HELP = {
  release: `Usage: infera release <model> <version> [--canary <percent>] [--models <dir> | --stack <name>]

Sends live traffic to a model version: all of it, or <percent> of it as a canary while the rest
stays on the current live version. The current live version is kept as "previous", so
infera rollback returns to it.

Local (default): rewrites models/<model>/aliases.json, e.g. {"live": {"1": 0.8, "2": 0.2}}.
A running npm start applies it at once, no restart. Callers that send the header
x-infera-routing-key stay on one side of the split. Commit aliases.json to deploy the policy.
AWS (--stack or --function): gives the newest published function version serving <version>
the weight on the Lambda alias "live" (the same mechanism a CodeDeploy canary uses). When the
stack's models share one function, one model cannot move alone: release it locally, commit
aliases.json and cdk deploy (docs/many-models.md).

Baking a canary: with --canary, the new version is watched on its own figures, then promoted,
or rolled back at once when an alarm fires: server errors over --max-error-rate, p99 over
--max-p99-ms, or a labelled-quality alarm of its manifest (quality.alarms, from quality.minLabels
labels; see infera quality). A model store bakes by default; a local models folder when --bake
is given.

Options:
  --canary <percent>   share of live traffic for <version>, above 0 and below 100
  --bake <duration>    watch the canary this long, e.g. 5m, 1h; 0 to leave it (default: 5m
                       with a store, off for a local models folder)
  --poll <duration>    how often to look during the bake (default 15s)
  --min-requests <n>   requests the canary must serve before an alarm judges it (default 100)
  --max-error-rate <%> server errors, percent of the canary's requests (default 1)
  --max-p99-ms <ms>    p99 latency of the canary (default 1000)
  --skip-golden        release from a store without the golden-fixture check
  --models <dir>       local models folder (default: the one a running npm start
                       serves, else models)
  --stack <name>       deployed stack name; the function is <stack>-<model>,
                       or <stack>-shared-models when the stack's models share one
  --store <dir>        a local model store (npm start --store)
  --function <name>    the Lambda function name, when it is not <stack>-<model>
  --region <region>    AWS region
  --url <url>          the running platform a local bake watches (default: $INFERA_URL, or the
                       running npm start)

Examples:
  infera release fraud-detector 2 --canary 20
  infera release fraud-detector 2 --canary 20 --bake 30m
  infera release fraud-detector 2              (all traffic)
`,
  promote: `Usage: infera promote <model> [--models <dir> | --stack <name>]

Makes the candidate the live version: the canary of a split, or else the shadow version.
The version it replaces is kept as "previous" for infera rollback.

Options:
  --models <dir>       local models folder (default: the one a running npm start
                       serves, else models)
  --stack <name>       deployed stack: the canary function version takes the whole alias
  --function <name>    the Lambda function name, when it is not <stack>-<model>
  --region <region>    AWS region
`,
  shadow: `Usage: infera shadow <model> <version> | infera shadow <model> --off

Scores every live request with <version> as well, after the response has gone: the caller never
sees it and never waits for it. Its predictions are compared with the live ones (agreement,
score deltas, latency): see infera compare and the dashboard. Shadows run at most
SHADOW_MAX_IN_FLIGHT at a time; beyond that they are skipped and counted.

Local: rewrites aliases.json ("shadow": "<version>"); npm start applies it at once.
AWS: commit aliases.json and cdk deploy; the deployed function reads the same file.

Options:
  --off              stop shadowing
  --models <dir>     local models folder (default: the one a running npm start
                     serves, else models)
`,
  compare: `Usage: infera compare <model> <a> <b> [--url <url>] [--json]

Compares two versions on recorded traffic, from GET /v1/models/<model>/monitoring:
per version the requests, share, latency p50/p90/p99, error rate, mean score and
low-confidence rate; and, for requests one shadowed for the other, the agreement rate and
score deltas on the very same inputs.

Options:
  --url <url>   API to talk to (default: $INFERA_URL or ${DEFAULT_URL})
  --json        print the two versions' figures as JSON
`,
};

type Command = keyof typeof RELEASE_HELP;

function parse(command: Command, args: string[]) {
  const parsed = parseCommand(
    {
      name: `infera ${command}`,
      help: RELEASE_HELP[command],
      positionals: true,
      options: {
        ...LIFECYCLE_FLAGS,
        canary: { type: 'string' },
        off: { type: 'boolean', default: false },
        url: { type: 'string' },
        bake: { type: 'string' },
        poll: { type: 'string' },
        'min-requests': { type: 'string' },
        'max-error-rate': { type: 'string' },
        'max-p99-ms': { type: 'string' },
        'skip-golden': { type: 'boolean', default: false },
      },
    },
    args,
  );
  if (!parsed) return undefined;
  const { values } = parsed;
  const usage = RELEASE_HELP[command].split('\n')[0] as string;
  const want = { release: 2, promote: 1, shadow: values.off ? 1 : 2, compare: 3 }[command];
  if (parsed.positionals.length !== want) {
    throw usageError(
      `infera ${command}`,
      parsed.positionals.length < want
        ? `Missing arguments. ${usage}`
        : `Unexpected argument '${parsed.positionals[want]}'.`,
    );
  }
  const [model, ...rest] = parsed.positionals as [string, ...string[]];
  const o = releaseOptions(model, values);
  let canary: number | undefined;
  if (typeof values.canary === 'string') {
    canary = Number(values.canary.replace(/%$/, ''));
    if (!Number.isFinite(canary) || canary <= 0 || canary >= 100) {
      throw new CliError(
        `--canary must be a percentage above 0 and below 100, e.g. --canary 10; got '${values.canary}'.`,
        [],
        2,
      );
    }
  }
  if (command !== 'release' && canary !== undefined)
    throw new CliError('--canary is for infera release.', [], 2);
  checkPlace(o, command);
  const name = `infera ${command}`;
  const duration = (flag: 'bake' | 'poll', fallback: string) => {
    const raw = (values[flag] as string | undefined) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms > 6 * 3_600_000)
      throw usageError(name, `--${flag} must be a duration such as 5m, 30s or 0, at most 6h; got '${raw}'.`);
    return ms;
  };
  const limits = {
    bakeMs: duration('bake', '5m'),
    pollMs: Math.max(100, duration('poll', '15s')),
    minRequests:
      numberFlag(name, 'min-requests', values['min-requests'] as string | undefined, {
        min: 0,
        max: 1e9,
        integer: true,
      }) ?? 100,
    maxErrorPct:
      numberFlag(name, 'max-error-rate', values['max-error-rate'] as string | undefined, {
        min: 0,
        max: 100,
      }) ?? 1,
    maxP99Ms:
      numberFlag(name, 'max-p99-ms', values['max-p99-ms'] as string | undefined, { min: 1, max: 900_000 }) ??
      1000,
  };
  return {
    o,
    rest,
    canary,
    limits,
    skipGolden: values['skip-golden'] === true,
    bakeGiven: values.bake !== undefined,
    off: values.off === true,
    url: (values.url as string | undefined) ?? process.env.INFERA_URL ?? DEFAULT_URL,
    urlFlag: values.url as string | undefined,
  };
}

/**
 * A local canary baked on the running platform: its monitoring and its labelled quality, then
 * promoted or rolled back in aliases.json, unless the policy changed meanwhile.
 */
async function localBake(p: NonNullable<ReturnType<typeof parse>>, version: string): Promise<number> {
  const { o, limits } = p;
  // The platform serving this models folder (onPlatform turned its --url into --models).
  const url =
    runningPlatforms().find((x) => resolve(x.modelsDir) === resolve(o.models))?.url ?? p.urlFlag ?? p.url;
  const judge = withQualityAlarm(
    monitoringJudge({ url, model: o.model, version, limits }),
    version,
    qualityFromApi(url, o.model),
  );
  console.log(
    `${o.model}: baking ${Math.round(limits.bakeMs / 1000)} s on version ${version} at ${url} (server errors over ${limits.maxErrorPct}%, p99 over ${limits.maxP99Ms} ms, from ${limits.minRequests} requests; labelled quality by its manifest).`,
  );
  const verdict = await bake(judge, limits, (line) => console.log(line));
  const still = (await loadLocal(o)).policy.live.some((w) => w.version === version && w.weight < 1);
  if (!still) {
    console.log(`${o.model}: the policy changed during the bake; the verdict is not applied.`);
    return verdict.verdict === 'rollback' ? 1 : 0;
  }
  if (verdict.verdict === 'rollback') {
    console.log(`${o.model}: alarm ${verdict.alarm}: rolling back.`);
    await changeLocal(o, (file, entry) =>
      rollback(
        file,
        entry.policy,
        entry.versions.map((v) => v.version),
      ),
    );
    return 1;
  }
  if (verdict.verdict === 'undecided') {
    console.log(
      `${o.model}: version ${version} served ${verdict.requests} requests during the bake, fewer than --min-requests ${limits.minRequests}: the canary stays.`,
    );
    return 0;
  }
  return changeLocal(o, (file, entry) => promote(file, entry.policy));
}

export async function releaseCommand(args: string[]): Promise<number> {
  const p = parse('release', args);
  if (!p) return 0;
  const { o, rest, canary } = p;
  const version = rest[0] as string;
  const store = await locateStore({ ...o, ...(p.urlFlag ? { url: p.urlFlag } : {}) });
  if (store)
    return storeRelease(store, {
      model: o.model,
      version,
      ...(canary === undefined ? {} : { canary }),
      skipGolden: p.skipGolden,
      limits: p.limits,
    });
  if (!isCloud(o)) {
    const code = await changeLocal(o, (file, entry) => release(file, entry.policy, version, canary));
    return canary !== undefined && p.bakeGiven && p.limits.bakeMs > 0 ? localBake(p, version) : code;
  }
  const cloud = await readCloud(o);
  refuseShared(cloud, o, 'infera release --stack');
  const { fn, client, versions, alias } = cloud;
  const target = newestServing(versions, version);
  if (!target) throw noneServing(fn, o.model, version, versions);
  const current = alias.functionVersion;
  if (target.version === current) {
    console.log(`${fn}:live is already on function version ${current} (model ${version}); nothing changed.`);
    return 0;
  }
  const weight = canary === undefined ? undefined : Math.round(canary * 100) / 10_000;
  try {
    const after = await pointAlias(
      client,
      fn,
      'live',
      weight === undefined ? target.version : current,
      `infera release ${o.model} ${version}${weight === undefined ? '' : ` --canary ${canary}`} at ${new Date().toISOString()}`,
      weight === undefined ? {} : { [target.version]: weight },
    );
    console.log(
      weight === undefined
        ? `${fn}:live ${current} -> ${after.functionVersion} (model ${version}).`
        : `${fn}:live ${current} (${Math.round((1 - weight) * 1000) / 10}%) + ${target.version} (model ${version}, ${Math.round(weight * 1000) / 10}%, canary).`,
    );
  } catch (err) {
    awsError(err, fn);
  }
  console.log('The next cdk deploy sets live from aliases.json again: commit the same change there.');
  return 0;
}

export async function promoteCommand(args: string[]): Promise<number> {
  const p = parse('promote', args);
  if (!p) return 0;
  const { o } = p;
  const store = await locateStore({ ...o, ...(p.urlFlag ? { url: p.urlFlag } : {}) });
  if (store) return storePromote(store, o.model);
  if (!isCloud(o)) return changeLocal(o, (file, entry) => promote(file, entry.policy));
  const { fn, client, versions, alias } = await readCloud(o);
  const [canary] = Object.keys(alias.additionalWeights);
  if (!canary) {
    throw new CliError(`${fn}:live has no canary weight; there is nothing to promote.`, [
      `Start one with: infera release ${o.model} <version> --canary 10 --stack ...`,
    ]);
  }
  try {
    await pointAlias(client, fn, 'live', canary, `infera promote at ${new Date().toISOString()}`);
  } catch (err) {
    awsError(err, fn);
  }
  const model = liveModelVersion(
    versions.find((v) => v.version === canary) ?? {
      version: canary,
      description: '',
      lastModified: '',
      codeSha256: '',
    },
  );
  console.log(`${fn}:live ${alias.functionVersion} -> ${canary} (model ${model ?? '?'}), canary promoted.`);
  return 0;
}

export async function shadowCommand(args: string[]): Promise<number> {
  const p = parse('shadow', args);
  if (!p) return 0;
  const { o, rest, off } = p;
  const store = await locateStore({ ...o, ...(p.urlFlag ? { url: p.urlFlag } : {}) });
  if (store) return storeShadow(store, o.model, off ? undefined : rest[0]);
  if (isCloud(o)) {
    throw new CliError('On AWS a shadow version is part of the deployed package, not of the alias.', [
      `Set it locally (infera shadow ${o.model} <version>), commit models/${o.model}/aliases.json and run cdk deploy.`,
    ]);
  }
  return changeLocal(o, (file, entry) => setShadow(file, entry.policy, off ? undefined : rest[0]));
}

function newestServing(versions: readonly FunctionVersion[], model: string): FunctionVersion | undefined {
  return [...versions].reverse().find((v) => liveModelVersion(v) === model);
}

function noneServing(fn: string, model: string, version: string, versions: readonly FunctionVersion[]) {
  const served = [...new Set(versions.map(liveModelVersion).filter(Boolean))].join(', ') || 'none';
  return new CliError(
    `No published version of ${fn} serves ${model} version ${version}. Model versions on record: ${served}.`,
    ['Deploy it first: add models/<model>/<version>/ and run cdk deploy (live stays where it is).'],
  );
}

// ---------------------------------------------------------------- compare

type VersionFigures = MonitoringReport['versions'][number];

export async function compareCommand(args: string[]): Promise<number> {
  const p = parse('compare', args);
  if (!p) return 0;
  const { o, rest, url } = p;
  const [a, b] = rest as [string, string];
  if (a === b)
    throw new CliError('Name two different versions, e.g. infera compare fraud-detector 1 2.', [], 2);
  const report = (await api(
    url,
    `/v1/models/${encodeURIComponent(o.model)}/monitoring`,
  )) as MonitoringReport & {
    policy: { live: { version: string; weight: number }[]; shadow: string | null };
  };
  const va = report.versions.find((v) => v.version === a);
  const vb = report.versions.find((v) => v.version === b);
  const pairs = report.comparisons.filter(
    (c) => (c.primary === a && c.shadow === b) || (c.primary === b && c.shadow === a),
  );
  if (o.json) {
    console.log(
      JSON.stringify(
        {
          model: o.model,
          policy: report.policy,
          versions: { [a]: va ?? null, [b]: vb ?? null },
          comparisons: pairs,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const total = (va?.total.requests ?? 0) + (vb?.total.requests ?? 0);
  const weight = (v: string) => report.policy.live.find((w) => w.version === v)?.weight;
  const role = (v: string) =>
    weight(v) !== undefined
      ? `live ${Math.round((weight(v) as number) * 1000) / 10}%`
      : report.policy.shadow === v
        ? 'shadow'
        : 'not live';
  const col = (v: VersionFigures | undefined, f: (x: VersionFigures) => string) => (v ? f(v) : 'no traffic');
  const ms = (x: VersionFigures) =>
    `${fmt(x.total.latencyMs.p50)} / ${fmt(x.total.latencyMs.p90)} / ${fmt(x.total.latencyMs.p99)}`;
  console.log(`${o.model}: version ${a} vs ${b}, traffic since ${report.since} (this platform process)\n`);
  console.log(
    table([
      ['', `v${a}`, `v${b}`],
      ['policy', role(a), role(b)],
      ['requests', col(va, (x) => String(x.total.requests)), col(vb, (x) => String(x.total.requests))],
      [
        'share served',
        col(va, (x) => pct(total ? x.total.requests / total : 0)),
        col(vb, (x) => pct(total ? x.total.requests / total : 0)),
      ],
      ['latency p50/p90/p99 ms', col(va, ms), col(vb, ms)],
      ['error rate', col(va, (x) => pct(x.total.errorRate)), col(vb, (x) => pct(x.total.errorRate))],
      ['mean score', col(va, (x) => fmt(x.total.meanScore)), col(vb, (x) => fmt(x.total.meanScore))],
      [
        'low confidence',
        col(va, (x) => pct(x.total.lowConfidenceRate)),
        col(vb, (x) => pct(x.total.lowConfidenceRate)),
      ],
      ['drifting features', col(va, (x) => drifting(x)), col(vb, (x) => drifting(x))],
    ]),
  );
  console.log('');
  if (pairs.length === 0) {
    console.log(
      `No paired traffic: ${a} and ${b} have not scored the same requests, so agreement is unknown.\n` +
        `Record it with: infera shadow ${o.model} ${b}   (every live request is also scored by ${b})`,
    );
    return 0;
  }
  for (const c of pairs) {
    console.log(
      `Paired on the same requests (v${c.primary} live, v${c.shadow} shadow): ${c.requests} requests, ${c.instances} instances`,
    );
    console.log(
      table([
        ['agreement', pct(c.agreement ?? 0)],
        ['mean score delta (shadow - live)', fmt(c.meanDelta)],
        ['mean |score delta|', fmt(c.meanAbsDelta)],
        ['max |score delta|', fmt(c.maxAbsDelta)],
        ['latency p50/p99 ms, live', `${fmt(c.latencyMs.primary.p50)} / ${fmt(c.latencyMs.primary.p99)}`],
        ['latency p50/p99 ms, shadow', `${fmt(c.latencyMs.shadow.p50)} / ${fmt(c.latencyMs.shadow.p99)}`],
        ['shadow errors / skipped', `${c.errors} / ${c.skipped}`],
      ]).replace(/^/gm, '  '),
    );
  }
  return 0;
}

const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 1000) / 10}%`);
const fmt = (v: number | null) => (v === null ? '-' : String(Number(v.toPrecision(3))));
const drifting = (x: VersionFigures) =>
  x.features
    .filter((f) => f.window.drifting)
    .map((f) => f.name)
    .join(', ') || 'none';
