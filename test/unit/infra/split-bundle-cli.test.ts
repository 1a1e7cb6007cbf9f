import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ROOT } from '../../helpers.ts';

describe('node infra/lib/split-bundle.ts', () => {
  it('refuses an entry that does not exist with a usage error naming it, not a stack trace', () => {
    const r = spawnSync(
      process.execPath,
      ['infra/lib/split-bundle.ts', '--entry', 'nope.ts', '--out', 'unused'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--entry nope\.ts: no such file; give a handler's path from the repository root/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
