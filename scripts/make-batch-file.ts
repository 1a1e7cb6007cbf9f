#!/usr/bin/env node
/**
 * Writes a synthetic transactions file for batch scoring, streamed in blocks so millions of rows
 * never sit in memory. Same seed, same file.
 *
 *   npm run batch:sample -- --rows 100000 -o transactions.csv
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { numberFlag, parseCommand, runMain, usageError } from '../cli/args.ts';
import { generateTransactions, TRANSACTION_COLUMNS } from './lib/fraud-data.ts';

const HELP = `Usage: npm run batch:sample -- [options]

Writes synthetic card transactions (the fraud-detector's features plus a transaction_id) for
batch scoring.

Options:
  --rows <n>        rows to write (default 100000)
  --format <f>      csv or jsonl (default: from the output's extension, else csv)
  -o, --out <file>  output file (default transactions-<rows>.csv)
  --seed <n>        random seed (default 7)
  -h, --help        show this help
`;

export async function makeBatchFile(
  out: string,
  rows: number,
  format: 'csv' | 'jsonl',
  seed = 7,
  onProgress?: (written: number) => void,
): Promise<void> {
  const file = createWriteStream(out);
  if (format === 'csv') file.write(`transaction_id,${TRANSACTION_COLUMNS.join(',')}\n`);
  const block = 10_000;
  for (let done = 0; done < rows; done += block) {
    const n = Math.min(block, rows - done);
    const { rows: txs } = generateTransactions(n, seed * 1_000_003 + done);
    let text = '';
    for (let i = 0; i < n; i++) {
      const t = txs[i] as (typeof txs)[number];
      const id = `t${String(done + i + 1).padStart(9, '0')}`;
      if (format === 'csv') {
        text += `${id},${TRANSACTION_COLUMNS.map((c) => (t[c] === null ? '' : String(t[c]))).join(',')}\n`;
      } else {
        text += `${JSON.stringify({ transaction_id: id, ...t })}\n`;
      }
    }
    if (!file.write(text)) await once(file, 'drain');
    onProgress?.(done + n);
  }
  file.end();
  await once(file, 'finish');
}

const COMMAND = 'npm run batch:sample --';

async function main(): Promise<number | undefined> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        rows: { type: 'string', default: '100000' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        seed: { type: 'string', default: '7' },
      },
    },
    process.argv.slice(2),
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const rows = numberFlag(COMMAND, 'rows', values.rows, { min: 1, max: 1e9, integer: true }) as number;
  const seed = numberFlag(COMMAND, 'seed', values.seed, { min: 0, max: 2 ** 31, integer: true }) as number;
  const format = (values.format ?? (values.out?.endsWith('.jsonl') ? 'jsonl' : 'csv')) as 'csv' | 'jsonl';
  if (format !== 'csv' && format !== 'jsonl') {
    throw usageError(COMMAND, `--format must be csv or jsonl, got '${values.format}'.`);
  }
  const out = values.out ?? `transactions-${rows}.${format}`;
  await makeBatchFile(out, rows, format, seed);
  console.log(`wrote ${rows} rows to ${out}`);
  return 0;
}

if (import.meta.main) await runMain(main);
