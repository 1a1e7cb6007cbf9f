import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * fauxqs's own persistence (SQLite for SQS, files for S3), wired as its startFauxqs() wires it.
 * startFauxqs() cannot be used here: it always listens on 0.0.0.0 and hides its Fastify app, and
 * the local platform binds to loopback and hooks the app (S3 notifications, the Host/Origin
 * guard). So its stores and persistence classes are loaded from the installed package, whose
 * version package.json pins exactly for that reason.
 */
export interface FauxqsStores {
  readonly stores: { sqsStore: unknown; snsStore: unknown; s3Store: unknown };
  /** Closes the SQLite database and the S3 file store; call on shutdown. */
  close(): void;
}

export async function persistentStores(sqsDir: string, s3Dir: string): Promise<FauxqsStores> {
  const dist = dirname(fileURLToPath(import.meta.resolve('fauxqs')));
  const load = async <T>(rel: string, name: string): Promise<T> =>
    ((await import(pathToFileURL(join(dist, rel)).href)) as Record<string, T>)[name] as T;
  type Ctor = new (...args: unknown[]) => Record<string, unknown>;
  const SqsStore = await load<Ctor>('sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<Ctor>('sns/snsStore.js', 'SnsStore');
  const S3Store = await load<Ctor>('s3/s3Store.js', 'S3Store');
  const PersistenceManager = await load<Ctor>('persistence.js', 'PersistenceManager');
  const FileS3Persistence = await load<Ctor>('s3/fileS3Persistence.js', 'FileS3Persistence');
  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  const s3Store = new S3Store();
  const sqlite = new PersistenceManager(sqsDir);
  const files = keySafe(new FileS3Persistence(s3Dir), s3Dir);
  // Load before attaching, as startFauxqs does, so loading does not write back.
  (sqlite.loadSqsAndSns as (a: unknown, b: unknown) => void)(sqsStore, snsStore);
  (files.loadS3 as (a: unknown) => void)(s3Store);
  sqsStore.persistence = sqlite;
  snsStore.persistence = sqlite;
  for (const q of (sqsStore.allQueues as () => Iterable<Record<string, unknown>>)()) q.persistence = sqlite;
  s3Store.persistence = files;
  return {
    stores: { sqsStore, snsStore, s3Store },
    close: () => {
      (sqlite.close as () => void)();
      (files.close as () => void)();
    },
  };
}

/** Characters of an encoded key a path segment takes: well under every filesystem's 255 bytes. */
const SEGMENT = 200;

/**
 * The file path (relative to a bucket's objects folder) of an S3 key: its UTF-8 bytes in base64url,
 * cut into segments of SEGMENT characters. One key, one path, and back: no `/`, `.` or `..` can
 * reach the filesystem, so `a/../b`, `a//b` and `a/./b` stay three objects, a key of S3's full
 * 1,024 bytes fits, and nothing is written outside the folder.
 */
export function keyPath(key: string): string {
  const encoded = Buffer.from(key, 'utf8').toString('base64url') || '_';
  return (encoded.match(new RegExp(`.{1,${SEGMENT}}`, 'g')) ?? [encoded]).join('/');
}

/**
 * fauxqs's file persistence joins an object's key into a path (only `/` kept as a separator), so a
 * key with `..` segments reached files outside the state folder, and keys that normalize alike
 * (`a//b`, `a/./b`) shared one file. This wraps it so every key is stored under keyPath(key): the
 * wrapped methods are called with the encoded key, which fauxqs's own encoding leaves as it is
 * (base64url has no character it escapes), and each object's .meta.json is given its real key
 * back, which is what fauxqs reads when it loads. Objects stored the old way are moved on load.
 * For upstream: the same mapping belongs in fauxqs's encodeKeyToPath (docs/local.md).
 */
function keySafe<T extends Record<string, unknown>>(files: T, s3Dir: string): T {
  type Fn = (...args: unknown[]) => unknown;
  const call = (name: string, ...args: unknown[]) => (files[name] as Fn).apply(files, args);
  const objectsDir = (bucket: string) => join(s3Dir, 'buckets', bucket, 'objects');
  const setMetaKey = (bucket: string, key: string) => {
    const metaPath = join(objectsDir(bucket), `${keyPath(key).split('/').join(sep)}.meta.json`);
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { key: string };
    meta.key = key;
    writeFileSync(metaPath, JSON.stringify(meta));
  };
  const overrides: Record<string, Fn> = {
    upsertObject: (bucket, obj) => {
      const o = obj as { key: string };
      call('upsertObject', bucket, { ...o, key: keyPath(o.key) });
      setMetaKey(bucket as string, o.key);
    },
    completeMultipartUpload: (uploadId, bucket, obj) => {
      overrides.upsertObject?.(bucket, obj);
      call('deleteMultipartUpload', uploadId);
    },
    deleteObject: (bucket, key) => call('deleteObject', bucket, keyPath(key as string)),
    readBody: (bucket, key) => call('readBody', bucket, keyPath(key as string)),
    renameObject: (bucket, from, to) => {
      call('renameObject', bucket, keyPath(from as string), keyPath(to as string));
      setMetaKey(bucket as string, to as string);
    },
    loadS3: (store) => {
      moveToKeyPaths(join(s3Dir, 'buckets'));
      call('loadS3', store);
    },
  };
  return new Proxy(files, {
    get: (target, prop, receiver) =>
      typeof prop === 'string' && prop in overrides ? overrides[prop] : Reflect.get(target, prop, receiver),
  });
}

/** Moves objects stored under fauxqs's own paths to keyPath(key), from what each .meta.json says. */
function moveToKeyPaths(bucketsDir: string): void {
  if (!existsSync(bucketsDir)) return;
  for (const bucket of readdirSync(bucketsDir)) {
    const objects = join(bucketsDir, bucket, 'objects');
    if (!existsSync(objects)) continue;
    const metas: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.meta.json')) metas.push(full);
      }
    };
    walk(objects);
    for (const metaPath of metas) {
      const { key } = JSON.parse(readFileSync(metaPath, 'utf8')) as { key: string };
      const want = join(objects, `${keyPath(key).split('/').join(sep)}.meta.json`);
      if (want === metaPath) continue;
      const data = metaPath.replace(/\.meta\.json$/, '.data');
      // Only what lies inside the folder is moved; anything else is left where it is.
      if (relative(objects, data).startsWith('..') || !existsSync(data)) continue;
      mkdirSync(dirname(want), { recursive: true });
      renameSync(data, want.replace(/\.meta\.json$/, '.data'));
      renameSync(metaPath, want);
    }
  }
}
