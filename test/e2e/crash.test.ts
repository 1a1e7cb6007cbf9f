/**
 * Nothing is lost on a crash: npm start keeps S3 and SQS on disk (--state), so a 200,000-row job
 * interrupted by kill -9 of the whole platform finishes after a restart, every row accounted for
 * once. The real platform, the real emulator persistence, a real SIGKILL.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeBatchFile } from '../../scripts/make-batch-file.ts';
import { cli, type RunningPlatform, startPlatform } from '../helpers.ts';

const ROWS = 200_000;

interface Job {
  status: string;
  rowsTotal?: number;
  progress?: { rowsScored: number; rowsRejected: number; chunksDone: number };
  summary?: { rowsScored: number; rowsRejected: number; rowsFailed: number; rowsTotal: number };
}

const job = async (p: RunningPlatform, id: string) =>
  (await (await fetch(`${p.url}/v1/batch/${id}`)).json()) as Job;

describe('kill -9 in the middle of a batch job', () => {
  it('finishes the job after a restart, with rows in = scored + rejected + failed and no row twice', async () => {
    const state = await mkdtemp(join(tmpdir(), 'infera-state-'));
    const dir = await mkdtemp(join(tmpdir(), 'infera-crash-'));
    const file = join(dir, 'tx.csv');
    await makeBatchFile(file, ROWS, 'csv', 5);
    const args = [
      '--state',
      state,
      '--no-sagemaker',
      '--visibility-timeout',
      '2',
      '--chunk-rows',
      '2000',
      '--quiet',
    ];
    const first = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, args);
    let id: string;
    let killedAt: Job | undefined;
    try {
      const sub = await cli(['batch', 'submit', file, '-m', 'fraud-detector', '--json', '--url', first.url]);
      assert.equal(sub.code, 0, sub.stderr);
      id = (JSON.parse(sub.stdout) as { jobId: string }).jobId;
      // Kill as soon as scoring has begun, and before it has ended.
      for (let i = 0; i < 2000; i++) {
        const j = await job(first, id);
        if ((j.progress?.chunksDone ?? 0) > 0 || j.status !== 'awaiting-upload') {
          if ((j.progress?.chunksDone ?? 0) > 0) {
            killedAt = j;
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      first.proc.kill('SIGKILL');
      await first.stop();
    }
    assert.ok(killedAt, 'scoring had begun before the kill');
    assert.notEqual(killedAt.status, 'succeeded', 'the kill came before the end');

    const second = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, args);
    try {
      let done: Job | undefined;
      for (let i = 0; i < 600 && !done; i++) {
        const j = await job(second, id);
        if (['succeeded', 'partial', 'failed'].includes(j.status)) done = j;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(done, 'the job finished after the restart');
      const s = done.summary as Required<Job>['summary'];
      assert.equal(s.rowsTotal, ROWS);
      assert.equal(s.rowsScored + s.rowsRejected + s.rowsFailed, ROWS, JSON.stringify(s));
      const out = join(dir, 'results.csv');
      const dl = await cli(['batch', 'download', id, '-o', out, '--url', second.url]);
      assert.equal(dl.code, 0, dl.stderr);
      const rows = (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[0]));
      assert.equal(new Set(rows).size, rows.length, 'no row twice');
      assert.equal(rows.length, s.rowsScored);
    } finally {
      await second.stop();
      await rm(state, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
