import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

// The project config is read by every npm command; anything npm does not know becomes a warning
// on each of them.
const root = new URL('../../../', import.meta.url).pathname;
const npm = (...args: string[]) => spawnSync('npm', args, { cwd: root, encoding: 'utf8' });

describe('npm project config', () => {
  it('npm reads the project config without a warning', () => {
    const run = npm('config', 'get', 'fund');
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /warn/i, `npm warned about the project config:\n${run.stderr}`);
  });

  it("onnxruntime-node's CUDA download is denied through allowScripts, and no install script is left unreviewed", () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
    const pending = JSON.parse(
      execFileSync('npm', ['install-scripts', 'ls', '--json'], { cwd: root, encoding: 'utf8' }),
    );
    assert.deepEqual(pending.allowScripts, [], 'run npm install-scripts approve|deny <pkg>');
  });
});
