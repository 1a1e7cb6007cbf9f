import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ALL_AWS_RULES } from '#core/aws/all-rules.ts';
import { containerConfigSchema, platformEnvSchema } from '#runtime/config.ts';
import { configSchema } from '#runtime/config-schema.ts';
import { END, rulesTable, START } from '../../../scripts/lib/aws-rules-table.ts';

const root = new URL('../../../', import.meta.url).pathname;
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const text = (page: string) => readFileSync(join(root, page), 'utf8');

/** The markdown outside fenced code blocks, where links and headings mean something. */
function prose(md: string): string {
  return md.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = (m[1] as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('the documentation', () => {
  it('keeps the README short: about 150 lines at most, the rest in docs/', () => {
    const lines = text('README.md').split('\n').length;
    assert.ok(lines <= 150, `README.md has ${lines} lines`);
  });

  it('has no broken relative link or anchor in the README or docs/', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of prose(text(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file === '' ? join(root, page) : join(root, dirname(page), file);
        if (!existsSync(path)) {
          broken.push(`${page}: ${target} (no ${relative(root, path)})`);
          continue;
        }
        if (anchor && path.endsWith('.md') && !anchors(readFileSync(path, 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('links every page under docs/ from the README', () => {
    const readme = text('README.md');
    for (const page of pages.filter((p) => p.startsWith('docs/')))
      assert.ok(readme.includes(`](${page})`), page);
  });

  it('documents every environment variable the functions read, and no other', () => {
    const doc = text('docs/configuration.md');
    const documented = new Set(
      [...doc.matchAll(/^\|([^|]+)\|/gm)].flatMap((m) =>
        [...(m[1] as string).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((x) => x[1] as string),
      ),
    );
    const read = [configSchema, containerConfigSchema, platformEnvSchema].flatMap((s) =>
      Object.keys(s.shape),
    );
    assert.deepEqual(
      read.filter((k) => !documented.has(k)),
      [],
      'read by the functions but not in docs/configuration.md',
    );
    assert.deepEqual(
      [...documented].filter((k) => !read.includes(k)),
      [],
      'in docs/configuration.md but not read by the functions',
    );
  });

  it('reads the environment only through the config module: no process.env read anywhere else in functions/', () => {
    const files = readdirSync(join(root, 'functions'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `functions/${f}`)
      .filter((f) => f !== 'functions/runtime/config.ts');
    const reads = files.flatMap((f) => {
      // Comments may name process.env; code may only assign to it (the X-Ray mode default).
      const code = text(f).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      return [...code.matchAll(/process\.env\b(?!\.[A-Z_]+\s*\?\?=)/g)].map(() => f);
    });
    assert.deepEqual(reads, []);
  });

  it('carries no history lines (which issue built what)', () => {
    for (const page of pages) assert.doesNotMatch(text(page), /\bissue \d+/i, page);
  });

  it("lists AWS's rules in docs/deploy.md exactly as the rules module holds them (npm run docs:rules)", () => {
    const page = text('docs/deploy.md');
    const block = page.slice(page.indexOf(START) + START.length, page.indexOf(END)).trim();
    assert.equal(block, rulesTable());
  });

  it('gives every AWS rule an AWS page or an issue as its source, and the day it was read', () => {
    for (const [id, rule] of Object.entries(ALL_AWS_RULES)) {
      assert.match(rule.source.url, /^https:\/\/(docs\.aws\.amazon\.com|github\.com)\//, id);
      assert.match(rule.read, /^\d{4}-\d{2}-\d{2}$/, id);
      assert.ok(rule.rule.length > 10 && rule.infera.length > 10, id);
    }
  });
});
