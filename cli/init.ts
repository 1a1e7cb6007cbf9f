/**
 * `infera init <model.onnx>`: drafts models/<name>/<version>/ from the graph, so a model brought
 * from outside serves with no hand-written manifest, then loads it as npm start would and says
 * whether it serves. With --sample it also records golden fixtures and trainingStats by running
 * the sample through it (init-sample.ts, init-record.ts). `--check` re-derives an existing
 * version's inputs and outputs from its graph.
 */

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { MODEL_NAME } from '#core/model/manifest.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { localModelsDir } from '../infra/local/info-file.ts';
import { parseCommand } from './args.ts';
import { CliError } from './common.ts';
import { draftManifest, type GraphTensor } from './init-draft.ts';
import { labelsInGraph } from './init-labels.ts';
import { recordSample, writeGolden } from './init-record.ts';
import { type Draft, fitToSample, readSample } from './init-sample.ts';
import { ProgressBar } from './progress.ts';

export const INIT_HELP = `Usage: infera init <model.onnx> [--name <name>] [--task <task>] [--labels <file>]
                   [--sample <file|folder>] [--models <dir>]
       infera init --check <name> [--version <v>] [--models <dir>]

Drafts models/<name>/<version>/ (model.onnx and model.json) from the ONNX graph: every input and
output with its datatype and shape (-1 for a dynamic dimension, [] for a scalar), the sha256, and
a task. Then it loads the folder as npm start does and says whether it serves. Where it has to
guess (the task, a missing batch dimension), it writes the guess and prints it. A running
npm start picks the new folder up by itself.

With --sample, it runs sample data through the model as npm start does and records:
  fixtures/golden.json  the answers to the first few instances, which the pre-traffic hook,
                        infera cost and every deployment check
  trainingStats         in model.json: per feature quantiles and drift bins, the score's
                        distribution, tensor inputs' mean/std/min/max: what drift monitoring,
                        the dashboard and npm run traffic compare with
The sample also says how the model takes its inputs where the graph cannot:
  rows.csv              a header of names, then one row a line. For a graph with one FP32 input
                        [N, features], the numeric columns become named features (tabular).
  rows.jsonl            one v1 instance a line, keyed by input name: {"x": [..], "sr": 16000}
  a folder of images    .png/.jpg files: the 4-D input takes PNG/JPEG files (its "image" block)
  a folder of texts     .txt files, one text each, for a graph with one string (BYTES) input
Up to 100,000 rows (from the first 256 MB of a file) or 2,000 files of up to 32 MB each are
read. Use data the model was trained on (or a holdout): drift is measured against it.

Options:
  --name <name>      model name (default: the file name, lower case)
  --task <task>      tensor (default), multiclass-classification, binary-classification,
                     regression or embedding
  --labels <file>    one label a line, in output order (makes a classifier of the first output);
                     without it, labels the graph itself carries are used (metadata "labels",
                     "classes", "names", "id2label", or a classifier node's classlabels)
  --sample <path>    rows (.csv, .jsonl) or a folder of images or texts: see above
  --models <dir>     models folder (default: $MODELS_DIR, else the folder a running npm start
                     serves, else ./models)
  --check            compare an existing version's manifest with its graph, changing nothing
  --version <v>      with --check: the version (default: the newest)
`;

