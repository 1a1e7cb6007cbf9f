/** One version's package read from disk and verified: manifest, model bytes' hash, labels, processor. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../errors.ts';
import { formatIssues } from '../../protocol/issues.ts';
import type { Manifest } from '../manifest/schema.ts';
import { hardwareProblems, hashMismatch, sha256Hex } from '../package-checks.ts';
import { decidePlacement, type PlacementPolicy } from '../placement.ts';
import type { ModelVersion } from '../types.ts';
import { readCheckedManifest } from './checked-manifest.ts';

/** One version to load: where it is, what it is called, and how it is served. */
export interface VersionToLoad {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  readonly policy: PlacementPolicy;
  /** Paths in messages, relative to where the user runs infera. */
  readonly rel: (p: string) => string;
  /** Every artifact must be present: the serving container loads this version, whatever its target. */
  readonly needArtifact?: boolean;
  /** Hash model.onnx when a session first reads it, not now (a lazily warmed function). */
  readonly hashOnUse?: boolean;
}

/** Reads and verifies one version's package; each problem goes to `problems`, naming file and fix. */
export async function loadVersion(v: VersionToLoad, problems: string[]): Promise<ModelVersion | undefined> {
  const { dir, policy, rel, needArtifact = false, hashOnUse = false } = v;
  // The serving container takes the name and version from the manifest (see needArtifact below).
  let { name, version } = v;
  const manifestPath = join(dir, 'model.json');
  const modelPath = join(dir, 'model.onnx');
  const source = await readSource(
    manifestPath,
    problems,
    rel,
    `add ${rel(manifestPath)}; see docs/models.md "Bring your own model"`,
  );
  if (source === undefined) return undefined;
  const manifest =
    (await readCheckedManifest(dir, source)) ?? (await parseManifest(source, manifestPath, problems, rel));
  if (manifest === undefined) return undefined;
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
      const hash = sha256Hex(code);
      if (hash !== manifest.processor.sha256) {
        problems.push(
          `${rel(manifestPath)}: processor.sha256 does not match ${manifest.processor.file} (file hashes to ${hash}). A version is immutable: change the processor in a new version, or set "sha256": "${hash}" if the manifest is wrong`,
        );
        ok = false;
      }
    }
    for (const [i, side] of manifest.processor.files.entries()) {
      const at = join(dir, side.file);
      const bytes = await readFile(at).catch(() => undefined);
      const hash = bytes ? sha256Hex(bytes) : undefined;
      if (hash === side.sha256) continue;
      problems.push(
        hash
          ? `${rel(manifestPath)}: processor.files[${i}].sha256 does not match ${side.file} (file hashes to ${hash}); set it, or restore the file`
          : `${rel(at)}: processor.files[${i}] names it, but it is missing; put it beside model.json`,
      );
      ok = false;
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

/** model.json checked by the schema, which loads only when a version has no checked manifest. */
async function parseManifest(
  source: Buffer,
  path: string,
  problems: string[],
  rel: (p: string) => string,
): Promise<Manifest | undefined> {
  const json = parseJson(source, path, problems, rel);
  if (json === undefined) return undefined;
  const { manifestSchema } = await import('../manifest/schema.ts');
  const parsed = manifestSchema.safeParse(json, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const line of formatIssues(parsed.error)) problems.push(`${rel(path)}: ${line}`);
  return undefined;
}

async function readSource(
  path: string,
  problems: string[],
  rel: (p: string) => string,
  fixIfMissing: string,
): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    problems.push(`${rel(path)}: missing; ${fixIfMissing}`);
    return undefined;
  }
}

function parseJson(source: Buffer, path: string, problems: string[], rel: (p: string) => string): unknown {
  try {
    return JSON.parse(source.toString('utf8'));
  } catch (err) {
    problems.push(`${rel(path)}: not valid JSON: ${messageOf(err)}`);
    return undefined;
  }
}

export async function readJson(
  path: string,
  problems: string[],
  rel: (p: string) => string,
  fixIfMissing: string,
): Promise<unknown> {
  const source = await readSource(path, problems, rel, fixIfMissing);
  return source === undefined ? undefined : parseJson(source, path, problems, rel);
}
