import { nth } from '../checked.ts';
import { NotFoundError } from '../errors.ts';
import { readAliases } from './repository/aliases.ts';
import { loadModels, loadVersionDir, reloadModel } from './repository/load.ts';
import { LIVE, pick, stickyPoint } from './traffic.ts';
import type { LoadOptions, ModelEntry, ModelVersion, Picked } from './types.ts';
import { DEFAULT_ALIAS } from './types.ts';

export type { LoadOptions, ModelEntry, ModelVersion, Picked } from './types.ts';

/** What reading a model's folder again did. */
export interface ModelChange {
  readonly change: 'added' | 'replaced' | 'removed' | 'unchanged';
  readonly problems: readonly string[];
  /** The model as it now is, after an add or a replace. */
  readonly entry?: ModelEntry;
  /** Its versions that are new objects: new, or changed on disk. They need loading and checking. */
  readonly added?: readonly ModelVersion[];
}
export { DEFAULT_ALIAS } from './types.ts';

/**
 * The model registry: everything under `models/`, loaded and checked once at start-up.
 * A broken package fails the load with one message listing every problem (file, field, fix),
 * so nothing can fail later, mid-request.
 */
export class ModelRegistry {
  readonly root: string;
  readonly #models: Map<string, ModelEntry>;
  readonly #opts: LoadOptions;

  private constructor(root: string, models: Map<string, ModelEntry>, opts: LoadOptions = {}) {
    this.root = root;
    this.#models = models;
    this.#opts = opts;
  }

  /** Loads and verifies every model package under `root`, and decides each version's route. */
  static async load(root: string, opts: LoadOptions = {}): Promise<ModelRegistry> {
    return new ModelRegistry(root, await loadModels(root, opts), opts);
  }

