/**
 * The model list of a store-backed deployment (GET /v1/models): every model with a record, its
 * versions, aliases and traffic, and the live version's description and task, read from the
 * records and the packages' manifests without fetching any model file. Records are read once per
 * ttl for the whole list; a manifest once per package (packages never change).
 */
import { fieldOf } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { plainAliases, policyOf, primaryOf, type TrafficPolicy } from '../traffic.ts';
import { readPackageFile, readPackageIndex } from './package.ts';
import { parseRecord, versionsOf } from './record.ts';

export interface CatalogEntry {
  readonly name: string;
  readonly description: string;
  readonly task: string;
  readonly versions: readonly string[];
  readonly aliases: Readonly<Record<string, string>>;
  readonly policy: TrafficPolicy;
}

/** Records read at once. */
const CONCURRENCY = 16;
/** A manifest larger than this is not read for the list. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export class StoreCatalog {
  readonly #store: ModelStore;
  readonly #ttlMs: number;
  readonly #manifests = new Map<string, { description: string; task: string }>();
  #list: { at: number; entries: Promise<CatalogEntry[]> } | undefined;

  constructor(store: ModelStore, ttlMs: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
  }

  list(now = Date.now()): Promise<CatalogEntry[]> {
    if (!this.#list || now - this.#list.at > this.#ttlMs) {
      const entries = this.#read();
      this.#list = { at: now, entries };
      entries.catch(() => {
        this.#list = undefined;
      });
    }
    return this.#list.entries;
  }

  async #read(): Promise<CatalogEntry[]> {
    const names = await this.#store.listModels();
    const out: (CatalogEntry | undefined)[] = new Array(names.length);
    const queue = names.map((name, i) => ({ name, i }));
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) out[job.i] = await this.#entry(job.name);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker));
    return out.filter((e): e is CatalogEntry => e !== undefined);
  }

  async #entry(name: string): Promise<CatalogEntry | undefined> {
    const { record } = parseRecord(await this.#store.readRecord(name), name);
    if (!record) return undefined;
    const versions = versionsOf(record);
    const policy = policyOf(record.aliases, versions.at(-1));
    const live = primaryOf(policy);
    const digest = live ? record.versions[live] : undefined;
    const about = digest ? await this.#about(digest) : { description: '', task: '' };
    return { name, ...about, versions, aliases: plainAliases(record.aliases, policy), policy };
  }

  async #about(digest: string): Promise<{ description: string; task: string }> {
    const held = this.#manifests.get(digest);
    if (held) return held;
    const index = await readPackageIndex(this.#store, digest);
    const f = index.files.find((x) => x.path === 'model.json');
    let about = { description: '', task: '' };
    if (f && f.size <= MAX_MANIFEST_BYTES) {
      const json: unknown = JSON.parse(
        Buffer.from(
          await readPackageFile(this.#store, f, `${index.model}/${index.version}/model.json`),
        ).toString('utf8'),
      );
      const text = (k: string) => {
        const v = fieldOf(json, k);
        return typeof v === 'string' ? v : '';
      };
      about = { description: text('description'), task: text('task') };
    }
    this.#manifests.set(digest, about);
    return about;
  }
}
