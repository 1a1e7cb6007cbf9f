import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelPackageError } from '../errors.ts';
import { formatIssues } from '../protocol/issues.ts';
import { type Aliases, type Manifest, MODEL_NAME, manifestSchema, VERSION } from './manifest.ts';
import { relPath as rel } from './paths.ts';
import {
  DEFAULT_PLACEMENT_POLICY,
  decidePlacement,
  hardwareOf,
  type Placement,
  type PlacementPolicy,
} from './placement.ts';
import {
  type AliasesFile,
  aliasesFileSchema,
  plainAliases,
  policyOf,
  type TrafficPolicy,
} from './traffic.ts';
import type { LoadOptions, ModelEntry, ModelVersion } from './types.ts';

/**
 * The model repository: the core's only disk reader, as kserve's model_repository.py is. It reads
 * `models/` (or one SageMaker model folder), verifies every package and builds the registry's
 * entries; later it reads a version's model bytes, a tokenizer, or an updated aliases.json.
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
    json === undefined ? undefined : await loadVersion(dir, name, version, problems, rel, policy, true);
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

/** A version's ONNX bytes, for the session that runs it. */
export async function readModelBytes(mv: ModelVersion): Promise<Uint8Array> {
  const bytes = await readFile(mv.modelPath);
  if (mv.hashOnUse) {
    const mismatch = hashMismatch(rel(join(mv.dir, 'model.json')), mv.manifest.sha256, bytes);
    if (mismatch) throw new ModelPackageError([mismatch]);
  }
  return bytes;
}

/**
 * A version's processor.ts as a module: Node imports it as written (its sha256 was checked when
 * the version was loaded). Its exports are checked by the caller (processor.ts).
 */
export async function importProcessor(mv: ModelVersion, file: string): Promise<Record<string, unknown>> {
  const path = join(mv.dir, file);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ModelPackageError([`${rel(path)}: could not be loaded: ${(err as Error).message}`]);
  }
}

/** A JSON file beside a model's manifest (a tokenizer), refused over `maxBytes` before it is read. */
export async function readPackageJson(path: string, maxBytes: number): Promise<unknown> {
  const size = (await stat(path)).size;
  if (size > maxBytes) throw new Error(`it is ${size} bytes, over ${maxBytes}`);
  return JSON.parse(await readFile(path, 'utf8'));
}

/**
 * Re-reads one model's aliases.json. Returns the new aliases and policy when the file is valid,
 * and the problems when it is not (the caller keeps serving as before).
 */
export async function readAliases(
  root: string,
  entry: ModelEntry,
): Promise<{ loaded?: { aliases: Aliases; policy: TrafficPolicy }; problems: string[] }> {
  const problems: string[] = [];
  const loaded = await loadAliases(
    join(root, entry.name),
    entry.versions,
    entry.versions.map((v) => v.version),
    problems,
    rel,
  );
  return { ...(loaded ? { loaded } : {}), problems };
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
        v: await loadVersion(join(dir, d.name), name, d.name, own, rel, policy, false, hashOnUse),
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

async function loadVersion(
  dir: string,
  name: string,
  version: string,
  problems: string[],
  rel: (p: string) => string,
  policy: PlacementPolicy,
  needArtifact = false,
  hashOnUse = false,
): Promise<ModelVersion | undefined> {
  const manifestPath = join(dir, 'model.json');
  const modelPath = join(dir, 'model.onnx');
  const json = await readJson(
    manifestPath,
    problems,
    rel,
    `add ${rel(manifestPath)}; see docs/models.md "Bring your own model"`,
  );
  if (json === undefined) return undefined;
  const parsed = manifestSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    for (const line of formatIssues(parsed.error)) problems.push(`${rel(manifestPath)}: ${line}`);
    return undefined;
  }
  const manifest = parsed.data;
  let ok = true;
  if (manifest.outputs.labelsFile) {
    const labels = await readLabels(join(dir, manifest.outputs.labelsFile), problems, rel);
    if (labels) manifest.outputs.labels = labels;
    else ok = false;
  }
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
  let sizeBytes: number | undefined;
  try {
    if (hashOnUse) sizeBytes = (await stat(modelPath)).size;
    else {
      bytes = await readFile(modelPath);
      sizeBytes = bytes.length;
    }
  } catch {
    bytes = undefined;
  }
  const route = decidePlacement({ name, version, sizeBytes }, manifest, policy);
  for (const problem of hardwareProblems(manifest, route)) {
    problems.push(`${rel(manifestPath)}: ${problem}`);
    ok = false;
  }
  if (sizeBytes === undefined) {
    // A SageMaker model's function needs only the manifest; its weights live with the endpoint.
    // An "auto" model qualifies only when the deployment pinned its route (ROUTE_OVERRIDES):
    // without its size, "auto" cannot decide, so a missing file must stay an error.
    if (
      route.target === 'sagemaker' &&
      !needArtifact &&
      (manifest.target.type === 'sagemaker' || route.overridden)
    ) {
      return ok
        ? { name, version, dir, modelPath, sizeBytes: undefined, manifest, placement: route }
        : undefined;
    }
    problems.push(`${rel(modelPath)}: missing; put the ONNX file next to model.json under this exact name`);
    return undefined;
  }
  const mismatch = bytes ? hashMismatch(rel(manifestPath), manifest.sha256, bytes) : undefined;
  if (mismatch) {
    problems.push(mismatch);
    ok = false;
  }
  if (manifest.processor) {
    const path = join(dir, manifest.processor.file);
    const code = await readFile(path).catch(() => undefined);
    if (!code) {
      problems.push(`${rel(path)}: processor.file names it, but it is missing; put it beside model.json`);
      ok = false;
    } else {
      const hash = createHash('sha256').update(code).digest('hex');
      if (hash !== manifest.processor.sha256) {
        problems.push(
          `${rel(manifestPath)}: processor.sha256 does not match ${manifest.processor.file} (file hashes to ${hash}). A version is immutable: change the processor in a new version, or set "sha256": "${hash}" if the manifest is wrong`,
        );
        ok = false;
      }
    }
  }
  if (!ok) return undefined;
  return {
    name,
    version,
    dir,
    modelPath,
    sizeBytes,
    manifest,
    placement: route,
    ...(hashOnUse ? { hashOnUse: true } : {}),
  };
}

