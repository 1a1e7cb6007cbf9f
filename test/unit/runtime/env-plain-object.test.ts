/**
 * process.env as a plain object (runtime/config.ts): reads no longer call into the C
 * environment, and what JavaScript sets still reaches child processes and worker threads.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

describe('the environment snapshot', () => {
  it('makes process.env a plain object with the same variables, once the functions runtime loads', async () => {
    const before = { ...process.env };
    assert.notEqual(Object.getPrototypeOf(process.env), Object.prototype);
    await import('#runtime/observability.ts');
    assert.equal(Object.getPrototypeOf(process.env), Object.prototype);
    for (const [k, v] of Object.entries(before)) assert.equal(process.env[k], v, k);
  });

  it('passes a variable set afterwards to a child process, and to a worker given process.env as the image pool does', async () => {
    await import('#runtime/observability.ts');
    process.env.INFERA_SNAPSHOT_PROBE = 'set after the snapshot';
    const { stdout } = await promisify(execFile)(process.execPath, [
      '-e',
      'process.stdout.write(process.env.INFERA_SNAPSHOT_PROBE ?? "missing")',
    ]);
    assert.equal(stdout, 'set after the snapshot');
    const fromWorker = await new Promise((resolve, reject) => {
      const w = new Worker(
        'require("node:worker_threads").parentPort.postMessage(process.env.INFERA_SNAPSHOT_PROBE ?? "missing")',
        { eval: true, env: process.env },
      );
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(fromWorker, 'set after the snapshot');
    delete process.env.INFERA_SNAPSHOT_PROBE;
  });
});
