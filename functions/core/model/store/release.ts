/**
 * Moving one model's traffic in the store: the same transitions as a local aliases.json
 * (traffic.ts), written to that model's record alone, on the revision that was read. The golden
 * fixtures of a version come from its own package, so they are the ones it was published with.
 */
import { NotFoundError, PreconditionFailedError } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { type GoldenCase, goldenSchema } from '../golden.ts';
import {
  type AliasesFile,
  namedVersions,
  policyOf,
  type TrafficPolicy,
  type Transition,
} from '../traffic.ts';
import { publishHint } from './hints.ts';
import { readPackageFile, readPackageIndex } from './package.ts';
import { readRecord } from './publish.ts';
import { type ModelRecord, nextRecord, versionsOf } from './record.ts';

export const GOLDEN_PATH = 'fixtures/golden.json';
/** A fixtures file larger than this is refused before it is read. */
const MAX_GOLDEN_BYTES = 5 * 1024 * 1024;

/** The model's record, or a 404 that says how to publish it. */
export async function requireRecord(store: ModelStore, model: string): Promise<ModelRecord> {
  const record = await readRecord(store, model);
  if (!record) throw new NotFoundError(`${model} is not in ${store.where}. ${publishHint(model)}`);
  return record;
}

/** The version must be published for the record to name it; returns its package digest. */
export function requirePublished(record: ModelRecord, version: string): string {
  const digest = record.versions[version];
  if (digest) return digest;
  throw new NotFoundError(
    `${record.model} version ${version} is not published (published: ${versionsOf(record).join(', ') || 'none'}). ${publishHint(record.model, version)}`,
  );
}

/** The golden fixtures a version was published with, or undefined when its package has none. */
export async function goldenCaseOf(
  store: ModelStore,
  record: ModelRecord,
  version: string,
): Promise<GoldenCase | undefined> {
  const index = await readPackageIndex(store, requirePublished(record, version));
  const f = index.files.find((x) => x.path === GOLDEN_PATH);
  if (!f) return undefined;
  if (f.size > MAX_GOLDEN_BYTES)
    throw new PreconditionFailedError(
      `${record.model}/${version}/${GOLDEN_PATH} is ${f.size} bytes; golden fixtures may be ${MAX_GOLDEN_BYTES}`,
    );
  const bytes = await readPackageFile(store, f, `${record.model}/${version}/${GOLDEN_PATH}`);
  const golden = goldenSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  return { model: record.model, version, golden };
}

export type PolicyChange =
  | {
      readonly changed: true;
      readonly before: ModelRecord;
      readonly after: ModelRecord;
      readonly summary: string;
    }
  | { readonly changed: false; readonly before: ModelRecord; readonly reason: string; readonly fix?: string };

/**
 * Applies one transition to the model's record, on the revision read (`from`, or the current
 * one). If someone else wrote the record since, it fails with 412 and nothing moves.
 */
export async function changePolicy(
  store: ModelStore,
  model: string,
  decide: (file: AliasesFile, policy: TrafficPolicy, known: readonly string[]) => Transition,
  reason: string,
  from?: ModelRecord,
  now: Date = new Date(),
): Promise<PolicyChange> {
  const before = from ?? (await requireRecord(store, model));
  const known = versionsOf(before);
  const t = decide(before.aliases, policyOf(before.aliases, known.at(-1)), known);
  if (!t.ok) return { changed: false, before, reason: t.reason, ...(t.fix ? { fix: t.fix } : {}) };
  for (const v of namedVersions(t.file)) requirePublished(before, v);
  const after = nextRecord(before, model, { aliases: t.file }, reason, now);
  await store.writeRecord(after, before.revision);
  return { changed: true, before, after, summary: t.summary };
}

/**
 * The golden cases of every model's live versions (each side of a canary, and a shadow): what a
 * new function version must answer before it gets traffic, when its models come from the store.
 */
export async function liveGoldenCases(store: ModelStore): Promise<GoldenCase[]> {
  const cases: GoldenCase[] = [];
  for (const model of await store.listModels()) {
    const record = await readRecord(store, model);
    if (!record) continue;
    const policy = policyOf(record.aliases, versionsOf(record).at(-1));
    const live = [...policy.live.map((w) => w.version), ...(policy.shadow ? [policy.shadow] : [])];
    for (const version of live) {
      const c = await goldenCaseOf(store, record, version);
      if (c) cases.push(c);
    }
  }
  return cases;
}
