/**
 * `infera init --sample`: what a drafted model learns from sample data. The sample decides how
 * the model takes its inputs where the graph alone cannot (a CSV of named columns makes a tabular
 * model; a folder of images makes its 4-D input take PNG/JPEG files), and, run through the model
 * as npm start runs it, gives the golden fixtures (the answers a deployment must reproduce) and
 * trainingStats (what drift monitoring compares live traffic with).
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseCsvLine } from '#core/batch/csv.ts';
import { findIdColumn } from '#core/batch/rows.ts';
import { CliError } from './common.ts';

/** Rows read from a sample file; beyond this the rest is left out, and init says so. */
export const MAX_SAMPLE_ROWS = 100_000;
/** Image or text files read from a sample folder. */
export const MAX_SAMPLE_FILES = 2_000;
/** Instances in the golden fixtures: enough to catch a wrong deployment, small to check. */
export const GOLDEN_INSTANCES = 8;
/** Bytes of image files the golden fixtures may carry (they ride in every deployment). */
const GOLDEN_IMAGE_BYTES = 2 * 1024 * 1024;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
const TEXT_EXTENSIONS = new Set(['.txt']);

/** A sample as read: records of named values (CSV or JSON Lines), image files or text files. */
export type Sample =
  | {
      readonly kind: 'rows';
      readonly source: string;
      readonly rows: Record<string, unknown>[];
      /** CSV column order; JSON Lines: the first row's keys. */
      readonly columns: string[];
      readonly truncated: boolean;
    }
  | {
      readonly kind: 'images';
      readonly source: string;
      readonly files: string[];
      readonly truncated: boolean;
    }
  | {
      readonly kind: 'texts';
      readonly source: string;
      readonly files: string[];
      readonly truncated: boolean;
    };

export async function readSample(path: string): Promise<Sample> {
  const info = await stat(path).catch(() => {
    throw new CliError(
      `Cannot read the sample ${path}.`,
      ['Give a CSV or JSON Lines file of rows, or a folder of images (.png, .jpg) or texts (.txt).'],
      2,
    );
  });
  if (info.isDirectory()) return readFolder(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return readCsv(path, info.size);
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return readJsonLines(path, info.size);
  throw new CliError(
    `${path}: a sample file is .csv or .jsonl, not '${ext || 'no extension'}'.`,
    ['Or give a folder of images (.png, .jpg) or texts (.txt).'],
    2,
  );
}

/** Bytes read from a sample file at most: the rows beyond are left out, as beyond MAX_SAMPLE_ROWS. */
export const MAX_SAMPLE_BYTES = 256 * 1024 * 1024;
/** A sample image or text file's size at most (the API's own body limit is 6 MB). */
const MAX_SAMPLE_FILE_BYTES = 32 * 1024 * 1024;

/**
 * The file's lines, numbered from 1, blank ones skipped; past MAX_SAMPLE_BYTES the rest is left
 * out, the line cut there included.
 */
async function* lines(path: string, size: number): AsyncGenerator<{ line: string; n: number }> {
  const input = createReadStream(path, { end: MAX_SAMPLE_BYTES - 1 });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  let held: { line: string; n: number } | undefined;
  for await (const line of rl) {
    n++;
    if (held) yield held;
    held = line.trim() === '' ? undefined : { line, n };
  }
  if (held && size <= MAX_SAMPLE_BYTES) yield held;
}

async function readCsv(path: string, size: number): Promise<Sample> {
  let columns: string[] | undefined;
  const rows: Record<string, unknown>[] = [];
  let truncated = size > MAX_SAMPLE_BYTES;
  for await (const { line, n } of lines(path, size)) {
    const parsed = parseCsvLine(line.replace(/^\uFEFF/, ''));
    if (!parsed.ok) throw new CliError(`${path}, line ${n}: ${parsed.error}.`, [], 2);
    if (!columns) {
      columns = parsed.fields.map((f) => f.trim());
      const dup = columns.find((c, i) => columns?.indexOf(c) !== i);
      if (dup !== undefined) throw new CliError(`${path}: the header names '${dup}' twice.`, [], 2);
      continue;
    }
    if (parsed.fields.length !== columns.length)
      throw new CliError(
        `${path}, line ${n}: ${parsed.fields.length} fields, but the header has ${columns.length}.`,
        [],
        2,
      );
    if (rows.length === MAX_SAMPLE_ROWS) {
      truncated = true;
      break;
    }
    const row: Record<string, unknown> = {};
    parsed.fields.forEach((f, i) => {
      row[columns?.[i] as string] = csvCell(f);
    });
    rows.push(row);
  }
  if (!columns || rows.length === 0)
    throw new CliError(`${path} has no rows: a header line, then one row a line.`, [], 2);
  return { kind: 'rows', source: path, rows, columns, truncated };
}

/** A CSV cell as JSON would give it: a number, a boolean, null when empty, else the text. */
function csvCell(raw: string): unknown {
  const s = raw.trim();
  if (s === '') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  const l = s.toLowerCase();
  if (l === 'true' || l === 'false') return l === 'true';
  return s;
}

async function readJsonLines(path: string, size: number): Promise<Sample> {
  const rows: Record<string, unknown>[] = [];
  let truncated = size > MAX_SAMPLE_BYTES;
  for await (const { line, n } of lines(path, size)) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new CliError(
        `${path}, line ${n}: not JSON (${(err as Error).message}).`,
        ['A JSON Lines sample has one instance a line, e.g. {"x": [0.1, 0.2], "sr": 16000}.'],
        2,
      );
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new CliError(
        `${path}, line ${n}: each line is one instance, a JSON object of input names to values.`,
        [],
        2,
      );
    if ('inputs' in v || 'instances' in v)
      throw new CliError(
        `${path}, line ${n}: a request, not an instance. Write one instance a line: the object a v1 "instances" array holds.`,
        [],
        2,
      );
    if (rows.length === MAX_SAMPLE_ROWS) {
      truncated = true;
      break;
    }
    rows.push(v as Record<string, unknown>);
  }
  if (rows.length === 0) throw new CliError(`${path} has no rows: one JSON instance a line.`, [], 2);
  return { kind: 'rows', source: path, rows, columns: Object.keys(rows[0] ?? {}), truncated };
}

