/**
 * release, promote, rollback, shadow and deployments on a model store: one model's record moves,
 * and nothing else. A release first sends the version's own golden fixtures to the serving
 * function (asking for the version by number, before any traffic), and moves nothing when one
 * fails; with --canary it then bakes on that version's own alarms and promotes or rolls back.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { messageOf, NotFoundError, PreconditionFailedError } from '#core/errors.ts';
import { runGoldenChecks } from '#core/model/golden.ts';
import { type ModelRecord, versionsOf } from '#core/model/store/record.ts';
import {
  changePolicy,
  goldenCaseOf,
  type PolicyChange,
  requirePublished,
  requireRecord,
} from '#core/model/store/release.ts';
import { policyOf, promote, release, rollback, setShadow, type Transition } from '#core/model/traffic.ts';
import { parseCaptureTarget } from '#core/monitoring/capture.ts';
import { type QualityReport, qualityReportSchema } from '#core/quality/report-schema.ts';
import { reportKey } from '#runtime/quality.ts';
import {
  type BakeLimits,
  bake,
  cloudWatchJudge,
  monitoringJudge,
  qualityFromApi,
  withQualityAlarm,
} from './bake.ts';
import { CliError, table } from './common.ts';
import type { StoreTarget } from './model-store.ts';

type Decide = Parameters<typeof changePolicy>[2];

/** Runs a policy change and says what it did; the errors a user can act on become CliErrors. */
async function apply(t: StoreTarget, model: string, decide: Decide, reason: string, from?: ModelRecord) {
  let change: PolicyChange;
  try {
    change = await changePolicy(t.store, model, decide, reason, from);
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof PreconditionFailedError)
      throw new CliError(err.message);
    throw err;
  }
  if (!change.changed) {
    if (change.reason.endsWith('nothing changed.')) console.log(`${model}: ${change.reason}`);
    else throw new CliError(`${model}: ${change.reason}`, change.fix ? [change.fix] : []);
    return change;
  }
  console.log(
    `${model}: ${change.summary} (record revision ${change.before.revision} -> ${change.after.revision} in ${t.store.where}).`,
  );
  console.log(
    `Every instance of ${t.servedBy} serves it from its first request ${Math.round(t.ttlMs / 100) / 10} s after this; no other model changed.`,
  );
  return change;
}

async function record(t: StoreTarget, model: string): Promise<ModelRecord> {
  try {
    return await requireRecord(t.store, model);
  } catch (err) {
    if (err instanceof NotFoundError) throw new CliError(err.message);
    throw err;
  }
}

export interface StoreReleaseOptions {
  readonly model: string;
  readonly version: string;
  readonly canary?: number;
  readonly skipGolden: boolean;
  readonly limits: BakeLimits;
}

export async function storeRelease(t: StoreTarget, o: StoreReleaseOptions): Promise<number> {
  const { model, version } = o;
  const before = await record(t, model);
  try {
    requirePublished(before, version);
  } catch (err) {
    throw new CliError(messageOf(err));
  }
  // 1. The version's own fixtures, on the serving function, before any traffic moves.
  const golden = await goldenCaseOf(t.store, before, version);
  if (!golden && !o.skipGolden) {
    throw new CliError(
      `${model} version ${version} was published without fixtures/golden.json; nothing moved.`,
      [
        'Add fixtures/golden.json to a new version (infera init writes one), or pass --skip-golden to release without the check.',
      ],
    );
  }
  if (golden) {
    console.log(`${model}: checking version ${version}'s golden fixtures on ${t.servedBy} ...`);
    const [result] = await runGoldenChecks([golden], t.ask);
    if (!result?.ok) {
      throw new CliError(
        `${model} version ${version} failed its golden fixtures on ${t.servedBy}; traffic did not move.`,
        [...(result?.problems ?? []).slice(0, 20)],
      );
    }
    console.log(`${model}: version ${version} answered its golden fixtures within their tolerance.`);
  }
  // 2. The policy moves, on the revision the check was made against.
  const reason = `infera release ${model} ${version}${o.canary === undefined ? '' : ` --canary ${o.canary}`} at ${new Date().toISOString()}`;
  const moved = await apply(
    t,
    model,
    (file, policy) => release(file, policy, version, o.canary),
    reason,
    before,
  );
  if (!moved.changed || o.canary === undefined) return 0;
  if (o.limits.bakeMs <= 0) {
    console.log(`The canary stays until: infera promote ${model} (or infera rollback ${model}).`);
    return 0;
  }
  // 3. Bake on the version's own alarms, then promote or roll back.
  const judge = t.aws
    ? cloudWatchJudge({
        client: new CloudWatchClient(t.aws.region ? { region: t.aws.region } : {}),
        namespace: t.aws.namespace,
        service: t.aws.service,
        fn: t.aws.fn,
        model,
        version,
        limits: o.limits,
      })
    : monitoringJudge({ url: t.servedBy, model, version, limits: o.limits });
  const judged = withQualityAlarm(
    judge,
    version,
    t.aws ? qualityFromS3(t.aws.quality, model, t.aws.region) : qualityFromApi(t.servedBy, model),
  );
  console.log(
    `${model}: baking ${Math.round(o.limits.bakeMs / 1000)} s on version ${version}'s own alarms (server errors over ${o.limits.maxErrorPct}%, p99 over ${o.limits.maxP99Ms} ms, from ${o.limits.minRequests} requests).`,
  );
  const verdict = await bake(judged, o.limits, (line) => console.log(line));
  const ours = (r: ModelRecord) =>
    policyOf(r.aliases, undefined).live.some((w) => w.version === version && w.weight < 1);
  const now = await record(t, model);
  if (!ours(now)) {
    console.log(
      `${model}: the policy changed during the bake (revision ${now.revision}); the verdict is not applied.`,
    );
    return verdict.verdict === 'rollback' ? 1 : 0;
  }
  if (verdict.verdict === 'rollback') {
    console.log(`${model}: alarm ${verdict.alarm}: rolling back.`);
    await apply(
      t,
      model,
      (file, policy, known) => rollback(file, policy, known),
      `auto rollback: ${verdict.alarm}`,
      now,
    );
    return 1;
  }
  if (verdict.verdict === 'undecided') {
    console.log(
      `${model}: version ${version} served ${verdict.requests} requests during the bake, fewer than --min-requests ${o.limits.minRequests}: the canary stays. infera promote ${model} or infera rollback ${model} when you have seen enough.`,
    );
    return 0;
  }
  await apply(
    t,
    model,
    (file, policy) => promote(file, policy),
    `auto promote after the bake (${verdict.requests} requests, no alarm)`,
    now,
  );
  return 0;
}

