#!/usr/bin/env node
/**
 * Writes N small, real models for scale tests: each a multinomial logistic regression trained on
 * the iris data with its own seed (its own split and SGD order, so its own weights), with its
 * model.json (sha256, lineage, training statistics), golden fixtures computed in float64 by the
 * training code, and aliases.json. Same arguments, same bytes.
 *
 *   npm run models:many -- --count 500 --to /tmp/models-500
 *   npm run models:many -- --count 24 --to /tmp/models-24 --with-shipped
 */
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { numberFlag, parseCommand, runMain, usageError } from '../cli/args.ts';
import { ProgressBar } from '../cli/progress.ts';
import { irisModel, SEED } from './train-models.ts';

const HELP = `Usage: npm run models:many -- --count <n> --to <dir> [options]

Writes <n> small, real models (iris classifiers, each trained with its own seed, with golden
fixtures) into <dir>, as <prefix>-001 … each with version 1 live: a model repository for
npm start (MODELS_DIR=<dir>), cdk synth (-c infera:models=<dir>) and the scale benchmarks.

Options:
  --count <n>        how many models (1 to 5000)
  --to <dir>         the folder to write (created; existing models of the same names are replaced)
  --prefix <name>    model name prefix (default iris); names are <prefix>-001, <prefix>-002, …
  --with-shipped     also copy the shipped models from models/
  -h, --help         show this help
`;

const COMMAND = 'npm run models:many --';

/** Writes the models and returns their names. */
export async function makeModels(
  to: string,
  count: number,
  opts: { prefix?: string; onProgress?: (done: number) => void } = {},
): Promise<string[]> {
  const prefix = opts.prefix ?? 'iris';
  const width = Math.max(3, String(count).length);
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `${prefix}-${String(i).padStart(width, '0')}`;
    await writeModel(to, name, '1', {
      seed: SEED + 1000 + i,
      description: `Iris species from flower measurements: multinomial logistic regression, generated model ${i} of ${count} for scale tests.`,
    });
    names.push(name);
    opts.onProgress?.(i);
  }
  return names;
}

/**
 * Writes one generated model version (model.onnx, model.json, golden fixtures) under
 * <to>/<name>/<version>/, and aliases.json with `live` on it (unless `live` is false).
 */
export async function writeModel(
  to: string,
  name: string,
  version: string,
  opts: { seed: number; description?: string; live?: boolean },
): Promise<void> {
  const m = irisModel({
    name,
    version,
    seed: opts.seed,
    code: 'scripts/make-models.ts',
    description:
      opts.description ??
      `Iris species from flower measurements: multinomial logistic regression, generated with seed ${opts.seed}.`,
  });
  const dir = join(to, name, version);
  await mkdir(join(dir, 'fixtures'), { recursive: true });
  await writeFile(join(dir, 'model.onnx'), m.onnx);
  await writeFile(join(dir, 'model.json'), `${JSON.stringify(m.manifest, null, 2)}\n`);
  await writeFile(join(dir, 'fixtures', 'golden.json'), `${JSON.stringify(m.golden, null, 2)}\n`);
  if (opts.live !== false)
    await writeFile(join(to, name, 'aliases.json'), `${JSON.stringify({ live: version }, null, 2)}\n`);
}

async function main(): Promise<number> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        count: { type: 'string' },
        to: { type: 'string' },
        prefix: { type: 'string', default: 'iris' },
        'with-shipped': { type: 'boolean', default: false },
      },
    },
    process.argv.slice(2),
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const count = numberFlag(COMMAND, 'count', values.count, { min: 1, max: 5000, integer: true });
  if (count === undefined) throw usageError(COMMAND, 'Give --count <n>, the number of models to write.');
  if (!values.to) throw usageError(COMMAND, 'Give --to <dir>, the folder to write the models into.');
  if (!/^[a-z0-9](-?[a-z0-9])*$/.test(values.prefix))
    throw usageError(
      COMMAND,
      `--prefix must be lower-case letters, digits and single hyphens, got '${values.prefix}'.`,
    );
  await mkdir(values.to, { recursive: true });
  if (values['with-shipped']) {
    const shipped = new URL('../models/', import.meta.url).pathname;
    for (const entry of await readdir(shipped, { withFileTypes: true }))
      if (entry.isDirectory())
        await cp(join(shipped, entry.name), join(values.to, entry.name), { recursive: true });
  }
  const bar = new ProgressBar({ label: 'models', unit: 'models' });
  await makeModels(values.to, count, { prefix: values.prefix, onProgress: (n) => bar.update(n, count) });
  bar.done();
  console.log(
    `wrote ${count} models to ${values.to}${values['with-shipped'] ? ' (and the shipped ones)' : ''}`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