async function readFolder(path: string): Promise<Sample> {
  const names = (await readdir(path)).sort();
  const images = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()));
  const texts = names.filter((n) => TEXT_EXTENSIONS.has(extname(n).toLowerCase()));
  if (images.length > 0 && texts.length > 0)
    throw new CliError(
      `${path} holds both images and texts; give a folder of one kind.`,
      [`${images.length} images, ${texts.length} texts.`],
      2,
    );
  const picked = images.length > 0 ? images : texts;
  if (picked.length === 0)
    throw new CliError(
      `${path} holds no images (.png, .jpg, .jpeg) and no texts (.txt).`,
      ['A sample folder holds one kind of file.'],
      2,
    );
  const files: string[] = [];
  for (const n of picked.slice(0, MAX_SAMPLE_FILES)) {
    const size = (await stat(join(path, n))).size;
    if (size > MAX_SAMPLE_FILE_BYTES)
      throw new CliError(
        `${join(path, n)} is ${(size / 1024 / 1024).toFixed(0)} MB; a sample file is at most ${MAX_SAMPLE_FILE_BYTES / 1024 / 1024} MB.`,
        ['Leave it out of the sample folder, or make it smaller.'],
        2,
      );
    files.push(join(path, n));
  }
  const truncated = picked.length > MAX_SAMPLE_FILES;
  return images.length > 0
    ? { kind: 'images', source: path, files, truncated }
    : { kind: 'texts', source: path, files, truncated };
}

// ------------------------------------------------------------------ fitting the draft to the sample

interface DraftTensor {
  name: string;
  datatype: string;
  shape: number[];
  image?: Record<string, unknown>;
}

/** The draft manifest's parts this file reads and rewrites. */
export interface Draft {
  [key: string]: unknown;
  inputs:
    | { kind: 'tensors'; tensors: DraftTensor[] }
    | { kind: 'tabular'; tensor: string; features: Record<string, unknown>[] };
}

/**
 * Fits the drafted manifest to the sample and gives the instances to score: rows of named numbers
 * make a tabular model of a one-input graph; images make its 4-D input an image input; texts feed
 * its string input. Returns what it guessed, to print.
 */
