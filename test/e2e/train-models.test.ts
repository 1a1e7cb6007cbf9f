import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../helpers.ts';

describe('scripts/train-models.ts', () => {
  it('reproduces every shipped model, manifest and fixture byte for byte', async () => {
    const r = await run(process.execPath, ['scripts/train-models.ts', '--check']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /OK: retraining reproduces all 20 shipped files byte for byte/);
    assert.match(r.stdout, /fraud-detector v2: mlp\(16 relu\), holdout AUC 0\.\d+/);
  });
});