/** The quality function's last report of a model, from the stack's quality bucket. */
function qualityFromS3(destination: string | undefined, model: string, region: string | undefined) {
  return async (): Promise<QualityReport | undefined> => {
    const target = destination ? parseCaptureTarget(destination) : undefined;
    if (target?.kind !== 's3') return undefined;
    const { S3Client } = await import('@aws-sdk/client-s3');
    const { S3ObjectStore } = await import('#adapters/s3.ts');
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const s3 = new S3Client({
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    });
    const text = await new S3ObjectStore(s3).readText(target.bucket, reportKey(target.prefix, model));
    return text === undefined ? undefined : qualityReportSchema.parse(JSON.parse(text));
  };
}

export function storeTransition(
  t: StoreTarget,
  model: string,
  decide: Decide,
  reason: string,
): Promise<number> {
  return apply(t, model, decide, reason).then(() => 0);
}

export const storePromote = (t: StoreTarget, model: string) =>
  storeTransition(
    t,
    model,
    (file, policy) => promote(file, policy),
    `infera promote ${model} at ${new Date().toISOString()}`,
  );

export const storeRollback = (t: StoreTarget, model: string, to?: string) =>
  storeTransition(
    t,
    model,
    (file, policy, known) => rollback(file, policy, known, to),
    `infera rollback ${model}${to ? ` --to ${to}` : ''} at ${new Date().toISOString()}`,
  );

export const storeShadow = (t: StoreTarget, model: string, version: string | undefined) =>
  storeTransition(
    t,
    model,
    (file, policy): Transition => setShadow(file, policy, version),
    `infera shadow ${model} ${version ?? '--off'} at ${new Date().toISOString()}`,
  );

export async function storeDeployments(t: StoreTarget, model: string, json: boolean): Promise<number> {
  const r = await record(t, model);
  const history = (await t.store.history(model, 10)) as ModelRecord[];
  const policy = policyOf(r.aliases, versionsOf(r).at(-1));
  const share = new Map(policy.live.map((w) => [w.version, w.weight]));
  const rows = versionsOf(r).map((v) => ({
    version: v,
    live: share.get(v),
    shadow: policy.shadow === v,
    aliases: Object.entries(r.aliases)
      .filter(([, x]) => x === v)
      .map(([a]) => a),
    package: r.versions[v] as string,
  }));
  if (json) {
    console.log(
      JSON.stringify(
        { model, where: t.store.where, revision: r.revision, aliases: r.aliases, versions: rows, history },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(
    table([
      ['VERSION', 'LIVE', 'ALIASES', 'PACKAGE'],
      ...rows.map((x) => [
        `${x.live !== undefined ? '* ' : '  '}${x.version}`,
        x.live !== undefined ? `${Math.round(x.live * 1000) / 10}%` : x.shadow ? 'shadow' : '-',
        x.aliases.join(',') || '-',
        x.package.slice(0, 12),
      ]),
    ]),
  );
  console.log(`\n* live, record revision ${r.revision} in ${t.store.where}. Recent changes:`);
  console.log(
    table([['REVISION', 'WHEN', 'WHY'], ...history.map((h) => [String(h.revision), h.updatedAt, h.reason])]),
  );
  return 0;
}
