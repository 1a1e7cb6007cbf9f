/**
 * The local S3 emulator survives kill -9 at any moment: a child writes and deletes objects
 * through fauxqs's store on infera's file persistence until a SIGKILL at a random time; the next
 * load must succeed, hold every acknowledged write, and give each object the body its metadata
 * names (the md5 ETag), never a mix of an old and a new object.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { persistentStores } from '../../../infra/local/fauxqs-state.ts';
import { keyPath } from '../../../infra/local/s3-files.ts';

const root = mkdtempSync(join(tmpdir(), 'infera-s3-crash-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Store {
  hasBucket(b: string): boolean;
  createBucket(b: string): void;
  putObject(b: string, k: string, body: Buffer): { etag: string };
  listObjects(b: string, o: object): { objects: { key: string; etag: string }[] };
  getObject(b: string, k: string): { body: Buffer; etag: string };
}

const open = async (state: string) => {
  const p = await persistentStores(join(state, 'sqs'), join(state, 's3'));
  return { ...p, s3: p.stores.s3Store as Store };
};

/** Runs the writer until a SIGKILL after `ms`, and returns what it printed. */
function writeUntilKilled(state: string, ms: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '../../support/s3-crash-writer.ts'), state],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.startsWith('go\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), ms);
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve(out.split('\n').filter(Boolean)));
  });
}

/** For each key: the ETags (or null for absent) it may have after the kill, from what it had before. */
function allowed(lines: string[], before: Map<string, string>): Map<string, Set<string | null>> {
  const acked = new Map<string, string | null>(before);
  let pending: [string, string | null] | undefined;
  for (const line of lines) {
    const [op, key, etag] = line.split(' ') as [string, string, string];
    if (op === 'put' || op === 'del') pending = [key, op === 'put' ? etag : null];
    else if (op === 'ok' && pending) {
      acked.set(pending[0], pending[1]);
      pending = undefined;
    }
  }
  const may = new Map([...acked].map(([k, v]) => [k, new Set([v])]));
  if (pending) may.set(pending[0], new Set([acked.get(pending[0]) ?? null, pending[1]]));
  return may;
}

describe('the local S3 emulator killed with SIGKILL', () => {
  it('loads after every kill with each acknowledged write, and each object whole', async () => {
    const state = join(root, 'kills');
    let before = new Map<string, string>();
    for (let round = 0; round < 20; round++) {
      const lines = await writeUntilKilled(state, 5 + ((round * 37) % 120));
      const may = allowed(lines, before);
      const { s3, close } = await open(state);
      try {
        const listed = new Map(s3.listObjects('bkt', {}).objects.map((o) => [o.key, o.etag]));
        for (const [key, etags] of may) {
          const found = listed.get(key) ?? null;
          assert.ok(etags.has(found), `round ${round}: ${key} is ${found}, expected one of ${[...etags]}`);
        }
        for (const key of listed.keys()) {
          assert.ok(may.has(key), `round ${round}: ${key} was deleted, or never written`);
          const o = s3.getObject('bkt', key);
          const md5 = `"${createHash('md5').update(o.body).digest('hex')}"`;
          assert.equal(md5, o.etag, `round ${round}: ${key}'s body is the one its metadata names`);
        }
        before = listed;
      } finally {
        close();
      }
    }
    assert.ok(before.size >= 3, 'the writer got far enough to write several keys');
    const leftovers = readdirSync(join(state, 's3'), { recursive: true }).filter((f) =>
      String(f).endsWith('.tmp'),
    );
    assert.deepEqual(leftovers, [], 'no temporary file is left after a load');
  });

  it('keeps a renamed object across a restart, even one renamed onto its own key', async () => {
    const state = join(root, 'rename');
    const first = await open(state);
    const s3 = first.s3 as Store & {
      createBucket(b: string, type: string): void;
      renameObject(b: string, from: string, to: string): void;
    };
    s3.createBucket('dir--use1-az4--x-s3', 'directory');
    s3.putObject('dir--use1-az4--x-s3', 'a', Buffer.from('moved'));
    s3.renameObject('dir--use1-az4--x-s3', 'a', 'b');
    s3.renameObject('dir--use1-az4--x-s3', 'b', 'b');
    first.close();
    const again = await open(state);
    try {
      const keys = again.s3.listObjects('dir--use1-az4--x-s3', {}).objects.map((o) => o.key);
      assert.deepEqual(keys, ['b']);
      assert.equal(again.s3.getObject('dir--use1-az4--x-s3', 'b').body.toString(), 'moved');
    } finally {
      again.close();
    }
  });

  it('starts over files an older version left torn, moving them aside and keeping the rest', async () => {
    const state = join(root, 'torn');
    const { s3, close } = await open(state);
    s3.createBucket('bkt');
    s3.putObject('bkt', 'good', Buffer.from('kept'));
    s3.putObject('bkt', 'torn', Buffer.from('lost'));
    close();
    const objects = join(state, 's3', 'buckets', 'bkt', 'objects');
    writeFileSync(join(objects, `${keyPath('torn')}.meta.json`), '');
    // fauxqs's own layout, torn mid-write, with its body beside it.
    mkdirSync(join(objects, 'old'), { recursive: true });
    writeFileSync(join(objects, 'old', 'x.data'), 'half');
    writeFileSync(join(objects, 'old', 'x.meta.json'), '{"key":"old/x","contentLen');
    // fauxqs's own layout, whole: moved to its key's path and kept.
    writeFileSync(join(objects, 'old', 'y.data'), 'fine');
    writeFileSync(
      join(objects, 'old', 'y.meta.json'),
      JSON.stringify({ key: 'old/y', contentLength: 4, etag: '"x"', lastModified: new Date(), metadata: {} }),
    );
    writeFileSync(join(state, 's3', 'buckets', 'bkt', '.bucket.json'), '{"na');
    const again = await open(state);
    try {
      assert.deepEqual(
        again.s3.listObjects('bkt', {}).objects.map((o) => o.key),
        ['good', 'old/y'],
      );
      assert.equal(again.s3.getObject('bkt', 'good').body.toString(), 'kept');
      assert.equal(again.s3.getObject('bkt', 'old/y').body.toString(), 'fine');
      assert.ok(existsSync(join(objects, `${keyPath('old/y')}.meta.json`)), 'moved to its key path');
      assert.ok(!existsSync(join(objects, 'old', 'y.data')), 'and not left behind');
      assert.equal(again.repairs.damaged.length, 4, again.repairs.damaged.join(', '));
      assert.ok(existsSync(join(state, 's3', 'damaged')), 'the torn files are kept for a look');
    } finally {
      again.close();
    }
  });
});
