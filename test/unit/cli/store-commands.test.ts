import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../../cli/common.ts';
import { publishCommand } from '../../../cli/model-store.ts';
import { releaseCommand } from '../../../cli/release.ts';

const usage = (pattern: RegExp) => (err: unknown) =>
  err instanceof CliError && err.exitCode === 2 && pattern.test(`${err.message} ${err.details.join(' ')}`);

describe('the model store commands, before they touch anything', () => {
  it('ask where to publish when neither a stack nor a store folder is named', async () => {
    await assert.rejects(
      publishCommand(['iris']),
      usage(/needs a model store: --stack <name> .* or --store <dir>/),
    );
  });

  it('refuse a model name, version or flag combination that cannot be right', async () => {
    await assert.rejects(publishCommand(['../iris', '--store', 'x']), usage(/not a model name/));
    await assert.rejects(publishCommand(['iris', 'two', '--store', 'x']), usage(/not a version number/));
    await assert.rejects(
      publishCommand(['iris', '--all', '--store', 'x']),
      usage(/--all publishes every model/),
    );
    await assert.rejects(publishCommand(['--store', 'x']), usage(/Name a model, or pass --all/));
  });

  it('refuse a release told two places at once, or a bake that is not a duration', async () => {
    await assert.rejects(releaseCommand(['iris', '2', '--store', 'x', '--stack', 'S']), usage(/not both/));
    await assert.rejects(
      releaseCommand(['iris', '2', '--store', 'x', '--bake', 'soon']),
      usage(/--bake must be a duration/),
    );
    await assert.rejects(
      releaseCommand(['iris', '2', '--store', 'x', '--max-error-rate', '101']),
      usage(/--max-error-rate/),
    );
  });
});
