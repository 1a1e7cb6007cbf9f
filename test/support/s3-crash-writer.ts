/**
 * A child process for test/unit/local/s3-crash.test.ts: writes and deletes objects through
 * fauxqs's S3 store on infera's file persistence, as fast as it can, until it is killed. Before
 * each write it prints what it is about to do, and after it "ok" (stdout to a pipe is synchronous
 * on Linux), so the parent knows what was acknowledged and what was in flight at the kill.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { persistentStores } from '../../infra/local/fauxqs-state.ts';

const state = process.argv[2] as string;
const { stores } = await persistentStores(join(state, 'sqs'), join(state, 's3'));
const s3 = stores.s3Store as {
  hasBucket(b: string): boolean;
  createBucket(b: string): void;
  putObject(b: string, k: string, body: Buffer): { etag: string };
  deleteObject(b: string, k: string): void;
};
if (!s3.hasBucket('bkt')) s3.createBucket('bkt');
process.stdout.write('go\n');
for (let i = 0; ; i++) {
  const key = `k${i % 5}/${'x'.repeat(i % 3)}`;
  if (i % 11 === 10) {
    process.stdout.write(`del ${key}\n`);
    s3.deleteObject('bkt', key);
  } else {
    const body = randomBytes(1 + ((i * 7919) % 200_000));
    const { createHash } = await import('node:crypto');
    process.stdout.write(`put ${key} "${createHash('md5').update(body).digest('hex')}"\n`);
    s3.putObject('bkt', key, body);
  }
  process.stdout.write('ok\n');
}
