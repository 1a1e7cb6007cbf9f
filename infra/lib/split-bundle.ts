#!/usr/bin/env node
/**
 * The functions' own build step: one handler entry bundled by esbuild as ESM with code splitting,
 * so what a cold start loads is only the graph its first request needs; everything behind a
 * dynamic import() (the SageMaker client, image and text libraries, batch-only code...) becomes a
 * chunk under chunks/, loaded on first need. CDK's NodejsFunction bundles to one file and cannot
 * split, so InferaFunction runs this after its bundling, replacing index.mjs (docs/performance.md,
 * B4, measures the difference).
 *
 *   node infra/lib/split-bundle.ts --entry functions/api/predict.ts --out <asset dir> \
 *     --external onnxruntime-node,onnxruntime-common
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseCommand, runMain, usageError } from '../../cli/args.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** node:http and node:https through require(): see infra/lib/cjs-builtins/http.cjs. */
const CJS_BUILTINS = Object.fromEntries(
  ['http', 'https'].flatMap((m) => {
    const shim = join(ROOT, 'infra', 'lib', 'cjs-builtins', `${m}.cjs`);
    return [
      [`node:${m}`, shim],
      [m, shim],
    ];
  }),
);

/** The esbuild options of every function: the same as InferaFunction gave NodejsFunction. */
export async function splitBundle(opts: { entry: string; out: string; external: readonly string[] }) {
  // The single file NodejsFunction wrote, and any chunks of an earlier build, make way.
  for (const f of readdirSync(opts.out)) {
    if (f.endsWith('.mjs') || f === 'chunks') rmSync(join(opts.out, f), { recursive: true, force: true });
  }
  await build({
    entryPoints: { index: join(ROOT, opts.entry) },
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    outdir: opts.out,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    // Function and class names survive minification, so stack traces stay readable without a map.
    keepNames: true,
    sourcemap: false,
    mainFields: ['module', 'main'],
    // Some bundled CommonJS dependencies call require(); ESM has none of its own.
    banner: {
      js: "import { createRequire as __inferaRequire } from 'node:module'; const require = __inferaRequire(import.meta.url);",
    },
    external: [...opts.external],
    alias: CJS_BUILTINS,
    logLevel: 'warning',
  });
}

/**
 * What a cold start of a split build loads: index.mjs and the chunks it imports statically,
 * transitively (paths relative to the build folder). Chunks behind import() are left out.
 */
export function startGraph(dir: string): string[] {
  const loaded = new Set<string>();
  const walk = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const code = readFileSync(join(dir, file), 'utf8');
    for (const m of code.matchAll(/(?:import|export)\s*(?:[\w$,{}\s*]*?from\s*)?"(\.{1,2}\/[^"]+)"/g))
      walk(join(dirname(file), m[1] as string));
  };
  walk('index.mjs');
  return [...loaded];
}

if (import.meta.main) {
  const COMMAND = 'node infra/lib/split-bundle.ts';
  await runMain(async () => {
    const parsed = parseCommand(
      {
        name: COMMAND,
        help: `Usage: ${COMMAND} --entry <file> --out <dir> [--external a,b]\n\nBundles one handler entry as code-split ESM into <dir> (index.mjs and chunks/), as every function ships.`,
        options: {
          entry: { type: 'string' },
          out: { type: 'string' },
          external: { type: 'string', default: '' },
        },
      },
      process.argv.slice(2),
    );
    if (!parsed) return 0;
    const { entry, out, external } = parsed.values;
    if (!entry || !out) throw usageError(COMMAND, 'give --entry <file> and --out <dir>.');
    if (!existsSync(join(ROOT, entry)))
      throw usageError(
        COMMAND,
        `--entry ${entry}: no such file; give a handler's path from the repository root, e.g. functions/api/predict.ts.`,
      );
    mkdirSync(out, { recursive: true });
    await splitBundle({ entry, out, external: (external ?? '').split(',').filter(Boolean) });
    return 0;
  });
}