async function signature(file: string): Promise<{ inputs: GraphTensor[]; outputs: GraphTensor[] }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (err) {
    throw new CliError(
      `${file} is not an ONNX model onnxruntime can load: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const of = (ms: readonly ort.InferenceSession.ValueMetadata[]): GraphTensor[] =>
    ms.map((m) =>
      m.isTensor
        ? { name: m.name, type: m.type, shape: [...m.shape] }
        : { name: m.name, type: 'map', shape: [] },
    );
  const sig = { inputs: of(session.inputMetadata), outputs: of(session.outputMetadata) };
  await session.release();
  return sig;
}

async function nextVersion(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const versions = names.filter((n) => /^\d+$/.test(n)).map(Number);
  return String(versions.length > 0 ? Math.max(...versions) + 1 : 1);
}

export async function initCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'infera init',
      help: INIT_HELP,
      positionals: true,
      options: {
        name: { type: 'string' },
        task: { type: 'string' },
        labels: { type: 'string' },
        sample: { type: 'string' },
        models: { type: 'string' },
        check: { type: 'boolean', default: false },
        version: { type: 'string' },
      },
    },
    argv,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const served = localModelsDir(values.models);
  if (served.servedBy)
    console.error(`Drafting in ${served.dir}, the models folder npm start serves at ${served.servedBy}.`);
  const models = served.dir;
  if (values.check) return check(models, positionals[0], values.version);
  const file = positionals[0];
  if (!file) throw new CliError('Name the ONNX file to draft a model from.', ['See: infera init --help'], 2);
  const bytes = await readFile(file).catch(() => {
    throw new CliError(`Cannot read ${file}.`, ['Give the path of an .onnx file.'], 2);
  });
  const name =
    values.name ??
    basename(file)
      .replace(/\.onnx$/i, '')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-');
  if (!MODEL_NAME.test(name))
    throw new CliError(
      `'${name}' is not a model name.`,
      ['Use lowercase letters, digits, ".", "_" or "-": --name <name>.'],
      2,
    );
  let labels = values.labels
    ? (
        await readFile(values.labels, 'utf8').catch(() => {
          throw new CliError(`Cannot read the labels file ${values.labels}.`, [], 2);
        })
      )
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
    : undefined;
  // The sample is read first: a bad one stops init before anything is written.
  const sample = values.sample ? await readSample(values.sample) : undefined;
  const graph = await signature(file);
  const labelGuesses: string[] = [];
  if (!labels && values.task === undefined) {
    const found = labelsInGraph(bytes);
    const scores = graph.outputs[0]?.shape;
    const width = scores?.length === 2 ? scores[1] : undefined;
    if (found && (width === found.labels.length || typeof width === 'string' || width === -1)) {
      labels = [...found.labels];
      labelGuesses.push(`labels: ${found.labels.length} from ${found.from} (pass --labels to use others)`);
    } else if (found) {
      labelGuesses.push(
        `${found.from} names ${found.labels.length} classes, but output '${graph.outputs[0]?.name}' is not [N, ${found.labels.length}] class scores: kept as a tensor model`,
      );
    }
  }
  const version = await nextVersion(join(models, name));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const draft = draftManifest(graph, {
    name,
    version,
    file: basename(file),
    sha256,
    task: values.task,
    labels,
  });
  if (draft.problems.length > 0) throw new CliError(`Cannot draft ${name} from ${file}:`, draft.problems, 2);
  const fitted = sample ? await fitToSample(draft.manifest as Draft, sample) : undefined;
  const dir = join(models, name, version);
  await mkdir(dir, { recursive: true });
  await copyFile(file, join(dir, 'model.onnx'));
  const manifestFile = join(dir, 'model.json');
  await writeFile(manifestFile, `${JSON.stringify(draft.manifest, null, 2)}\n`);
  console.log(`Wrote ${manifestFile} and model.onnx.`);
  for (const g of [...labelGuesses, ...draft.guesses, ...(fitted?.guesses ?? [])])
    console.log(`  guessed: ${g}`);
  await serves(models, name);
  if (sample && fitted) {
    if (sample.truncated)
      console.log(`  The sample is long: the first ${fitted.instances.length} of it are used.`);
    const bar = new ProgressBar({ label: 'Scoring the sample', unit: 'instances' });
    let recorded: Awaited<ReturnType<typeof recordSample>>;
    try {
      recorded = await recordSample(models, name, version, fitted.instances, sample.source, (d, t) =>
        bar.update(d, t),
      );
    } catch (err) {
      const at = (err as { sampleRow?: number }).sampleRow;
      throw new CliError(
        `${sample.source} does not score as ${name}@${version} takes it${at === undefined ? '' : ` (in the instances from number ${at + 1})`}: ${(err as Error).message}`,
        [
          `The model folder ${dir} is written; fix the sample (or model.json) and run infera init again, or delete the folder.`,
        ],
        1,
      );
    } finally {
      bar.done();
    }
    const golden = await writeGolden(dir, recorded.golden);
    await writeFile(
      manifestFile,
      `${JSON.stringify({ ...draft.manifest, trainingStats: recorded.trainingStats }, null, 2)}\n`,
    );
    const stats = recorded.trainingStats;
    const parts = [
      Object.keys(stats.features as object).length > 0
        ? `${Object.keys(stats.features as object).length} features`
        : '',
      stats.score ? 'the score' : '',
      stats.inputs ? `${Object.keys(stats.inputs as object).length} tensor input statistics` : '',
    ].filter(Boolean);
    console.log(`Recorded ${recorded.golden.instances.length} golden instances in ${golden}.`);
    console.log(
      `Recorded trainingStats from ${recorded.rows} instances (${parts.join(', ') || 'row count only'}).`,
    );
    await serves(models, name);
  } else {
    console.log(
      `  No golden fixtures or trainingStats: run infera init again with --sample <rows.csv|rows.jsonl|folder> to record them (the pre-traffic hook, infera cost, drift and npm run traffic use them).`,
    );
  }
  console.log(`Serve it with npm start (a running one picks it up), e.g. GET /v2/models/${name}.`);
  return 0;
}

/** Loads the model as npm start does, and checks its graph against its manifest. */
async function serves(models: string, name: string): Promise<void> {
  try {
    const registry = await ModelRegistry.load(models, { only: [name] });
    const scorer = new Scorer(
      registry,
      new OnnxRuntimeEngine(),
      { intraOpThreads: 1, interOpThreads: 1 },
      { serveAll: true },
    );
    await scorer.check(registry.get(name).versions);
  } catch (err) {
    const details = (err as { details?: string[] }).details ?? [(err as Error).message];
    throw new CliError(
      `${name} does not load as it is:`,
      [...details, 'Edit its model.json, then run infera init --check.'],
      1,
    );
  }
  console.log(`  ${name} loads, and its graph matches its manifest.`);
}

async function check(models: string, name: string | undefined, version: string | undefined): Promise<number> {
  if (!name) throw new CliError('Name the model to check: infera init --check <name>.', [], 2);
  const v = version ?? String(Number(await nextVersion(join(models, name))) - 1);
  const dir = join(models, name, v);
  const manifest = JSON.parse(
    await readFile(join(dir, 'model.json'), 'utf8').catch(() => {
      throw new CliError(`No ${join(dir, 'model.json')}.`, [], 2);
    }),
  ) as { inputs?: { kind?: string; tensors?: unknown[] }; outputs?: { tensors?: unknown[] } };
  const graph = await signature(join(dir, 'model.onnx'));
  const draft = draftManifest(graph, { name, version: v, file: 'model.onnx', sha256: '' });
  const drafted = draft.manifest as { inputs: { tensors: unknown[] }; outputs: { tensors: unknown[] } };
  const drift: string[] = [];
  if (
    manifest.inputs?.kind === 'tensors' &&
    JSON.stringify(manifest.inputs.tensors?.map(strip)) !== JSON.stringify(drafted.inputs.tensors)
  )
    drift.push(
      `inputs: the manifest has ${JSON.stringify(manifest.inputs.tensors?.map(strip))}, the graph ${JSON.stringify(drafted.inputs.tensors)}`,
    );
  if (
    manifest.outputs?.tensors &&
    JSON.stringify(manifest.outputs.tensors.map(strip)) !== JSON.stringify(drafted.outputs.tensors)
  )
    drift.push(
      `outputs: the manifest has ${JSON.stringify(manifest.outputs.tensors.map(strip))}, the graph ${JSON.stringify(drafted.outputs.tensors)}`,
    );
  if (drift.length > 0) throw new CliError(`${dir}: the manifest differs from the graph:`, drift, 1);
  console.log(`${dir}: the manifest's tensors match the graph.`);
  await serves(models, name);
  return 0;
}

/** A tensor spec as the draft writes it: name, datatype and shape. */
function strip(t: unknown): unknown {
  const { name, datatype, shape } = t as { name?: unknown; datatype?: unknown; shape?: unknown };
  return { name, datatype, shape };
}
