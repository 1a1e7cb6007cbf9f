/** Writes docs/deploy.md's AWS rules table from functions/core/aws/rules.ts (npm run docs:rules). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand, runMain } from '../cli/args.ts';
import { withRulesTable } from './lib/aws-rules-table.ts';

const HELP = `Usage: npm run docs:rules

Rewrites the AWS rules table in docs/deploy.md from functions/core/aws/rules.ts.
`;

if (import.meta.main) {
  await runMain(async () => {
    if (!parseCommand({ name: 'npm run docs:rules --', help: HELP, options: {} }, process.argv.slice(2)))
      return 0;
    const page = join(import.meta.dirname, '..', 'docs', 'deploy.md');
    writeFileSync(page, withRulesTable(readFileSync(page, 'utf8')));
    console.log(`wrote the AWS rules table in ${page}`);
    return 0;
  });
}
