/**
 * The local S3 emulator keeps every key inside its state folder and distinct, across a restart:
 * the real S3 client and raw HTTP (fetch would normalize `%2e%2e`) against fauxqs with
 * infera's key-safe file persistence.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type LocalAws, startLocalAws } from '../../../infra/local/aws.ts';
import { keyPath } from '../../../infra/local/s3-files.ts';

const root = mkdtempSync(join(tmpdir(), 'infera-s3-keys-'));
const state = join(root, 'deep', 'er', 'state');
mkdirSync(state, { recursive: true });
let aws: LocalAws | undefined;
after(async () => {
  await aws?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw request, path as written: node:http sends %2e%2e as it is. */
function raw(base: string, method: string, path: string, body = '') {
  return new Promise<number>((resolve, reject) => {
    const u = new URL(base);
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: { 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

const text = async (a: LocalAws, key: string) =>
  (await (
    await a.s3.send(new GetObjectCommand({ Bucket: a.names.inputBucket, Key: key }))
  ).Body?.transformToString()) ?? '';

describe('keys in the local S3 emulator', () => {
  it('maps a key to one path and back, with no separator a filesystem would read', () => {
    for (const key of ['col/a.txt', 'col//a.txt', '../../x', 'a'.repeat(1024)]) {
      const p = keyPath(key);
      assert.ok(!p.split('/').some((s) => s === '..' || s === '.' || s === '' || s.length > 200), p);
      assert.equal(Buffer.from(p.split('/').join(''), 'base64url').toString('utf8'), key);
    }
    assert.notEqual(keyPath('col/a.txt'), keyPath('col//a.txt'));
  });

  it('keeps keys that a path would normalize alike as separate objects, across a restart', async () => {
    aws = await startLocalAws({ port: 0, stateDir: state });
    const bucket = aws.names.inputBucket;
    const keys = ['col/a.txt', 'col//a.txt', 'col/x/../a.txt', 'col/./a.txt', `k${'é'.repeat(500)}`];
    for (const [i, key] of keys.entries()) {
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body ${i}` }));
    }
    for (const [i, key] of keys.entries()) assert.equal(await text(aws, key), `body ${i}`, key);
    await aws.close();
    aws = await startLocalAws({ port: 0, stateDir: state });
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [...keys].sort());
    for (const [i, key] of keys.entries())
      assert.equal(await text(aws, key), `body ${i}`, `${key} after a restart`);
  });

  it('completes a multipart upload begun before a restart, under a key of dot segments', async () => {
    aws ??= await startLocalAws({ port: 0, stateDir: state });
    const Bucket = aws.names.inputBucket;
    const Key = 'big/../big.csv';
    const first = Buffer.alloc(5 * 1024 * 1024, 'a');
    const { UploadId } = await aws.s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const p1 = await aws.s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: first }),
    );
    await aws.close();
    aws = await startLocalAws({ port: 0, stateDir: state });
    const p2 = await aws.s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: 'tail' }),
    );
    await aws.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    await aws.close();
    aws = await startLocalAws({ port: 0, stateDir: state });
    const body = await text(aws, Key);
    assert.equal(body.length, first.length + 4);
    assert.ok(body.endsWith('atail'));
    assert.deepEqual(readdirSync(join(state, 's3', '_multipart')), [], 'the parts are gone once completed');
  });

  it('writes and deletes nothing outside the state folder, whatever the key', async () => {
    aws ??= await startLocalAws({ port: 0, stateDir: state });
    const bucket = aws.names.inputBucket;
    const before = readdirSync(root);
    // From <state>/s3/buckets/<bucket>/objects, seven levels up is the folder above <state>.
    const up = '%2e%2e/'.repeat(7);
    assert.equal(await raw(aws.endpoint, 'PUT', `/${bucket}/${up}escaped.txt`, 'x'), 200);
    assert.deepEqual(readdirSync(root), before, 'nothing new beside the state folder');
    assert.ok(!existsSync(join(root, 'escaped.txt.data')));
    // A victim file outside the folder survives a DeleteObject aimed at it.
    mkdirSync(join(root, 'victim'), { recursive: true });
    assert.equal(await raw(aws.endpoint, 'DELETE', `/${bucket}/${up}victim`), 204);
    assert.ok(existsSync(join(root, 'victim')));
  });
});
