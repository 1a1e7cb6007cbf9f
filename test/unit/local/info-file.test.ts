import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  localModelsDir,
  removeInfoFile,
  runningPlatforms,
  writeInfoFile,
} from '../../../infra/local/info-file.ts';

const folder = () => mkdtempSync(join(tmpdir(), 'infera-info-'));
/** A pid that no process has any more: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;
const me = { pid: process.pid, url: 'http://127.0.0.1:3000', modelsDir: '/srv/models' };

/** Runs `work` with INFERA_INFO_DIR and MODELS_DIR set as given, restoring them after. */
function withEnv(env: { dir: string; models?: string }, work: () => void): void {
  const saved = { dir: process.env.INFERA_INFO_DIR, models: process.env.MODELS_DIR };
  try {
    process.env.INFERA_INFO_DIR = env.dir;
    if (env.models === undefined) delete process.env.MODELS_DIR;
    else process.env.MODELS_DIR = env.models;
    work();
  } finally {
    if (saved.dir === undefined) delete process.env.INFERA_INFO_DIR;
    else process.env.INFERA_INFO_DIR = saved.dir;
    if (saved.models === undefined) delete process.env.MODELS_DIR;
    else process.env.MODELS_DIR = saved.models;
  }
}

describe('the running platforms info files', () => {
  it('lists what each running platform wrote, and forgets it at its stop', () => {
    const dir = folder();
    writeInfoFile(me, dir);
    assert.deepEqual(runningPlatforms(dir), [me]);
    removeInfoFile(dir);
    assert.deepEqual(runningPlatforms(dir), []);
  });

  it('skips the file of a platform that is gone, a broken file and a missing folder', () => {
    const dir = folder();
    const dead = deadPid();
    writeInfoFile({ ...me, pid: dead }, dir);
    writeFileSync(join(dir, '12.json'), '{"pid":');
    writeFileSync(join(dir, '13.json'), JSON.stringify({ ...me, pid: 14 }));
    assert.deepEqual(runningPlatforms(dir), []);
    assert.deepEqual(runningPlatforms(join(dir, 'no-such-folder')), []);
  });

  it('lets --models and MODELS_DIR win over the running platform, which wins over ./models', () => {
    const dir = folder();
    withEnv({ dir }, () => assert.deepEqual(localModelsDir(undefined), { dir: 'models' }));
    writeInfoFile(me, dir);
    withEnv({ dir }, () => {
      assert.deepEqual(localModelsDir(undefined), { dir: '/srv/models', servedBy: 'http://127.0.0.1:3000' });
      assert.deepEqual(localModelsDir('mine'), { dir: 'mine' });
    });
    withEnv({ dir, models: 'env-models' }, () =>
      assert.deepEqual(localModelsDir(undefined), { dir: 'env-models' }),
    );
  });

  it('refuses to guess between two platforms serving different folders, listing both', () => {
    const dir = folder();
    writeInfoFile(me, dir);
    writeInfoFile({ pid: process.ppid, url: 'http://127.0.0.1:3001', modelsDir: '/other' }, dir);
    withEnv({ dir }, () =>
      assert.throws(
        () => localModelsDir(undefined),
        (err: Error & { details: string[] }) =>
          /2 platforms run from this folder/.test(err.message) &&
          err.details.includes('http://127.0.0.1:3001 serves /other') &&
          err.details.includes('Say which with --models <dir>.'),
      ),
    );
  });
});
