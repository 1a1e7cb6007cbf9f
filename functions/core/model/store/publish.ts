/**
 * Publishing versions to the store: each version folder is checked as a deployment would check it
 * (manifest, hashes, processor, in-process placement), its files are uploaded once each by
 * sha256, its index after them, and then the model's record gains the versions in one
 * conditional write. A published version is immutable: publishing other bytes under its number
 * is refused. Nothing here moves traffic, except on a model's first publish, whose record starts
 * from the folder's aliases.json (or live = its newest version).
 */
import { join } from 'node:path';
import { ModelPackageError, PreconditionFailedError } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { sha256Hex } from '../package-checks.ts';
import { relPath } from '../paths.ts';
import type { PlacementPolicy } from '../placement.ts';
import { loadAliases } from '../repository/aliases.ts';
import { versionFiles } from '../repository/package-files.ts';
import { loadVersion } from '../repository/version.ts';
import { aliasesFileOf } from '../traffic.ts';
import { encodeIndex, PACKAGE_FORMAT, type PackageIndex } from './package.ts';
import { type ModelRecord, nextRecord, parseRecord } from './record.ts';

export interface PublishedVersion {
  readonly version: string;
  readonly digest: string;
  readonly bytes: number;
  /** Objects uploaded now; the others were in the store already. */
  readonly uploaded: number;
  readonly files: number;
  readonly already: boolean;
}

/** A version that runs elsewhere (SageMaker): the store serves in-process models only. */
export class NotInProcessError extends ModelPackageError {}

/** One version folder, checked and hashed: its package's index and digest, nothing uploaded yet. */
export interface PackedVersion {
  readonly version: string;
  readonly digest: string;
  readonly index: Uint8Array;
  readonly files: readonly { readonly sha256: string; read(): Promise<Uint8Array> }[];
  readonly bytes: number;
}

/** Checks one version folder as a deployment would, and hashes its files into a package index. */
export async function packVersion(
  dir: string,
  model: string,
  version: string,
  routing: PlacementPolicy,
): Promise<PackedVersion> {
  const problems: string[] = [];
  const mv = await loadVersion({ dir, name: model, version, rel: relPath, policy: routing }, problems);
  if (!mv || problems.length > 0) throw new ModelPackageError(problems);
  if (mv.placement.target !== 'lambda') {
    throw new NotInProcessError([
      `${relPath(dir)}: runs on ${mv.placement.target} (${mv.placement.reason}); the model store serves in-process models. Deploy SageMaker-served models with the stack (cdk deploy).`,
    ]);
  }
  const listed: PackageIndex['files'] = [];
  const files: PackedVersion['files'][number][] = [];
  let bytes = 0;
  for (const f of await versionFiles(dir)) {
    // Hashed now, read again to upload: one file in memory at a time.
    const body = await f.read();
    const sha256 = sha256Hex(body);
    listed.push({ path: f.path, size: body.length, sha256 });
    files.push({ sha256, read: f.read });
    bytes += body.length;
  }
  const index = encodeIndex({ format: PACKAGE_FORMAT, model, version, files: listed });
  return { version, digest: sha256Hex(index), index, files, bytes };
}

/** Uploads a packed version's objects that the store does not hold yet, its index last. */
async function upload(store: ModelStore, p: PackedVersion): Promise<number> {
  let sent = 0;
  for (const f of p.files) {
    if (await store.hasObject(f.sha256)) continue;
    const body = await f.read();
    // The file changed since it was hashed: refuse rather than store bytes under another name.
    if (sha256Hex(body) !== f.sha256)
      throw new ModelPackageError([
        `a file of version ${p.version} changed while it was published; publish again`,
      ]);
    await store.putObject(f.sha256, body);
    sent++;
  }
  if (!(await store.hasObject(p.digest))) {
    await store.putObject(p.digest, p.index);
    sent++;
  }
  return sent;
}

/** The model's current record, checked; undefined before its first publish. */
export async function readRecord(store: ModelStore, model: string): Promise<ModelRecord | undefined> {
  const raw = await store.readRecord(model);
  if (raw === undefined) return undefined;
  const { record, problems } = parseRecord(raw, `${model}'s record in ${store.where}`);
  if (!record) throw new ModelPackageError(problems);
  return record;
}

/**
 * Publishes `versions` of the model folder `modelDir`: uploads each, then adds them to the
 * model's record in one write (retried once if another writer got there first).
 */
export async function publishModel(
  store: ModelStore,
  modelDir: string,
  model: string,
  versions: readonly string[],
  opts: { routing: PlacementPolicy; reason: string; now?: Date },
): Promise<{ record: ModelRecord; published: PublishedVersion[] }> {
  const packed: PackedVersion[] = [];
  for (const v of versions) packed.push(await packVersion(join(modelDir, v), model, v, opts.routing));
  for (let attempt = 0; ; attempt++) {
    const before = await readRecord(store, model);
    const added: Record<string, string> = {};
    // Immutability is checked before anything is uploaded.
    for (const p of packed) {
      const had = before?.versions[p.version];
      if (had && had !== p.digest) {
        throw new PreconditionFailedError(
          `${model} version ${p.version} is already published with package ${had.slice(0, 12)}, and ${relPath(join(modelDir, p.version))} differs (package ${p.digest.slice(0, 12)}). A version is immutable: publish the change as a new version.`,
        );
      }
      if (!had) added[p.version] = p.digest;
    }
    const published: PublishedVersion[] = [];
    for (const p of packed) {
      const fresh = p.version in added;
      published.push({
        version: p.version,
        digest: p.digest,
        bytes: p.bytes,
        files: p.files.length,
        uploaded: fresh ? await upload(store, p) : 0,
        already: !fresh,
      });
    }
    if (Object.keys(added).length === 0 && before) return { record: before, published };
    const versionsNow = { ...(before?.versions ?? {}), ...added };
    const aliases = before ? undefined : await firstAliases(modelDir, Object.keys(versionsNow));
    const next = nextRecord(
      before,
      model,
      { versions: versionsNow, ...(aliases ? { aliases } : {}) },
      opts.reason,
      opts.now,
    );
    try {
      await store.writeRecord(next, before?.revision ?? 0);
      return { record: next, published };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt > 0) throw err;
    }
  }
}

/** A new record's policy: the folder's aliases.json when every version it names is published, else live = newest. */
async function firstAliases(modelDir: string, published: readonly string[]) {
  const sorted = [...published].sort((a, b) => Number(a) - Number(b));
  const problems: string[] = [];
  const loaded = await loadAliases(modelDir, [], sorted, problems, relPath);
  if (loaded && problems.length === 0) return aliasesFileOf(loaded.aliases, loaded.policy);
  const newest = sorted.at(-1);
  return newest ? { live: newest } : {};
}
