import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf, ModelPackageError, messageOf } from '../../errors.ts';
import { MODEL_NAME, VERSION } from '../manifest/names.ts';
import { checkFallbacks } from '../package-checks.ts';
import { relPath as rel } from '../paths.ts';
import { DEFAULT_PLACEMENT_POLICY, type PlacementPolicy } from '../placement.ts';
import type { LoadOptions, ModelEntry, ModelVersion } from '../types.ts';
import { loadAliases } from './aliases.ts';
import { loadVersion, readJson } from './version.ts';

/**
 * The model repository (this folder): the core's only disk reader, as kserve's
 * model_repository.py is. It reads `models/` (or one SageMaker model folder), verifies every
 * package and builds the registry's entries (load.ts, version.ts); later it reads a version's
 * model bytes, processor or tokenizer (files.ts), or an updated aliases.json (aliases.ts).
 * Everything else in functions/core works on what it returns.
 */

/** Loads and verifies every model package under `root`, and decides each version's route. */
export async function loadModels(root: string, opts: LoadOptions = {}): Promise<Map<string, ModelEntry>> {
  const problems: string[] = [];
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !d.name.startsWith('_'))
      .map((d) => d.name)
      .sort();
  } catch (err) {
    throw new ModelPackageError([
      `${rel(root)}: cannot read the models directory (${codeOf(err) ?? err}). Set MODELS_DIR to the folder that holds <name>/<version>/model.json.`,
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
      const entry = await loadModel(
        root,
        name,
        own,
        rel,
        opts.routing ?? DEFAULT_PLACEMENT_POLICY,
        opts.hashes === 'use',
      );
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
      `${rel(root)}: no models found. Add one as ${rel(root)}/<name>/1/{model.onnx,model.json}; see docs/models.md "Bring your own model".`,
    ]);
  }
  return models;
}

/**
 * One version from a flat folder holding model.json and model.onnx: what a SageMaker container
 * finds under /opt/ml/model. It is served where it is, whatever its manifest's target says.
 */
export async function loadVersionDir(dir: string): Promise<Map<string, ModelEntry>> {
  const problems: string[] = [];
  const json = (await readJson(
    join(dir, 'model.json'),
    problems,
    rel,
    'the model folder (SM_MODEL_DIR, /opt/ml/model on SageMaker) must hold model.json and model.onnx',
  )) as { name?: unknown; version?: unknown } | undefined;
  const name = typeof json?.name === 'string' ? json.name : '';
  const version = typeof json?.version === 'string' ? json.version : '';
  const policy: PlacementPolicy = {
    ...DEFAULT_PLACEMENT_POLICY,
    overrides: { [`${name}@${version}`]: 'lambda' },
  };
  const mv =
    json === undefined
      ? undefined
      : await loadVersion({ dir, name, version, rel, policy, needArtifact: true }, problems);
  if (problems.length > 0 || !mv) throw new ModelPackageError(problems);
  const served: ModelVersion = { ...mv, placement: { ...mv.placement, reason: 'served by this container' } };
  return new Map([
    [
      name,
      {
        name,
        versions: [served],
        aliases: { live: version },
        policy: { live: [{ version, weight: 1 }] },
      },
    ],
  ]);
}

async function loadModel(
  root: string,
  name: string,
  problems: string[],
  rel: (p: string) => string,
  policy: PlacementPolicy,
  hashOnUse = false,
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
      return {
        own,
        v: await loadVersion({ dir: join(dir, d.name), name, version: d.name, rel, policy, hashOnUse }, own),
      };
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
  const traffic = await loadAliases(dir, versions, present, problems, rel);
  if (problems.length > before || !traffic) return undefined;
  return { name, versions, ...traffic };
}

/**
 * One model's folder read again, as npm start follows models/ while it runs: the entry, checked as
 * at start-up (its fallbacks against the other models), or the problems; `removed` once the
 * folder is gone.
 */
export async function reloadModel(
  root: string,
  name: string,
  others: ReadonlyMap<string, ModelEntry>,
  opts: LoadOptions = {},
): Promise<{ entry?: ModelEntry; removed: boolean; problems: string[] }> {
  const dir = join(root, name);
  const present = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!present) return { removed: true, problems: [] };
  const problems: string[] = [];
  let entry: ModelEntry | undefined;
  try {
    entry = await loadModel(
      root,
      name,
      problems,
      rel,
      opts.routing ?? DEFAULT_PLACEMENT_POLICY,
      opts.hashes === 'use',
    );
  } catch (err) {
    problems.push(`${rel(dir)}: ${messageOf(err)}`);
  }
  if (entry && problems.length === 0) {
    const all = new Map(others);
    all.set(name, entry);
    checkFallbacks(all, problems, rel, opts.only !== undefined);
  }
  return problems.length > 0 || !entry ? { removed: false, problems } : { entry, removed: false, problems };
}