  /**
   * Reads one model's folder again (npm start follows models/): added, replaced or removed as
   * the folder now is, or left as it was with the problems when the folder does not load. A
   * version whose files did not change keeps its object, so its session and monitoring stay.
   */
  async reloadModel(name: string): Promise<ModelChange> {
    if (this.#opts.only && !this.#opts.only.includes(name)) return { change: 'unchanged', problems: [] };
    const others = new Map(this.#models);
    others.delete(name);
    const r = await reloadModel(this.root, name, others, this.#opts);
    const before = this.#models.get(name);
    if (r.removed) {
      this.#models.delete(name);
      return { change: before ? 'removed' : 'unchanged', problems: [] };
    }
    if (!r.entry) return { change: 'unchanged', problems: r.problems };
    const kept = (mv: ModelVersion) =>
      before?.versions.find(
        (o) =>
          o.version === mv.version &&
          o.manifest.sha256 === mv.manifest.sha256 &&
          JSON.stringify(o.manifest) === JSON.stringify(mv.manifest),
      ) ?? mv;
    const entry: ModelEntry = { ...r.entry, versions: r.entry.versions.map(kept) };
    this.#models.set(name, entry);
    const added = entry.versions.filter((mv) => !before?.versions.includes(mv));
    return { change: before ? 'replaced' : 'added', problems: [], entry, added };
  }

  /** Puts a model back as it was before a reload that turned out not to serve (or removes it). */
  restore(name: string, entry: ModelEntry | undefined): void {
    if (entry) this.#models.set(name, entry);
    else this.#models.delete(name);
  }

  /**
   * A registry that starts with no models: a function serving from the model store, whose
   * models are put in on their first request (store/sync.ts).
   */
  static empty(root: string): ModelRegistry {
    return new ModelRegistry(root, new Map());
  }

  /**
   * One version from a flat folder holding model.json and model.onnx: what a SageMaker container
   * finds under /opt/ml/model. It is served where it is, whatever its manifest's target says.
   */
  static async fromVersionDir(dir: string): Promise<ModelRegistry> {
    return new ModelRegistry(dir, await loadVersionDir(dir));
  }

  list(): readonly ModelEntry[] {
    return [...this.#models.values()];
  }

  /** Every version of every model, in name then version order. */
  allVersions(): readonly ModelVersion[] {
    return this.list().flatMap((m) => m.versions);
  }

  get(name: string): ModelEntry {
    const entry = this.#models.get(name);
    if (!entry) {
      throw new NotFoundError(
        `Model '${name}' does not exist. ${knownModels([...this.#models.keys()], name)}`,
      );
    }
    return entry;
  }

  /** Resolves a version number or an alias (default `live`) to one model version. */
  resolve(name: string, versionOrAlias: string = DEFAULT_ALIAS): ModelVersion {
    const entry = this.get(name);
    const version = entry.aliases[versionOrAlias] ?? versionOrAlias;
    const found = entry.versions.find((v) => v.version === version);
    if (!found) {
      const aliases = Object.entries(entry.aliases).map(([a, v]) => `${a} -> ${v}`);
      throw new NotFoundError(
        `Model '${name}' has no version or alias '${versionOrAlias}'. Known versions: ${entry.versions
          .map((v) => v.version)
          .join(', ')}. Aliases: ${aliases.join(', ') || 'none'}.`,
      );
    }
    return found;
  }

  /**
   * The version that answers a request: the one asked for (`?version=`), else the live policy's
   * pick: by the caller's routing key when there is one (sticky), at random otherwise.
   */
  pickVersion(name: string, requested?: string, routingKey?: string): Picked {
    if (requested !== undefined && requested !== LIVE)
      return { mv: this.resolve(name, requested), via: 'requested' };
    const entry = this.get(name);
    const { policy } = entry;
    // The policy names only versions it was checked against when the aliases were loaded.
    const find = (v: string) =>
      nth(
        entry.versions,
        entry.versions.findIndex((x) => x.version === v),
      );
    let via: Picked['via'] = 'live';
    let version = policy.live[0]?.version ?? '';
    if (policy.live.length > 1) {
      version = pick(policy, routingKey ? stickyPoint(name, routingKey) : Math.random());
      via = version === entry.aliases[LIVE] ? 'stable' : 'canary';
    }
    const shadow = policy.shadow && policy.shadow !== version ? find(policy.shadow) : undefined;
    return { mv: find(version), via, ...(shadow ? { shadow } : {}) };
  }

  /**
   * Re-reads one model's aliases.json and swaps its policy in, whole, if it is valid. An invalid
   * file changes nothing: the problems are returned and the model keeps serving as before.
   */
  async reloadAliases(name: string): Promise<{ changed: boolean; problems: string[] }> {
    const entry = this.get(name);
    const { loaded, problems } = await readAliases(this.root, entry);
    if (!loaded || problems.length > 0) return { changed: false, problems };
    const changed =
      JSON.stringify(loaded.policy) !== JSON.stringify(entry.policy) ||
      JSON.stringify(loaded.aliases) !== JSON.stringify(entry.aliases);
    if (changed) this.#models.set(name, { ...entry, ...loaded });
    return { changed, problems };
  }
}

/** How many model names an unknown-model error lists before it points at GET /v1/models. */
const NAMES_LISTED = 20;

/**
 * The known model names for an unknown-model error: all of them when there are few, else the ones
 * nearest the name asked for (longest common prefix first) and a pointer to the full list.
 */
export function knownModels(names: readonly string[], asked: string): string {
  if (names.length <= NAMES_LISTED) return `Known models: ${names.join(', ')}.`;
  const common = (n: string) => {
    let i = 0;
    while (i < n.length && i < asked.length && n[i] === asked[i]) i++;
    return i;
  };
  const nearest = names
    .map((n) => ({ n, c: common(n) }))
    .sort((a, b) => b.c - a.c || (a.n < b.n ? -1 : 1))
    .slice(0, 10)
    .map((x) => x.n)
    .sort();
  return `Nearest of the ${names.length} known models: ${nearest.join(', ')}; GET /v1/models lists them all.`;
}
