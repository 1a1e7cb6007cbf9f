#!/usr/bin/env node
/**
 * `npm run bench`: the platform against its own physical limit, in one run. Every figure is a
 * ratio (or a difference) against a baseline measured side by side in the same run, with the
 * median and spread over repeated rounds. Writes bench/results.json and bench/RESULTS.md.
 * Talks only to 127.0.0.1 and stops by itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseCommand, runMain, usageError } from '../cli/args.ts';
import { ensureHeavyModel } from '../scripts/make-heavy-model.ts';
import { b1 } from './b1-handler.ts';
import { b2 } from './b2-http.ts';
import { b3 } from './b3-batch.ts';
import { b4 } from './b4-cold-start.ts';
import { b5 } from './b5-artifacts.ts';
import { b6 } from './b6-container.ts';
import { b7 } from './b7-binary.ts';
import { b8 } from './b8-image.ts';
import { b9 } from './b9-memory.ts';
import { b10 } from './b10-container-bare.ts';
import { b11 } from './b11-many-models.ts';
import { b12 } from './b12-image-bombs.ts';
import { b13 } from './b13-model-store.ts';
import { b14 } from './b14-quality-join.ts';
import type { Bench, BenchResult, Figure } from './lib/report.ts';
import { fmt, sig } from './lib/stats.ts';
import { MODELS } from './lib/models.ts';
import { cleanSynth } from './lib/synth.ts';

const HERE = new URL('.', import.meta.url).pathname;
/** In run order: B5 synthesizes what B4 cold-starts; B3, the longest, goes last. */
const BENCHES: Readonly<Record<string, Bench>> = { B5: b5, B4: b4, B1: b1, B7: b7, B8: b8, B2: b2, B6: b6, B3: b3, B9: b9, B10: b10, B11: b11, B12: b12, B13: b13, B14: b14 };
const ORDER = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12', 'B13', 'B14'];

const HELP = `Usage: npm run bench [-- options]

Measures the platform against its baselines in one run (about 15 minutes on 2 cores) and writes
results.json and RESULTS.md. Every load goes to 127.0.0.1 only.

  B1  predict handler in-process       vs raw session.run on the same tensors
  B2  npm start over HTTP under load   vs a bare node:http server around the same session
  B3  batch CSV through local S3+SQS   vs one process streaming the file through session.run
  B4  cold start of the bundled handler vs a bare import + session + run script
  B5  bundle and layer sizes           vs the full onnxruntime-node package, the 250 MB limit
  B6  serving container, micro-batching vs the same container with micro-batching off
  B7  v2 binary tensor data, [1,3,224,224] FP32 vs raw session.run, and vs v2 JSON
  B8  image pre-processing: a 640x480 JPEG decoded and made a [1,3,224,224] tensor
  B9  memory given back by npm start after hostile rounds and batch jobs
  B10 serving container as it ships   vs a bare node:http server around the same session
  B11 many models: resources and routes per model, and how many fit in one deployment
  B12 an iris predict while decompression-bomb PNGs decode, and memory afterwards
  B13 model store: publish, a model's first request, a policy refresh, cache capacity
  B14 quality join: local engine time at 10k-1M predictions, bytes per line, Athena cost of a run

Options:
  --quick          smoke mode for CI: tiny sizes, one short round, no target is judged
  --only <ids>     comma-separated, e.g. --only B1,B4
  --out <dir>      where to write results.json and RESULTS.md
                   (default: bench/, or a temporary folder with --quick)
  -h, --help       show this help
`;

function machine() {
  const ort = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort,
    platform: `${process.platform}-${process.arch}`,
  };
}

const met = (f: Figure, quick: boolean) => (!f.target ? '' : quick ? 'not judged' : f.target.met ? 'met' : 'MISSED');

function compared(f: Figure): string {
  if (f.compare === 'ratio') return `${fmt(f.value, '×')}`;
  if (f.compare === 'difference') return `+${fmt(f.value, ` ${f.unit}`)}`;
  return fmt(f.value, ` ${f.unit}`);
}

