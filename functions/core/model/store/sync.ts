/**
 * Serving models from the store: before a request for a model runs, its record is read (at most
 * once per `ttlMs` per process, concurrent requests sharing one read), and the versions the
 * request can reach (the policy's, and a version asked for by number or alias) are fetched,
 * verified and put in the registry. After that the request path is the same as for models in the
 * function's code. So a release reaches every instance at its first request that starts more than
 * `ttlMs` after the write, and a model the store does not change keeps its objects, sessions and
 * monitoring.
 */
import { ModelPackageError, messageOf, NotFoundError } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { MODEL_NAME, VERSION } from '../manifest/names.ts';
import type { PlacementPolicy } from '../placement.ts';
import type { ModelRegistry } from '../registry.ts';
import { checkAliases } from '../repository/aliases.ts';
import type { PackageCache } from '../repository/package-cache.ts';
import { loadVersion } from '../repository/version.ts';
import { namedVersions } from '../traffic.ts';
import type { ModelEntry, ModelVersion } from '../types.ts';
import { publishHint } from './hints.ts';
import { type ModelRecord, parseRecord, versionsOf } from './record.ts';

export interface StoreSyncOptions {
  /** How long a record read serves before the next request reads it again. */
  readonly ttlMs: number;
  readonly routing: PlacementPolicy;
  readonly now?: () => number;
  /** A record that could not be read or used, while the model keeps serving what it had. */
  readonly onStale?: (model: string, problem: string) => void;
}

interface Held {
  record: ModelRecord;
  checkedAt: number;
  lastUsed: number;
  /** Version -> package digest, for the versions in the registry. */
  digests: Map<string, string>;
}

/** Retry a failed read this soon rather than a whole ttl later. */
const RETRY_MS = 1000;

export class StoreSync {
  readonly #store: ModelStore;
  readonly #cache: PackageCache;
  readonly #registry: ModelRegistry;
  readonly #opts: StoreSyncOptions;
  readonly #held = new Map<string, Held>();
  readonly #reading = new Map<string, Promise<void>>();

  constructor(store: ModelStore, cache: PackageCache, registry: ModelRegistry, opts: StoreSyncOptions) {
    this.#store = store;
    this.#cache = cache;
    this.#registry = registry;
    this.#opts = opts;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  /**
   * Makes the registry hold `model` as the store has it (within the ttl), with `requested` (a
   * version or alias) fetched too. Unknown models are 404s that say how to publish them.
   */
  async ensure(model: string, requested?: string): Promise<void> {
    if (!MODEL_NAME.test(model)) throw new NotFoundError(`Model '${model.slice(0, 80)}' does not exist.`);
    const now = this.#now();
    const held = this.#held.get(model);
    if (held) held.lastUsed = now;
    // A version asked for by number that the record in hand does not have may have been published
    // since: read again, but at most once a second, so unknown versions cannot flood the store.
    const unknown =
      held !== undefined &&
      requested !== undefined &&
      VERSION.test(requested) &&
      !(requested in held.record.versions) &&
      now - held.checkedAt > RETRY_MS;
    if (!held || unknown || now - held.checkedAt > this.#opts.ttlMs) await this.#read(model);
    const after = this.#held.get(model);
    if (!after || requested === undefined) return;
    const version = after.record.aliases[requested] === undefined ? requested : undefined;
    if (version && !after.digests.has(version) && version in after.record.versions) {
      await this.#apply(model, after.record, [version]);
    }
  }

  #read(model: string): Promise<void> {
    let reading = this.#reading.get(model);
    if (!reading) {
      reading = this.#refresh(model).finally(() => this.#reading.delete(model));
      this.#reading.set(model, reading);
    }
    return reading;
  }

  async #refresh(model: string): Promise<void> {
    const held = this.#held.get(model);
    let raw: unknown;
    try {
      raw = await this.#store.readRecord(model);
    } catch (err) {
      if (!held) throw err;
      // The store did not answer: keep serving the policy in hand, and ask again soon.
      held.checkedAt = this.#now() - this.#opts.ttlMs + RETRY_MS;
      this.#opts.onStale?.(model, `the model store did not answer: ${messageOf(err)}`);
      return;
    }
    if (raw === undefined) {
      if (held) await this.#forget(model);
      throw new NotFoundError(
        `Model '${model}' does not exist in this deployment's model store. ${publishHint(model)}`,
      );
    }
    const { record, problems } = parseRecord(raw, `model store record of ${model}`);
    if (!record || record.model !== model) {
      const problem = problems.join('; ') || `the record names model ${record?.model}`;
      if (held) {
        held.checkedAt = this.#now();
        this.#opts.onStale?.(model, problem);
        return;
      }
      throw new ModelPackageError([`Model '${model}' has a record the function cannot use: ${problem}`]);
    }
    if (held && held.record.revision === record.revision) {
      held.checkedAt = this.#now();
      return;
    }
    await this.#apply(model, record, []);
  }