export async function fitToSample(
  draft: Draft,
  sample: Sample,
): Promise<{ instances: Record<string, unknown>[]; guesses: string[] }> {
  if (draft.inputs.kind !== 'tensors') throw new Error('fitToSample expects a drafted tensors manifest');
  const tensors = draft.inputs.tensors;
  const guesses: string[] = [];
  const unbatched = tensors.filter((t) => t.shape.length > 0 && t.shape[0] !== -1);
  if (unbatched.length > 0)
    throw new CliError(
      `Input(s) ${unbatched.map((t) => `'${t.name}' [${t.shape.join(', ')}]`).join(', ')} have a fixed first dimension, so sample instances cannot be stacked into one request.`,
      [
        'Export the graph with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={name: {0: "batch"}})), then run infera init again.',
        'Or run infera init without --sample, and write fixtures/golden.json and trainingStats by hand (docs/models.md).',
      ],
      2,
    );
  if (sample.kind === 'rows') {
    const names = new Set(tensors.map((t) => t.name));
    const byName = sample.columns.length > 0 && sample.columns.every((c) => names.has(c));
    if (byName) return { instances: sample.rows, guesses };
    const only = tensors.length === 1 ? tensors[0] : undefined;
    if (only?.datatype !== 'FP32' || only.shape.length !== 2 || only.shape[0] !== -1)
      throw new CliError(
        `${sample.source}: its columns (${sample.columns.join(', ')}) are not the model's inputs (${tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ')}).`,
        [
          'Give JSON Lines with one instance a line, keyed by input name.',
          'Named columns make a tabular model only of a graph with one FP32 input [N, features].',
        ],
        2,
      );
    const tab = tabular(only, sample);
    draft.inputs = { kind: 'tabular', tensor: only.name, features: tab.features };
    guesses.push(...tab.guesses);
    return { instances: tab.instances, guesses };
  }
  if (sample.kind === 'images') {
    const spec = imageInput(tensors, sample.source);
    guesses.push(
      `input '${spec.name}' takes PNG/JPEG files: ${String(spec.image?.layout)}, RGB, each 0..255 sample scaled by ${spec.datatype === 'UINT8' || spec.datatype === 'INT8' ? '1' : '1/255'}, ${String(spec.image?.resize)} to the graph's size, no mean/std; if the model was trained on normalized images (e.g. ImageNet's mean and std) or BGR, set "mean", "std" or "colorOrder" under its "image"`,
    );
    const instances: Record<string, unknown>[] = [];
    for (const f of sample.files)
      instances.push({ [spec.name]: { b64: (await readFile(f)).toString('base64') } });
    return { instances, guesses };
  }
  const text = tensors.find((t) => t.datatype === 'BYTES');
  if (
    !text ||
    tensors.length !== 1 ||
    text.shape[0] !== -1 ||
    text.shape.length > 2 ||
    (text.shape[1] ?? 1) !== 1
  )
    throw new CliError(
      `${sample.source} holds texts, but the model's inputs are ${tensors.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join(', ')}.`,
      [
        'A folder of texts feeds a graph with one string (BYTES) input [N] or [N, 1].',
        'A model that takes token ids needs a tokenizer: add "text" to its inputs (docs/models.md, inputs.text), then record fixtures with a JSON Lines sample of {"text": "..."}.',
      ],
      2,
    );
  const instances: Record<string, unknown>[] = [];
  for (const f of sample.files) {
    const s = (await readFile(f, 'utf8')).trim();
    instances.push({ [text.name]: text.shape.length === 2 ? [s] : s });
  }
  return { instances, guesses };
}

/** Columns of numbers and booleans become features, in the graph's column order. */
function tabular(
  input: DraftTensor,
  sample: Extract<Sample, { kind: 'rows' }>,
): { features: Record<string, unknown>[]; instances: Record<string, unknown>[]; guesses: string[] } {
  const guesses: string[] = [];
  const id = findIdColumn(sample.columns);
  const columns = sample.columns.filter((c) => c !== id);
  const kinds = new Map(columns.map((c) => [c, columnKind(sample.rows, c)]));
  const text = columns.filter((c) => kinds.get(c) === 'text');
  const used = columns.filter((c) => kinds.get(c) !== 'text');
  if (id !== undefined) guesses.push(`column '${id}' is a row id, not a feature`);
  const width = input.shape[1] as number;
  if (text.length > 0) {
    if (width !== -1 && used.length === width)
      guesses.push(
        `column(s) ${text.join(', ')} hold text, so they are left out (a label?): the other ${used.length} columns are the features, in file order`,
      );
    else
      throw new CliError(
        `${sample.source}: column(s) ${text.join(', ')} hold text, and input '${input.name}' takes numbers.`,
        ['Encode them as numbers, or leave them out of the sample.'],
        2,
      );
  }
  if (width !== -1 && used.length !== width)
    throw new CliError(
      `${sample.source}: ${used.length} numeric columns, but input '${input.name}' takes ${width} features ([N, ${width}]).`,
      ['Give one column per feature, in the order the model was trained on (an id column may be added).'],
      2,
    );
  guesses.push(
    `input '${input.name}' takes the ${used.length} columns as named features, in file order: the order the model was trained on`,
  );
  const features = used.map((name) => {
    const kind = kinds.get(name) as 'integer' | 'number' | 'boolean';
    const values = sample.rows.map((r) => r[name]);
    const present = values.filter((v) => v !== null && v !== undefined);
    const f: Record<string, unknown> = { name, type: kind };
    if (present.length < values.length) {
      const fallback =
        kind === 'boolean'
          ? present.filter((v) => v === true).length * 2 >= present.length
          : median(present as number[], kind === 'integer');
      f.required = false;
      f.default = fallback;
      guesses.push(
        `feature '${name}' is sometimes empty: not required, and ${JSON.stringify(fallback)} (the sample's median) when missing`,
      );
    }
    return f;
  });
  const instances = sample.rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const c of used) if (r[c] !== null && r[c] !== undefined) o[c] = r[c];
    return o;
  });
  return { features, instances, guesses };
}

