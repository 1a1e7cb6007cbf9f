import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ModelPackageError, NotFoundError } from './errors.ts';
import {
  type Aliases,
  aliasesSchema,
  formatIssues,
  type Manifest,
  MODEL_NAME,
  manifestSchema,
  VERSION,
} from './manifest.ts';
import { DEFAULT_ROUTE_POLICY, decideRoute, type Route, type RoutePolicy } from './routing.ts';

/** One immutable model version: its manifest, its ONNX bytes' location and size, and its route. */
export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly modelPath: string;
  /** Size of model.onnx; undefined for a SageMaker model packaged without it (manifest only). */
  readonly sizeBytes: number | undefined;
  readonly manifest: Manifest;
  /** Where it runs and why. */
  readonly route: Route;
}

export interface LoadOptions {
  /** Restrict to these model names (a per-model Lambda function loads just its own). */
  readonly only?: readonly string[];
  readonly routing?: RoutePolicy;
}

export interface ModelEntry {
  readonly name: string;
  /** Versions in ascending numeric order. */
  readonly versions: readonly ModelVersion[];
  readonly aliases: Readonly<Aliases>;
}

export const DEFAULT_ALIAS = 'live';

/**
 * The model registry: everything under `models/`, loaded and checked once at start-up.
 * A broken package fails the load with one message listing every problem (file, field, fix),
 * so nothing can fail later, mid-request.
 */
export class ModelRegistry {
  readonly root: string;
  readonly #models: ReadonlyMap<string, ModelEntry>;

  private constructor(root: string, models: Map<string, ModelEntry>) {
    this.root = root;
    this.#models = models;
  }

