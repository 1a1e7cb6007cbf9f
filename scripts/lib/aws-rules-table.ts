/**
 * docs/deploy.md's table of AWS rules, rendered from functions/core/aws/rules.ts: the one list of
 * limits the code enforces. `npm run docs:rules` writes it between the markers; a unit test keeps
 * the page and the module equal.
 */

import { ALL_AWS_RULES } from '#core/aws/all-rules.ts';
import type { AwsRule } from '#core/aws/rule.ts';

export const START =
  '<!-- aws-rules:start (npm run docs:rules writes this table from functions/core/aws/rules.ts) -->';
export const END = '<!-- aws-rules:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function limit(r: AwsRule): string {
  if (r.limit === undefined) return '–';
  if (r.unit === 'bytes') {
    const mb = r.limit / (1024 * 1024);
    return Number.isInteger(mb) ? `${mb} MB` : `${Math.round(r.limit / 1024)} KB`;
  }
  return `${r.limit.toLocaleString('en-US')} ${r.unit === 'count' ? '' : (r.unit ?? '')}`.trim();
}

/** The markdown table, one row a rule, each with its source and the day it was read. */
export function rulesTable(): string {
  const rows = Object.entries(ALL_AWS_RULES).map(([id, rule]) => {
    const r: AwsRule = rule;
    return `| \`${id}\` | ${cell(r.rule)} | ${limit(r)} | ${cell(r.infera)} | [${cell(r.source.title)}](${r.source.url}), read ${r.read} |`;
  });
  return [
    '| rule | what AWS enforces | limit | what infera does | source |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The page with its table replaced by the current one. */
export function withRulesTable(page: string): string {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`the page has no ${START} ... ${END} block`);
  return `${page.slice(0, a + START.length)}\n${rulesTable()}\n${page.slice(b)}`;
}
