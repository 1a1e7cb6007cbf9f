import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
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

/** One immutable model version: its manifest, its ONNX bytes' location and size. */
export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly modelPath: string;
  readonly sizeBytes: number;
  readonly manifest: Manifest;
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

  /**
   * Loads and verifies every model package under `root`.
   * @param only restrict to these model names (a per-model Lambda function loads just its own).
   */
  static async load(root: string, opts: { only?: readonly string[] } = {}): Promise<ModelRegistry> {
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
    for (const name of names) {
      const entry = await loadModel(root, name, problems, rel);
      if (entry) models.set(name, entry);
    }
    if (problems.length > 0) throw new ModelPackageError(problems);
    if (models.size === 0) {
      throw new ModelPackageError([
        `${rel(root)}: no models found. Add one as ${rel(root)}/<name>/1/{model.onnx,model.json}; see README "Bring your own model".`,
      ]);
    }
    return new ModelRegistry(root, models);
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
  for (const d of versionDirs) {
    if (!VERSION.test(d.name)) {
      problems.push(
        `${rel(join(dir, d.name))}: version folders must be positive integers such as "1"; rename it`,
      );
      continue;
    }
    const v = await loadVersion(join(dir, d.name), name, d.name, problems, rel);
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
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch {
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
  const { size } = await stat(modelPath);
  return { name, version, dir, modelPath, sizeBytes: size, manifest };
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
