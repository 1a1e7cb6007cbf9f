/**
 * Copies model packages into a function bundle. CDK runs it as an esbuild afterBundling hook, so
 * the models ship inside the Lambda version that serves them: a version pins code and model
 * together, and rolling the alias back rolls both back. Beside each model.json it writes the
 * manifest checked by the schema (model.checked.json), which the function's start-up reads
 * instead of running the schema (core/model/repository/checked-manifest.ts).
 *
 *   node infra/lib/package-models.ts --from models --to <bundle>/models --models a,b [--without-weights a@1]
 *   node infra/lib/package-models.ts --from models --to <bundle>/fixtures --models a --fixtures
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { manifestSchema } from '../../functions/core/model/manifest/schema.ts';
import { CHECKED_MANIFEST, checkedManifest } from '../../functions/core/model/repository/checked-manifest.ts';

export interface PackageOptions {
  readonly from: string;
  readonly to: string;
  readonly models: readonly string[];
  /** name@version whose model.onnx stays out: SageMaker serves it, the function needs only the manifest. */
  readonly withoutWeights?: readonly string[];
  /** Copy only fixtures/golden.json, as <model>/<version>/golden.json: what the pre-traffic hook needs. */
  readonly fixturesOnly?: boolean;
}

const isVersion = (name: string) => /^[1-9][0-9]*$/.test(name);

/** Copies what the options select and returns the relative paths written, sorted. */
export function packageModels(opts: PackageOptions): string[] {
  const written: string[] = [];
  const copy = (src: string, rel: string) => {
    const dest = join(opts.to, rel);
    mkdirSync(join(dest, '..'), { recursive: true });
    copyFileSync(src, dest);
    written.push(rel);
  };
  for (const model of opts.models) {
    const dir = join(opts.from, model);
    if (!existsSync(dir)) throw new Error(`${dir}: no such model folder`);
    if (!opts.fixturesOnly && existsSync(join(dir, 'aliases.json'))) {
      copy(join(dir, 'aliases.json'), join(model, 'aliases.json'));
    }
    for (const version of readdirSync(dir).filter(isVersion).sort()) {
      const vdir = join(dir, version);
      if (!statSync(vdir).isDirectory()) continue;
      if (opts.fixturesOnly) {
        const golden = join(vdir, 'fixtures', 'golden.json');
        if (existsSync(golden)) copy(golden, join(model, version, 'golden.json'));
        continue;
      }
      const skipWeights = opts.withoutWeights?.includes(`${model}@${version}`) ?? false;
      for (const file of walk(vdir)) {
        if (skipWeights && file === 'model.onnx') continue;
        if (file === CHECKED_MANIFEST) continue;
        copy(join(vdir, file), join(model, version, file));
      }
      writeChecked(join(vdir, 'model.json'), join(model, version, CHECKED_MANIFEST));
    }
  }
  return written.sort();

  /** A manifest the schema refuses gets no checked form: the function's start-up reports it. */
  function writeChecked(manifestPath: string, rel: string) {
    if (!existsSync(manifestPath)) return;
    const source = readFileSync(manifestPath);
    let json: unknown;
    try {
      json = JSON.parse(source.toString('utf8'));
    } catch {
      return;
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) return;
    writeFileSync(join(opts.to, rel), JSON.stringify(checkedManifest(source, parsed.data)));
    written.push(rel);
  }
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name), join(prefix, e.name)) : [join(prefix, e.name)],
    )
    .sort();
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const list = (flag: string) => (value(flag) ?? '').split(',').filter(Boolean);
  const from = value('--from');
  const to = value('--to');
  if (args.includes('--help') || !from || !to || list('--models').length === 0) {
    console.log(
      'Usage: node infra/lib/package-models.ts --from DIR --to DIR --models a,b [--without-weights a@1] [--fixtures]',
    );
    process.exit(args.includes('--help') ? 0 : 2);
  }
  try {
    packageModels({
      from,
      to,
      models: list('--models'),
      withoutWeights: list('--without-weights'),
      fixturesOnly: args.includes('--fixtures'),
    });
  } catch (err) {
    console.error(`package-models: ${(err as Error).message}`);
    process.exit(1);
  }
}