  /** Loads and verifies every model package under `root`, and decides each version's route. */
  static async load(root: string, opts: LoadOptions = {}): Promise<ModelRegistry> {
    const problems: string[] = [];
    const rel = (p: string) => relative(process.cwd(), p) || p;
    let names: string[];
    try {
      names = (await readdir(root, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !d.name.startsWith('_'))
        .map((d) => d.name)
        .sort();
    } catch (err) {
      throw new ModelPackageError([
        `${rel(root)}: cannot read the models directory (${(err as NodeJS.ErrnoException).code ?? err}). Set MODELS_DIR to the folder that holds <name>/<version>/model.json.`,
      ]);
    }
    if (opts.only) {
      for (const want of opts.only) {
        if (!names.includes(want))
          problems.push(`${rel(join(root, want))}: model "${want}" was requested but has no folder`);
      }
      names = names.filter((n) => opts.only?.includes(n));
    }
    const models = new Map<string, ModelEntry>();
    // Models and their versions load concurrently (start-up is mostly waiting on small file
    // reads); each keeps its own problem list, joined in name order, so reports stay stable.
    const loaded = await Promise.all(
      names.map(async (name) => {
        const own: string[] = [];
        const entry = await loadModel(root, name, own, rel, opts.routing ?? DEFAULT_ROUTE_POLICY);
        return { name, entry, own };
      }),
    );
    for (const { name, entry, own } of loaded) {
      problems.push(...own);
      if (entry) models.set(name, entry);
    }
    if (problems.length === 0) checkFallbacks(models, problems, rel, opts.only !== undefined);
    if (problems.length > 0) throw new ModelPackageError(problems);
    if (models.size === 0) {
      throw new ModelPackageError([
        `${rel(root)}: no models found. Add one as ${rel(root)}/<name>/1/{model.onnx,model.json}; see README "Bring your own model".`,
      ]);
    }
    return new ModelRegistry(root, models);
  }

  /**
   * One version from a flat folder holding model.json and model.onnx: what a SageMaker container
   * finds under /opt/ml/model. It is served where it is, whatever its manifest's target says.
   */
  static async fromVersionDir(dir: string): Promise<ModelRegistry> {
    const problems: string[] = [];
    const rel = (p: string) => relative(process.cwd(), p) || p;
    const json = (await readJson(
      join(dir, 'model.json'),
      problems,
      rel,
      'the model folder (SM_MODEL_DIR, /opt/ml/model on SageMaker) must hold model.json and model.onnx',
    )) as { name?: unknown; version?: unknown } | undefined;
    const name = typeof json?.name === 'string' ? json.name : '';
    const version = typeof json?.version === 'string' ? json.version : '';
    const policy: RoutePolicy = { ...DEFAULT_ROUTE_POLICY, overrides: { [`${name}@${version}`]: 'lambda' } };
    const mv =
      json === undefined ? undefined : await loadVersion(dir, name, version, problems, rel, policy, true);
    if (problems.length > 0 || !mv) throw new ModelPackageError(problems);
    const served: ModelVersion = { ...mv, route: { ...mv.route, reason: 'served by this container' } };
    return new ModelRegistry(
      dir,
      new Map([[name, { name, versions: [served], aliases: { live: version } }]]),
    );
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
        `Model '${name}' does not exist. Known models: ${[...this.#models.keys()].join(', ')}.`,
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
}

async function loadModel(
  root: string,
  name: string,
  problems: string[],
  rel: (p: string) => string,
  policy: RoutePolicy,
): Promise<ModelEntry | undefined> {
  const dir = join(root, name);
  if (!MODEL_NAME.test(name)) {
    problems.push(
      `${rel(dir)}: folder name "${name}" is not a valid model name; use lowercase letters, digits, ".", "_" or "-"`,
    );
    return undefined;
  }
  const entries = await readdir(dir, { withFileTypes: true });
  const versionDirs = entries.filter(
    (e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_'),
  );
  const before = problems.length;
  const versions: ModelVersion[] = [];
  const loaded = await Promise.all(
    versionDirs.map(async (d) => {
      const own: string[] = [];
      if (!VERSION.test(d.name)) {
        own.push(
          `${rel(join(dir, d.name))}: version folders must be positive integers such as "1"; rename it`,
        );
        return { own };
      }
      return { own, v: await loadVersion(join(dir, d.name), name, d.name, own, rel, policy) };
    }),
  );
  for (const { own, v } of loaded) {
    problems.push(...own);
    if (v) versions.push(v);
  }
  if (versionDirs.length === 0) {
    problems.push(`${rel(dir)}: no version folders; add ${rel(dir)}/1/{model.onnx,model.json}`);
  }
  versions.sort((a, b) => Number(a.version) - Number(b.version));
  // Aliases are checked against the version folders present, so one broken version is reported once.
  const present = versionDirs.map((d) => d.name).filter((n) => VERSION.test(n));
  const aliases = await loadAliases(dir, versions, present, problems, rel);
  if (problems.length > before || !aliases) return undefined;
  return { name, versions, aliases };
}

async function loadVersion(
  dir: string,
  name: string,
  version: string,
  problems: string[],
  rel: (p: string) => string,
  policy: RoutePolicy,
  needArtifact = false,
): Promise<ModelVersion | undefined> {
  const manifestPath = join(dir, 'model.json');
  const modelPath = join(dir, 'model.onnx');
  const json = await readJson(
    manifestPath,
    problems,
    rel,
    `add ${rel(manifestPath)}; see README "Bring your own model"`,
  );
  if (json === undefined) return undefined;
  const parsed = manifestSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    for (const line of formatIssues(parsed.error)) problems.push(`${rel(manifestPath)}: ${line}`);
    return undefined;
  }
  const manifest = parsed.data;
  let ok = true;
  if (needArtifact) {
    name = manifest.name;
    version = manifest.version;
  }
  if (manifest.name !== name) {
    problems.push(
      `${rel(manifestPath)}: name is "${manifest.name}" but the folder is "${name}"; make them the same`,
    );
    ok = false;
  }
  if (manifest.version !== version) {
    problems.push(
      `${rel(manifestPath)}: version is "${manifest.version}" but the folder is "${version}"; make them the same`,
    );
    ok = false;
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(modelPath);
  } catch {
    bytes = undefined;
  }
  const route = decideRoute({ name, version, sizeBytes: bytes?.length }, manifest, policy);
  const instance = route.endpoint?.instanceType ?? '';
  if (route.target === 'sagemaker' && instance.startsWith('ml.inf') && !route.endpoint?.image) {
    problems.push(
      `${rel(manifestPath)}: target.instanceType ${instance} is Inferentia, which runs Neuron-compiled models, not ONNX; set target.image (and target.modelDataUrl) to a Neuron serving image, or pick a GPU type such as ml.g5.xlarge`,
    );
    ok = false;
  }
  if (!bytes) {
    // A SageMaker model's function needs only the manifest; its weights live with the endpoint.
    // An "auto" model qualifies only when the deployment pinned its route (ROUTE_OVERRIDES):
    // without its size, "auto" cannot decide, so a missing file must stay an error.
    if (
      route.target === 'sagemaker' &&
      !needArtifact &&
      (manifest.target.type === 'sagemaker' || route.overridden)
    ) {
      return ok ? { name, version, dir, modelPath, sizeBytes: undefined, manifest, route } : undefined;
    }
    problems.push(`${rel(modelPath)}: missing; put the ONNX file next to model.json under this exact name`);
    return undefined;
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== manifest.sha256) {
    problems.push(
      `${rel(manifestPath)}: sha256 does not match model.onnx (file hashes to ${actual}, manifest says ${manifest.sha256}). ` +
        `A version is immutable: if you meant to change the model, create a new version folder; if the manifest is wrong, set "sha256": "${actual}"`,
    );
    ok = false;
  }
  if (!ok) return undefined;
  return { name, version, dir, modelPath, sizeBytes: bytes.length, manifest, route };
}

/** The inputs a request must carry, without the prose. */
function inputSignature(m: Manifest): string {
  return JSON.stringify(m.inputs, (k, v) => (k === 'description' || k === 'unit' ? undefined : v));
}

/** Each fallback must name a loaded, Lambda-served version with the same inputs. */
function checkFallbacks(
  models: ReadonlyMap<string, ModelEntry>,
  problems: string[],
  rel: (p: string) => string,
  filtered: boolean,
): void {
  for (const entry of models.values()) {
    for (const mv of entry.versions) {
      const fb = mv.route.fallback;
      if (!fb) continue;
      const where = `${rel(join(mv.dir, 'model.json'))}: fallback`;
      const target = models.get(fb.model);
      if (!target) {
        problems.push(
          filtered
            ? `${where} names "${fb.model}", which this function does not load; add it to MODEL_NAMES`
            : `${where} names "${fb.model}", which is not in models/`,
        );
        continue;
      }
      const version = target.aliases[fb.version] ?? fb.version;
      const fbv = target.versions.find((v) => v.version === version);
      if (!fbv) {
        problems.push(`${where} names ${fb.model} "${fb.version}", which is not a version or alias of it`);
      } else if (fbv.route.target !== 'lambda') {
        problems.push(
          `${where} ${fb.model}@${fbv.version} is itself served by SageMaker; name a light model`,
        );
      } else if (inputSignature(fbv.manifest) !== inputSignature(mv.manifest)) {
        problems.push(
          `${where} ${fb.model}@${fbv.version} takes different inputs; a fallback must accept the same request`,
        );
      } else if (fbv.manifest.task !== mv.manifest.task) {
        problems.push(
          `${where} ${fb.model}@${fbv.version} is a ${fbv.manifest.task} model, not ${mv.manifest.task}`,
        );
      }
    }
  }
}

async function loadAliases(
  dir: string,
  versions: readonly ModelVersion[],
  present: readonly string[],
  problems: string[],
  rel: (p: string) => string,
): Promise<Aliases | undefined> {
  const path = join(dir, 'aliases.json');
  const latest = versions.at(-1)?.version;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // No aliases file: `live` follows the newest version, the least surprising default.
      return latest ? { [DEFAULT_ALIAS]: latest } : undefined;
    }
    problems.push(`${rel(path)}: not valid JSON (${(err as Error).message}); expected e.g. {"live": "1"}`);
    return undefined;
  }
  const parsed = aliasesSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const line of formatIssues(parsed.error)) problems.push(`${rel(path)}: ${line}`);
    return undefined;
  }
  const aliases = { ...parsed.data };
  const known = [...present].sort((a, b) => Number(a) - Number(b));
  for (const [alias, target] of Object.entries(aliases)) {
    if (!known.includes(target)) {
      problems.push(
        `${rel(path)}: alias "${alias}" points to version "${target}", which does not exist (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
  if (!aliases[DEFAULT_ALIAS] && latest) aliases[DEFAULT_ALIAS] = latest;
  return aliases;
}

async function readJson(
  path: string,
  problems: string[],
  rel: (p: string) => string,
  fixIfMissing: string,
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    problems.push(`${rel(path)}: missing; ${fixIfMissing}`);
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    problems.push(`${rel(path)}: not valid JSON: ${(err as Error).message}`);
    return undefined;
  }
}
