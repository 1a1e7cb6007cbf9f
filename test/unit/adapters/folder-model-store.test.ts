import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FolderModelStore } from '../../../functions/adapters/model-store/folder.ts';
import { PreconditionFailedError } from '../../../functions/core/errors.ts';
import { sha256Hex } from '../../../functions/core/model/package-checks.ts';

const work = mkdtempSync(join(tmpdir(), 'infera-folder-store-'));
after(() => rmSync(work, { recursive: true, force: true }));
const record = (revision: number, reason: string) => ({ model: 'm', revision, reason });

describe('the model store folder', () => {
  it('lets exactly one of several writers from the same revision win', async () => {
    const store = new FolderModelStore(join(work, 'race'));
    await store.writeRecord(record(1, 'first'), 0);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.writeRecord(record(2, `writer ${i}`), 1)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
    const head = (await store.readRecord('m')) as { reason: string };
    const kept = (await store.history('m', 10)) as { revision: number; reason: string }[];
    assert.deepEqual(
      kept.map((h) => h.revision),
      [2, 1],
    );
    assert.equal(kept[0]?.reason, head.reason, 'the head is the revision that won');
  });

  it('refuses a write on a revision that is not the current one', async () => {
    const store = new FolderModelStore(join(work, 'stale'));
    await store.writeRecord(record(1, 'a'), 0);
    await assert.rejects(store.writeRecord(record(1, 'b'), 0), PreconditionFailedError);
    await assert.rejects(store.writeRecord(record(3, 'c'), 2), PreconditionFailedError);
  });

  it('refuses an object larger than its package says before reading it, and has none that is absent', async () => {
    const store = new FolderModelStore(join(work, 'objects'));
    const bytes = Buffer.from('0123456789');
    const digest = sha256Hex(bytes);
    await store.putObject(digest, bytes);
    assert.deepEqual(Buffer.from((await store.readObject(digest, 10)) ?? []), bytes);
    await assert.rejects(store.readObject(digest, 9), /more than the 9 its package lists/);
    assert.equal(await store.readObject('f'.repeat(64), 10), undefined);
    assert.equal(await store.hasObject('f'.repeat(64)), false);
  });
});