/** The problem when model.onnx's bytes do not hash to the manifest's sha256. */
function hashMismatch(manifestShown: string, sha256: string, bytes: Uint8Array): string | undefined {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual === sha256) return undefined;
  return (
    `${manifestShown}: sha256 does not match model.onnx (file hashes to ${actual}, manifest says ${sha256}). ` +
    `A version is immutable: if you meant to change the model, create a new version folder; if the manifest is wrong, set "sha256": "${actual}"`
  );
}

/** The most labels a labels file may hold, and its largest size. */
const MAX_LABELS = 100_000;
const MAX_LABELS_BYTES = 8 * 1024 * 1024;

/** A labels file: one label per line, in output order; blank trailing lines are ignored. */
async function readLabels(
  path: string,
  problems: string[],
  rel: (p: string) => string,
): Promise<string[] | undefined> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_LABELS_BYTES) {
      problems.push(`${rel(path)}: is ${bytes.length} bytes; a labels file may be ${MAX_LABELS_BYTES}`);
      return undefined;
    }
    text = bytes.toString('utf8');
  } catch {
    problems.push(
      `${rel(path)}: outputs.labelsFile names it, but it is missing; put one label per line beside model.json`,
    );
    return undefined;
  }
  const lines = text
    .replace(/\r/g, '')
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => l.trim());
  const blank = lines.indexOf('');
  if (blank >= 0) {
    problems.push(`${rel(path)}: line ${blank + 1} is blank; every line is a label, in output order`);
    return undefined;
  }
  if (lines.length < 2 || lines.length > MAX_LABELS) {
    problems.push(`${rel(path)}: holds ${lines.length} labels; give between 2 and ${MAX_LABELS}`);
    return undefined;
  }
  return lines;
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
      const fb = mv.placement.fallback;
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
      } else if (fbv.placement.target !== 'lambda') {
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
): Promise<{ aliases: Aliases; policy: TrafficPolicy } | undefined> {
  const path = join(dir, 'aliases.json');
  const latest = versions.at(-1)?.version;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // No aliases file: `live` follows the newest version, the least surprising default.
      if (!latest) return undefined;
      const policy = policyOf({}, latest);
      return { aliases: plainAliases({}, policy), policy };
    }
    problems.push(`${rel(path)}: not valid JSON (${(err as Error).message}); expected e.g. {"live": "1"}`);
    return undefined;
  }
  const parsed = aliasesFileSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const line of formatIssues(parsed.error)) problems.push(`${rel(path)}: ${line}`);
    return undefined;
  }
  const file: AliasesFile = parsed.data;
  const known = [...present].sort((a, b) => Number(a) - Number(b));
  const before = problems.length;
  for (const [alias, target] of Object.entries(file)) {
    for (const v of typeof target === 'string' ? [target] : Object.keys(target)) {
      if (!known.includes(v)) {
        problems.push(
          `${rel(path)}: alias "${alias}" points to version "${v}", which does not exist (known: ${known.join(', ') || 'none'})`,
        );
      }
    }
  }
  if (problems.length > before) return undefined;
  const policy = policyOf(file, latest);
  return { aliases: plainAliases(file, policy), policy };
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

/**
 * What a manifest's target asks of the hardware that its instance type cannot give: ONNX on
 * Inferentia or Trainium (AWS rule sagemaker-neuron), a Neuron model without its compiled
 * artifact, or an accelerator the instance type does not carry.
 */
export function hardwareProblems(manifest: Manifest, route: Placement): string[] {
  const instance = route.endpoint?.instanceType;
  if (route.target !== 'sagemaker' || !instance) return [];
  const hardware = hardwareOf(instance);
  const t = manifest.target;
  const accelerator = t.type === 'lambda' ? undefined : t.accelerator;
  const problems: string[] = [];
  if (hardware === 'neuron' && !route.endpoint?.image) {
    problems.push(
      `target.instanceType ${instance} is Inferentia or Trainium, which runs Neuron-compiled models, not ONNX; set target.image to a Neuron serving image (e.g. 763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-inference-neuronx:<tag>) and target.modelDataUrl to your compiled model.tar.gz (docs/heavy-models.md), or pick a GPU type such as ml.g5.xlarge`,
    );
  } else if (hardware === 'neuron' && !route.endpoint?.modelDataUrl) {
    problems.push(
      `target.instanceType ${instance} runs a Neuron-compiled model, which infera cannot build from model.onnx; set target.modelDataUrl to the s3://…/model.tar.gz your Neuron compile produced`,
    );
  }
  const wanted = accelerator === 'gpu' ? 'gpu' : accelerator === 'inferentia' ? 'neuron' : undefined;
  if (wanted && wanted !== hardware) {
    problems.push(
      `target.accelerator "${accelerator}" asks for ${wanted === 'gpu' ? 'an NVIDIA GPU' : 'AWS Inferentia'}, but target.instanceType ${instance} has ${hardware === 'cpu' ? 'none' : hardware === 'gpu' ? 'a GPU' : 'Neuron chips'}; choose an instance type such as ${wanted === 'gpu' ? 'ml.g5.xlarge' : 'ml.inf2.xlarge'}, or drop target.accelerator`,
    );
  }
  return problems;
}
