#!/usr/bin/env node
/**
 * B3's baseline: one process streams a CSV through session.run in batches and writes one score
 * per row: readline, split on commas, the manifest's features into a Float32Array (no
 * validation), session.run per 5,000 rows. Prints "done <rows> <ms>".
 *
 *   node bench/baseline/batch-stream.ts <model version dir> <in.csv> <out.csv>
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';
import { encodeValue, openBareModel } from './bare-model.ts';

const [dir, inputFile, outputFile] = process.argv.slice(2);
const started = performance.now();
const usage = 'node bench/baseline/batch-stream.ts <model version dir> <in.csv> <out.csv>';
const { session, features, input, output } = await openBareModel(inputFile && outputFile ? dir : undefined, usage);
const CHUNK = 5000;
const width = features.length;
const out = createWriteStream(outputFile as string);
let columns: number[] = [];
let ids: string[] = [];
let x = new Float32Array(CHUNK * width);
let rows = 0;
let total = 0;

async function flush(): Promise<void> {
  if (rows === 0) return;
  const r = await session.run({ [input]: new ort.Tensor('float32', x.subarray(0, rows * width), [rows, width]) });
  const p = r[output]?.data as Float32Array;
  let text = '';
  for (let i = 0; i < rows; i++) text += `${ids[i]},${p[i * 2 + 1]}\n`;
  if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  total += rows;
  rows = 0;
  ids = [];
  x = new Float32Array(CHUNK * width);
}

for await (const line of createInterface({ input: createReadStream(inputFile as string), crlfDelay: Number.POSITIVE_INFINITY })) {
  const cells = line.split(',');
  if (columns.length === 0) {
    columns = features.map((f) => cells.indexOf(f.name));
    continue;
  }
  ids.push(cells[0] as string);
  features.forEach((f, c) => {
    const raw = cells[columns[c] as number] ?? '';
    // CSV text to the JSON value the platform would see: empty is missing.
    const value = raw === '' ? undefined : f.type === 'categorical' ? raw : f.type === 'boolean' ? raw === 'true' : Number(raw);
    x[rows * width + c] = encodeValue(f, value);
  });
  rows++;
  if (rows === CHUNK) await flush();
}
await flush();
out.end();
await new Promise<void>((r) => out.once('finish', () => r()));
console.log(`done ${total} ${(performance.now() - started).toFixed(1)}`);
