/**
 * Model packages from the store, on local disk: each version's files written under
 * <cache>/<index digest>/ once every file's bytes hash to what the index says, then read by
 * loadVersion like any version folder. The cache keeps within a byte budget (Lambda's /tmp is
 * 512 MB unless the function asks for more); the store sync decides what to let go.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelPackageError } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { DIGEST, type PackageIndex, readPackageFile, readPackageIndex } from '../store/package.ts';

/** Files of one package fetched at once. */
const FETCH_CONCURRENCY = 4;

export interface CachedPackage {
  readonly digest: string;
  readonly dir: string;
  readonly index: PackageIndex;
  readonly bytes: number;
}

export class PackageCache {
  readonly #root: string;
  readonly #store: ModelStore;
  readonly budgetBytes: number;
  readonly #held = new Map<string, CachedPackage>();
  readonly #opening = new Map<string, Promise<CachedPackage>>();
  #cleared: Promise<void> | undefined;

  constructor(root: string, store: ModelStore, budgetBytes: number) {
    this.#root = root;
    this.#store = store;
    this.budgetBytes = budgetBytes;
  }

  get usedBytes(): number {
    let n = 0;
    for (const p of this.#held.values()) n += p.bytes;
    return n;
  }

  /**
   * The package on disk, fetched and verified on first use. `makeRoom` is asked to free space
   * first when the package would not fit in the budget.
   */
  open(digest: string, makeRoom: (bytes: number) => Promise<void> | void): Promise<CachedPackage> {
    const held = this.#held.get(digest);
    if (held) return Promise.resolve(held);
    let opening = this.#opening.get(digest);
    if (!opening) {
      opening = this.#materialize(digest, makeRoom).finally(() => this.#opening.delete(digest));
      this.#opening.set(digest, opening);
    }
    return opening;
  }

  /** Lets a package go: its folder is removed and its bytes leave the budget. */
  async release(digest: string): Promise<void> {
    const held = this.#held.get(digest);
    if (!held) return;
    this.#held.delete(digest);
    await rm(held.dir, { recursive: true, force: true });
  }

  async #materialize(digest: string, makeRoom: (bytes: number) => Promise<void> | void) {
    await this.#clearOnce();
    const index = await readPackageIndex(this.#store, digest);
    const bytes = index.files.reduce((n, f) => n + f.size, 0);
    if (bytes > this.budgetBytes) {
      throw new ModelPackageError([
        `${index.model} version ${index.version} is ${mb(bytes)} MB, over the package cache of ${mb(this.budgetBytes)} MB. Raise MODEL_PACKAGE_CACHE_MB (infera:packageCacheMb) and the function's ephemeral storage.`,
      ]);
    }
    if (this.usedBytes + bytes > this.budgetBytes) await makeRoom(this.usedBytes + bytes - this.budgetBytes);
    if (this.usedBytes + bytes > this.budgetBytes) {
      throw new ModelPackageError([
        `the package cache (${mb(this.budgetBytes)} MB) cannot hold ${index.model} version ${index.version} (${mb(bytes)} MB) beside the packages in use. Raise MODEL_PACKAGE_CACHE_MB (infera:packageCacheMb) and the function's ephemeral storage.`,
      ]);
    }
    const partial = join(this.#root, `${digest}.partial-${process.pid}-${Date.now()}`);
    const dir = join(this.#root, digest);
    try {
      const queue = [...index.files];
      const worker = async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const body = await readPackageFile(this.#store, f, `${index.model}/${index.version}/${f.path}`);
          const at = join(partial, f.path);
          await mkdir(dirname(at), { recursive: true });
          await writeFile(at, body);
        }
      };
      // Every fetch settles before the folder is removed: one that fails stops the others taking
      // more files, and none still writes into the folder while it goes.
      const settled = await Promise.allSettled(
        Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, () =>
          worker().catch((err: unknown) => {
            queue.length = 0;
            throw err;
          }),
        ),
      );
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      throw err;
    }
    const cached = { digest, dir, index, bytes };
    this.#held.set(digest, cached);
    return cached;
  }

  /**
   * A new process starts from an empty cache: what an earlier one left (npm start restarted) is
   * removed, and only entries named like the cache's own, so a mistaken folder loses nothing else.
   */
  #clearOnce(): Promise<void> {
    this.#cleared ??= (async () => {
      await mkdir(this.#root, { recursive: true });
      for (const name of await readdir(this.#root)) {
        if (DIGEST.test(name.slice(0, 64)) && (name.length === 64 || name.startsWith('.partial-', 64)))
          await rm(join(this.#root, name), { recursive: true, force: true });
      }
    })();
    return this.#cleared;
  }
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
