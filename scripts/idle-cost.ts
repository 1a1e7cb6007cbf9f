#!/usr/bin/env node
/**
 * Prints what a synthesized stack costs while idle, from its template (run `npx cdk synth` first).
 *
 *   npm run cost:idle
 *   npm run cost:idle -- --template cdk.out/Infera.template.json
 */
import { readFileSync } from 'node:fs';
import { PRICES } from '#core/cost/prices.ts';
import { parseCommand, runMain } from '../cli/args.ts';
import { CliError } from '../cli/common.ts';
import { HOURS_PER_MONTH, idleCost } from '../infra/lib/idle-cost.ts';

const HELP = `Usage: npm run cost:idle -- [--template <file>]

Prices the resources of a synthesized stack that are billed while nobody calls it (always-on
SageMaker instances, provisioned concurrency, alarms, dashboards, KMS keys) at ${PRICES.region}
list prices of ${PRICES.date}. Requests, per-call compute, storage and logs are usage and
are not included.

Options:
  --template <file>  the template (default cdk.out/Infera.template.json; run npx cdk synth first)
  -h, --help         show this help
`;

const COMMAND = 'npm run cost:idle --';

async function main(): Promise<number> {
  const parsed = parseCommand(
    { name: COMMAND, help: HELP, options: { template: { type: 'string' } } },
    process.argv.slice(2),
  );
  if (!parsed) return 0;
  const file = parsed.values.template ?? 'cdk.out/Infera.template.json';
  let template: unknown;
  try {
    template = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read the template ${file}: ${(err as Error).message}`, [
      'Run npx cdk synth first, or pass --template.',
    ]);
  }
  const cost = idleCost(template as Parameters<typeof idleCost>[0]);
  const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
  console.log(`Idle cost of ${file} (${PRICES.region} list prices, ${PRICES.date}):`);
  for (const l of cost.lines) console.log(`  ${l.what.padEnd(52)} ${usd(l.monthly).padStart(10)} a month`);
  console.log(`  ${'always-on compute'.padEnd(52)} ${usd(cost.computeMonthly).padStart(10)} a month`);
  console.log(
    `  ${'total'.padEnd(52)} ${usd(cost.monthly).padStart(10)} a month, ${usd(cost.hourly)} an hour (${HOURS_PER_MONTH} h a month)`,
  );
  if (cost.unpriced.length > 0) {
    console.log(
      `  not priced (no list price here; add it to functions/core/cost/prices.ts): ${cost.unpriced.join(', ')}`,
    );
  }
  return 0;
}

await runMain(main);
