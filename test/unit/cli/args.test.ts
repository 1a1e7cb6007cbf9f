import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { numberFlag, parseCommand, usageError } from '../../../cli/args.ts';
import { CliError } from '../../../cli/common.ts';
import { ROOT } from '../../helpers.ts';

const spec = {
  name: 'infera thing',
  help: 'Usage: infera thing [--rate <n>]',
  positionals: true,
  options: { rate: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
} as const;

function usage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, message);
    assert.deepEqual(e.details, ['See: infera thing --help']);
    return true;
  });
}

describe('the command-line argument helper', () => {
  it('parses flags with their defaults and keeps positionals', () => {
    const r = parseCommand(spec, ['a', '--json', 'b']);
    assert.deepEqual({ ...r?.values }, { rate: '5', json: true, help: false });
    assert.deepEqual(r?.positionals, ['a', 'b']);
  });

  it('prints the help for -h and --help and returns nothing to act on', (t) => {
    const log = t.mock.method(console, 'log', () => {});
    assert.equal(parseCommand(spec, ['-h']), undefined);
    assert.equal(parseCommand(spec, ['x', '--help']), undefined);
    assert.deepEqual(
      log.mock.calls.map((c) => c.arguments[0]),
      [spec.help, spec.help],
    );
    mock.restoreAll();
  });

  it('makes an unknown flag or a flag without its value a usage error, exit 2, pointing at --help', () => {
    usage(() => parseCommand(spec, ['--rat', '3']), /Unknown option '--rat'/);
    usage(() => parseCommand(spec, ['--rate']), /--rate/);
  });

  it('refuses positionals for a command that takes none', () => {
    const none = { ...spec, positionals: false };
    assert.deepEqual(parseCommand(none, ['--json'])?.positionals, []);
    usage(
      () => parseCommand(none, ['--json', 'stray']),
      /^Unexpected argument 'stray'\. This command takes no arguments\.$/,
    );
  });

  it('takes --no- forms only where the command allows them', () => {
    const negatable = {
      ...spec,
      allowNegative: true,
      options: { batch: { type: 'boolean', default: true } },
    } as const;
    assert.equal(parseCommand(negatable, ['--no-batch'])?.values.batch, false);
    usage(() => parseCommand(spec, ['--no-json']), /--no-json/);
  });

  it('checks a numeric flag against its range and says what it got', () => {
    assert.equal(numberFlag('infera thing', 'rate', '2.5', { min: 0, max: 10 }), 2.5);
    assert.equal(numberFlag('infera thing', 'rate', undefined, { min: 0, max: 10 }), undefined);
    usage(
      () => numberFlag('infera thing', 'rate', '11', { min: 0, max: 10 }),
      /^--rate must be a number from 0 to 10, got '11'\.$/,
    );
    usage(
      () => numberFlag('infera thing', 'port', '80.5', { min: 0, max: 65535, integer: true }),
      /^--port must be a whole number from 0 to 65535, got '80\.5'\.$/,
    );
    for (const bad of ['', ' ', 'fast', 'NaN', 'Infinity', '1e400']) {
      usage(() => numberFlag('infera thing', 'rate', bad, { min: 0, max: 10 }), /--rate must be/);
    }
  });

  it('builds the usage error every command reports', () => {
    const e = usageError('npm run traffic --', 'nope');
    assert.equal(e.exitCode, 2);
    assert.deepEqual(e.details, ['See: npm run traffic -- --help']);
  });

  it('is the only caller of parseArgs in the repository', async () => {
    const { execFileSync } = await import('node:child_process');
    const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && f !== 'cli/args.ts' && !f.startsWith('test/'));
    const callers: string[] = [];
    for (const f of files) {
      if (/\bparseArgs\b/.test(await readFile(join(ROOT, f), 'utf8'))) callers.push(f);
    }
    assert.deepEqual(callers, []);
  });
});
