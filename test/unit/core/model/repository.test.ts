import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readPackageJson } from '#core/model/repository/files.ts';

describe('the model repository', () => {
  it('reads a JSON file beside a model, and refuses one over its size limit before reading it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-repo-'));
    const path = join(dir, 'tokenizer.json');
    await writeFile(path, JSON.stringify({ version: '1.0', pad: 'x'.repeat(100) }));
    assert.deepEqual(((await readPackageJson(path, 10_000)) as { version: string }).version, '1.0');
    await assert.rejects(readPackageJson(path, 50), /it is \d+ bytes, over 50/);
  });
});
