#!/usr/bin/env node
/**
 * B3's baseline: one process streams a CSV through session.run in batches and writes one score
 * per row: readline, split on commas, the manifest's features into a Float32Array (no
 * validation), session.run per 5,000 rows. Prints "done <rows> <ms>".
 *
 *   node bench/baseline/batch-stream.ts <model version dir> <in.csv> <out.csv>
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';

const [dir, input, output] = process.argv.slice(2) as [string, string, string];
const started = performance.now();
const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const features = manifest.inputs.features as { name: string; type: string; values?: string[]; default?: number }[];
const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: Math.min(availableParallelism(), 4),
  interOpNumThreads: 1,
});
const CHUNK = 5000;
const width = features.length;
const out = createWriteStream(output);
let columns: number[] = [];
let ids: string[] = [];
let x = new Float32Array(CHUNK * width);
let rows = 0;
let total = 0;

async function flush(): Promise<void> {
  if (rows === 0) return;
  const r = await session.run({
    [session.inputNames[0] as string]: new ort.Tensor('float32', x.subarray(0, rows * width), [rows, width]),
  });
  const p = r[session.outputNames[0] as string]?.data as Float32Array;
  let text = '';
  for (let i = 0; i < rows; i++) text += `${ids[i]},${p[i * 2 + 1]}\n`;
  if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  total += rows;
  rows = 0;
  ids = [];
  x = new Float32Array(CHUNK * width);
}

for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY })) {
  const cells = line.split(',');
  if (columns.length === 0) {
    columns = features.map((f) => cells.indexOf(f.name));
    continue;
  }
  ids.push(cells[0] as string);
  features.forEach((f, c) => {
    const raw = cells[columns[c] as number] ?? '';
    x[rows * width + c] =
      raw === ''
        ? (f.default ?? 0)
        : f.type === 'categorical'
          ? (f.values as string[]).indexOf(raw)
          : f.type === 'boolean'
            ? raw === 'true'
              ? 1
              : 0
            : Number(raw);
  });
  rows++;
  if (rows === CHUNK) await flush();
}
await flush();
out.end();
await new Promise<void>((r) => out.once('finish', () => r()));
console.log(`done ${total} ${(performance.now() - started).toFixed(1)}`);