function table(results: readonly BenchResult[], quick: boolean): string {
  const rows = [
    '| id | figure | compared (median, min–max) | target | | platform | baseline |',
    '|----|--------|----------------------------|--------|-|----------|----------|',
  ];
  for (const r of results) {
    for (const f of r.figures) {
      rows.push(
        `| ${r.id} | ${f.label} | ${compared(f)} | ${f.target?.text ?? ''} | ${met(f, quick)} | ${fmt(f.platform, ` ${f.unit}`)} | ${f.baseline ? fmt(f.baseline, ` ${f.unit}`) : ''} |`,
      );
    }
  }
  return rows.join('\n');
}

function markdown(results: readonly BenchResult[], info: ReturnType<typeof machine>, date: string, quick: boolean, seconds: number): string {
  const missed = results.filter((r) => r.figures.some((f) => f.target && !f.target.met));
  const out = [
    `# infera benchmark results${quick ? ' (--quick smoke run: sizes are tiny and no target is judged)' : ''}`,
    '',
    `Measured ${date} with \`npm run bench\` in ${Math.round(seconds)} s on ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, onnxruntime-node ${info.onnxruntime}, ${info.platform}.`,
    '',
    'Every figure is compared with a baseline measured side by side in the same run: a ratio (platform / baseline) or an added time (platform − baseline). Each cell is the median over repeated rounds, with the lowest and highest round in brackets. These shared 2-core machines are noisy; read the ratios, not the absolute numbers.',
    '',
    table(results, quick),
    '',
  ];
  for (const r of results) {
    out.push(`## ${r.id}: ${r.title}`, '', `Baseline: ${r.baseline}. Target: ${r.target}.`, '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  if (!quick && missed.length > 0) {
    out.push('## Missed targets, and what limits them', '');
    for (const r of missed) {
      const figs = r.figures.filter((f) => f.target && !f.target.met);
      out.push(`### ${r.id}`, '', ...figs.map((f) => `- **${f.label}**: ${compared(f)}, target ${f.target?.text}.`), '');
      for (const l of r.limits ?? []) out.push(l, '');
    }
  }
  return `${out.join('\n')}\n`;
}

const COMMAND = 'npm run bench --';

async function main(): Promise<void> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        out: { type: 'string' },
      },
    },
    process.argv.slice(2),
  );
  if (!parsed) return;
  const { values } = parsed;
  const quick = values.quick ?? false;
  const only = values.only ? values.only.split(',').map((s) => s.trim().toUpperCase()) : Object.keys(BENCHES);
  const unknown = only.filter((id) => !(id in BENCHES));
  if (unknown.length > 0) {
    throw usageError(
      COMMAND,
      `--only: unknown benchmark(s) ${unknown.join(', ')}; the benchmarks are ${ORDER.join(', ')}.`,
    );
  }
  const out = values.out ?? (quick ? join(tmpdir(), 'infera-bench-quick') : HERE);
  const started = performance.now();
  const elapsed = () => `${Math.round((performance.now() - started) / 1000)}s`.padStart(5);
  const progress = (line: string) => process.stderr.write(`[${elapsed()}] ${line}\n`);
  const results: BenchResult[] = [];
  // fraud-detector-xl's model.onnx is not in git: built before any benchmark times anything.
  await ensureHeavyModel(MODELS, { log: progress });
  try {
    for (const [id, bench] of Object.entries(BENCHES)) {
      if (!only.includes(id)) continue;
      const t = performance.now();
      const r = await bench({ quick, progress });
      results.push({ ...r, seconds: sig((performance.now() - t) / 1000) });
      progress(`${id} done in ${Math.round((performance.now() - t) / 1000)} s`);
    }
  } finally {
    await cleanSynth();
  }
  results.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  const info = machine();
  const date = new Date().toISOString();
  const seconds = (performance.now() - started) / 1000;
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'results.json'),
    `${JSON.stringify({ date, quick, seconds: sig(seconds), machine: info, command: `npm run bench${quick ? ' -- --quick' : ''}`, results }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'RESULTS.md'), markdown(results, info, date, quick, seconds));
  console.log(`\n${table(results, quick)}\n`);
  const missed = results.flatMap((r) => r.figures.filter((f) => f.target && !f.target.met).map((f) => `${r.id} ${f.label}`));
  if (!quick && missed.length > 0) console.log(`Missed (explained in RESULTS.md): ${missed.join('; ')}`);
  console.log(`Wrote ${join(out, 'results.json')} and ${join(out, 'RESULTS.md')} in ${Math.round(seconds)} s.`);
}

await runMain(main);
process.exit();