  /** Puts the record's policy, and the versions it and `extra` name, in the registry. */
  async #apply(model: string, record: ModelRecord, extra: readonly string[]): Promise<void> {
    const held = this.#held.get(model);
    const before = this.#registry.list().find((e) => e.name === model);
    const referenced = new Set(namedVersions(record.aliases));
    const all = versionsOf(record);
    const newest = all.at(-1);
    if (referenced.size === 0 && newest) referenced.add(newest);
    for (const v of extra) referenced.add(v);
    // Versions already held with the same package stay the same objects (sessions, monitoring).
    for (const [v, digest] of held?.digests ?? []) if (record.versions[v] === digest) referenced.add(v);
    const versions: ModelVersion[] = [];
    const digests = new Map<string, string>();
    const problems: string[] = [];
    for (const [v, digest] of Object.entries(record.versions)) {
      if (!referenced.has(v)) continue;
      const kept =
        held?.digests.get(v) === digest ? before?.versions.find((x) => x.version === v) : undefined;
      const mv = kept ?? (await this.#load(model, v, digest, problems));
      if (!mv) continue;
      versions.push(mv);
      digests.set(v, digest);
    }
    versions.sort((a, b) => Number(a.version) - Number(b.version));
    const traffic =
      problems.length === 0
        ? checkAliases(record.aliases, all, newest, problems, `model store record of ${model}`)
        : undefined;
    if (!traffic || problems.length > 0) {
      if (held) {
        held.checkedAt = this.#now();
        this.#opts.onStale?.(model, problems.join('; '));
        return;
      }
      throw new ModelPackageError([
        `Model '${model}' cannot be served from the model store: ${problems.join('; ')}`,
      ]);
    }
    const entry: ModelEntry = { name: model, versions, ...traffic };
    this.#registry.restore(model, entry);
    const now = this.#now();
    this.#held.set(model, { record, checkedAt: now, lastUsed: held?.lastUsed ?? now, digests });
    // Packages of versions the record no longer reaches leave the cache.
    for (const [v, digest] of held?.digests ?? [])
      if (digests.get(v) !== digest) await this.#cache.release(digest);
  }

  async #load(model: string, version: string, digest: string, problems: string[]) {
    const pkg = await this.#cache.open(digest, (bytes) => this.#makeRoom(bytes, model));
    if (pkg.index.model !== model || pkg.index.version !== version) {
      problems.push(
        `version ${version} names package ${digest}, which holds ${pkg.index.model} version ${pkg.index.version}`,
      );
      return undefined;
    }
    const shown = `${model}/${version} (package ${digest.slice(0, 12)})`;
    const rel = (p: string) => (p.startsWith(pkg.dir) ? `${shown}${p.slice(pkg.dir.length)}` : p);
    const mv = await loadVersion(
      { dir: pkg.dir, name: model, version, rel, policy: this.#opts.routing, hashOnUse: true },
      problems,
    );
    if (mv && mv.placement.target !== 'lambda') {
      problems.push(
        `${shown}: runs on ${mv.placement.target} (${mv.placement.reason}); the model store serves in-process models, so deploy this one with the stack`,
      );
      return undefined;
    }
    return mv;
  }

  /** Frees `bytes` of the package cache by letting go the models used least recently. */
  async #makeRoom(bytes: number, keep: string): Promise<void> {
    const order = [...this.#held.entries()]
      .filter(([name]) => name !== keep)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    let freed = 0;
    for (const [name] of order) {
      if (freed >= bytes) return;
      const before = this.#cache.usedBytes;
      await this.#forget(name);
      freed += before - this.#cache.usedBytes;
    }
  }

  async #forget(model: string): Promise<void> {
    const held = this.#held.get(model);
    this.#held.delete(model);
    this.#registry.restore(model, undefined);
    for (const digest of held?.digests.values() ?? []) await this.#cache.release(digest);
  }
}
