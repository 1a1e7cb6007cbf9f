import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CliError } from '../../../cli/common.ts';
import { feedbackCommand, qualityCommand } from '../../../cli/quality.ts';

const usage = (pattern: RegExp) => (err: unknown) =>
  err instanceof CliError && err.exitCode === 2 && pattern.test(`${err.message} ${err.details.join(' ')}`);

const dir = await mkdtemp(join(tmpdir(), 'infera-feedback-cli-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('infera feedback and infera quality, before they send anything', () => {
  it('name what is missing or wrong in a feedback submit, with the fix', async () => {
    const csv = join(dir, 'labels.csv');
    await writeFile(csv, 'id,label\na,fraud\n');
    await assert.rejects(feedbackCommand(['submit', csv]), usage(/Name the model: --model <model>/));
    await assert.rejects(feedbackCommand(['submit', '--model', 'fraud-detector']), usage(/Name the file/));
    await assert.rejects(feedbackCommand(['submit', csv, '--model', '../x']), usage(/not a model name/));
    await assert.rejects(
      feedbackCommand(['submit', join(dir, 'labels.txt'), '--model', 'fraud-detector']),
      usage(/must end in \.jsonl or \.csv/),
    );
    await assert.rejects(feedbackCommand(['send', csv]), usage(/Unknown subcommand 'send'/));
    await assert.rejects(
      feedbackCommand(['submit', csv, '--model', 'fraud-detector', '--timeout', '0']),
      usage(/--timeout/),
    );
  });

  it('refuse a quality window that is not a number of hours, and a missing model', async () => {
    await assert.rejects(qualityCommand([], 'http://127.0.0.1:9'), usage(/Name one model/));
    await assert.rejects(qualityCommand(['m', '--hours', 'soon'], 'http://127.0.0.1:9'), usage(/--hours/));
  });

  it('say no platform is running rather than upload nowhere', async () => {
    const csv = join(dir, 'labels.jsonl');
    await writeFile(csv, '{"id":"a","label":"fraud"}\n');
    const before = process.env.INFERA_INFO_DIR;
    process.env.INFERA_INFO_DIR = join(dir, 'no-platforms');
    try {
      await assert.rejects(
        feedbackCommand(['submit', csv, '--model', 'fraud-detector']),
        (e: unknown) =>
          e instanceof CliError && /No local platform with its S3 emulator is running/.test(e.message),
      );
    } finally {
      process.env.INFERA_INFO_DIR = before;
    }
  });
});