function columnKind(
  rows: readonly Record<string, unknown>[],
  c: string,
): 'integer' | 'number' | 'boolean' | 'text' {
  let kind: 'integer' | 'number' | 'boolean' | undefined;
  for (const r of rows) {
    const v = r[c];
    if (v === null || v === undefined) continue;
    const k =
      typeof v === 'boolean'
        ? 'boolean'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'integer'
            : 'number'
          : 'text';
    if (k === 'text') return 'text';
    if (kind === undefined || kind === k) kind = k;
    else if ((kind === 'integer' && k === 'number') || (kind === 'number' && k === 'integer'))
      kind = 'number';
    else return 'text';
  }
  return kind ?? 'number';
}

function median(values: number[], integer: boolean): number {
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length === 0 ? 0 : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
  return integer ? Math.round(m) : m;
}

/** The one 4-D input a folder of images feeds, given its image block. */
function imageInput(tensors: DraftTensor[], source: string): DraftTensor {
  const four = tensors.filter((t) => t.shape.length === 4);
  const spec = four.length === 1 && tensors.length === 1 ? four[0] : undefined;
  const list = tensors.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join(', ');
  if (!spec)
    throw new CliError(
      `${source} holds images, but the model's inputs are ${list}.`,
      ['A folder of images feeds a graph with one 4-D input, [N, C, H, W] or [N, H, W, C].'],
      2,
    );
  if (!['FP32', 'FP16', 'FP64', 'UINT8', 'INT8'].includes(spec.datatype))
    throw new CliError(
      `Input '${spec.name}' is ${spec.datatype}; an image input is FP32, FP16, FP64, UINT8 or INT8.`,
      [],
      2,
    );
  const [, a, b, c] = spec.shape as [number, number, number, number];
  const nchw = a === 1 || a === 3;
  if (!nchw && c !== 1 && c !== 3)
    throw new CliError(
      `Input '${spec.name}' [${spec.shape.join(', ')}] has no fixed channel count (1 or 3) second or last.`,
      ['Export the graph with fixed channels, or write the "image" block by hand (docs/models.md).'],
      2,
    );
  const [h, w] = nchw ? [b, c] : [a, b];
  if (h === -1)
    throw new CliError(
      `Input '${spec.name}' [${spec.shape.join(', ')}] has a dynamic height, so infera cannot tell what size to resize images to.`,
      [
        'Export the graph with a fixed height and width, or set them in model.json and add an "image" block by hand (docs/models.md).',
      ],
      2,
    );
  spec.image = {
    layout: nchw ? 'NCHW' : 'NHWC',
    colorOrder: (nchw ? a : c) === 1 ? 'GRAY' : 'RGB',
    resize: w === -1 ? 'fit-height' : 'stretch',
  };
  return spec;
}

/** The instances the golden fixtures keep: the first few, and for images a bounded number of bytes. */
export function goldenInstances(instances: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let bytes = 0;
  for (const inst of instances) {
    if (out.length === GOLDEN_INSTANCES) break;
    const size = JSON.stringify(inst).length;
    if (out.length > 0 && bytes + size > GOLDEN_IMAGE_BYTES) continue;
    out.push(inst);
    bytes += size;
  }
  return out;
}
