/**
 * Builds the ONNX Runtime Lambda layer from the installed onnxruntime-node package: the JS API,
 * onnxruntime-common, and the native binaries of one Linux architecture, laid out as
 * nodejs/node_modules/<pkg> so the Node.js runtime resolves them from /opt. The pure-JS
 * pre-processing libraries (image decoders, the tokenizer) ride along, so every model function
 * shares them instead of each bundle carrying its own copy (B5's 1 MB bundle budget).
 *
 * Deterministic: the same installed package gives the same files, in the same order, with the
 * same bytes, and a layer.json listing each file's size and sha256. No @aws-sdk or Powertools
 * package goes in; functions bundle those themselves.
 *
 *   node layers/onnxruntime/build.ts [--arch x86_64|arm64] [--out DIR]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LayerArchitecture = 'x86_64' | 'arm64';

/** Lambda's limit on a function's unzipped code plus all its layers. */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

const HERE = dirname(fileURLToPath(import.meta.url));
/** Where builds go (git-ignored): layers/onnxruntime/dist/<arch>. */
export const DEFAULT_OUT = join(HERE, 'dist');

export interface LayerFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface LayerBuild {
  /** The folder to zip: it holds nodejs/node_modules/... */
  readonly dir: string;
  readonly architecture: LayerArchitecture;
  readonly onnxruntimeVersion: string;
  /** Sum of the file sizes: what the layer takes of Lambda's 250 MB unzipped limit. */
  readonly unzippedBytes: number;
  readonly files: readonly LayerFile[];
}

export interface LayerBuildOptions {
  /** @default 'x86_64' */
  readonly architecture?: LayerArchitecture;
  /** @default layers/onnxruntime/dist */
  readonly outDir?: string;
  /** Folder to resolve onnxruntime-node from. @default the project root */
  readonly from?: string;
}

const NODE_ARCH: Record<LayerArchitecture, string> = { x86_64: 'x64', arm64: 'arm64' };

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * Runtime files only: JavaScript and the nested package.json files that mark dist/cjs as
 * CommonJS; no source maps, type declarations or TypeScript sources.
 */
const isRuntimeJs = (p: string) => p.endsWith('.js') || p.endsWith(`${sep}package.json`);

/**
 * Pure-JS packages the pre-processing code imports (functions/core/image, functions/core/text),
 * with their dependencies. Their JavaScript goes in whole: no types, maps or sources.
 */
export const PROCESSING_PACKAGES = [
  'jpeg-js',
  'fast-png',
  'fflate',
  'iobuffer',
  '@huggingface/tokenizers',
] as const;

type LayerPackage = 'onnxruntime-node' | 'onnxruntime-common' | (typeof PROCESSING_PACKAGES)[number];

const isPackageJs = (p: string) =>
  /\.(js|mjs|cjs)$/.test(p) || p.endsWith(`${sep}package.json`) || p.endsWith('LICENSE');

/** Which files of a package go into the layer, relative to the package root. */
function select(pkgDir: string, pkg: LayerPackage, arch: LayerArchitecture) {
  const rel = (p: string) => relative(pkgDir, p).split(sep).join('/');
  if (pkg !== 'onnxruntime-node' && pkg !== 'onnxruntime-common') {
    return walk(pkgDir)
      .filter((p) => isPackageJs(p) && !/[\\/](src|test|umd)[\\/]/.test(relative(pkgDir, p)))
      .map(rel)
      .sort();
  }
  const files = ['package.json'];
  files.push(...walk(join(pkgDir, 'dist')).filter(isRuntimeJs).map(rel));
  if (pkg === 'onnxruntime-node') {
    const bin = join(pkgDir, 'bin', 'napi-v6', 'linux', NODE_ARCH[arch]);
    let natives: string[];
    try {
      natives = walk(bin);
    } catch {
      throw new Error(
        `onnxruntime-node has no Linux ${arch} binaries at ${bin}. Reinstall it with npm ci (the CPU binaries ship inside the package).`,
      );
    }
    files.push(...natives.map(rel));
  }
  return files.sort();
}

/** Builds the layer folder and returns what is in it. Safe to call on every synth: it is quick and idempotent. */
export function buildOnnxRuntimeLayer(opts: LayerBuildOptions = {}): LayerBuild {
  const architecture = opts.architecture ?? 'x86_64';
  if (!(architecture in NODE_ARCH)) {
    throw new Error(`Unknown layer architecture '${architecture}'. Use x86_64 or arm64.`);
  }
  const req = createRequire(join(opts.from ?? join(HERE, '..', '..'), 'package.json'));
  const dir = join(opts.outDir ?? DEFAULT_OUT, architecture);
  rmSync(dir, { recursive: true, force: true });
  const files: LayerFile[] = [];
  let version = 'unknown';
  for (const pkg of ['onnxruntime-common', 'onnxruntime-node', ...PROCESSING_PACKAGES] as const) {
    // Looked up by folder, not require.resolve: onnxruntime-common's exports map hides package.json.
    const pkgDir = (req.resolve.paths(pkg) ?? [])
      .map((p) => join(p, pkg))
      .find((p) => existsSync(join(p, 'package.json')));
    if (!pkgDir) throw new Error(`Cannot find ${pkg}. Run npm ci in the project root first.`);
    if (pkg === 'onnxruntime-node') {
      version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string })
        .version;
    }
    for (const file of select(pkgDir, pkg, architecture)) {
      const src = join(pkgDir, file);
      const dest = join(dir, 'nodejs', 'node_modules', pkg, file);
      mkdirSync(dirname(dest), { recursive: true });
      const bytes = readFileSync(src);
      writeFileSync(dest, bytes);
      files.push({
        path: `nodejs/node_modules/${pkg}/${file}`,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    }
  }
  const unzippedBytes = files.reduce((n, f) => n + f.bytes, 0);
  const build: LayerBuild = { dir, architecture, onnxruntimeVersion: version, unzippedBytes, files };
  // The report sits beside the layer folder, not in it, so it does not change the layer's hash.
  writeFileSync(
    join(opts.outDir ?? DEFAULT_OUT, `${architecture}.layer.json`),
    `${JSON.stringify({ ...build, dir: relative(process.cwd(), dir) }, null, 2)}\n`,
  );
  return build;
}

/** Total size of the files under a folder: a function bundle's unzipped size. */
export function folderBytes(dir: string): number {
  return walk(dir).reduce((n, f) => n + statSync(f).size, 0);
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`Usage: node layers/onnxruntime/build.ts [--arch x86_64|arm64] [--out DIR]

Builds the onnxruntime-node Lambda layer folder (nodejs/node_modules/...) with only the
Linux binaries of one architecture, and writes <out>/<arch>.layer.json listing every file.
cdk synth runs this itself; run it by hand to inspect the layer.
  --arch   x86_64 (default) or arm64
  --out    output folder (default: layers/onnxruntime/dist)`);
    process.exit(0);
  }
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const arch = (value('--arch') ?? 'x86_64') as LayerArchitecture;
    const out = value('--out');
    const build = buildOnnxRuntimeLayer({ architecture: arch, ...(out ? { outDir: out } : {}) });
    console.log(
      `onnxruntime-node ${build.onnxruntimeVersion} layer (${build.architecture}): ${build.files.length} files, ${mb(build.unzippedBytes)} unzipped, in ${relative(process.cwd(), build.dir)}`,
    );
  } catch (err) {
    console.error(`layer build failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
