import { randomBytes } from 'node:crypto';
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

/**
 * The local S3 emulator's files, made key-safe and crash-safe around fauxqs's FileS3Persistence.
 *
 * Key-safe: fauxqs joins an object's key into a path (only `/` kept as a separator), so a key with
 * `..` segments reached files outside the state folder, and keys that normalize alike (`a//b`,
 * `a/./b`) shared one file. Every key is stored under keyPath(key) instead.
 *
 * Crash-safe: fauxqs writes a file in place (truncate, then write), body first and metadata after,
 * so a kill -9 in the middle left an empty or half `.meta.json` that failed the next start with
 * "Unexpected end of JSON input", or a new body under the old metadata. Here each object's body is
 * written to a file of its own name first, and its metadata then replaces the old by a rename:
 * the metadata file is the commit. A crash leaves either the old object whole or the new one,
 * never a mix; S3 acknowledges a PUT only after that rename (fauxqs persists before it answers).
 * Bucket and multipart records are replaced by rename too. What a crash can still leave (a body
 * no metadata names, a temporary file) is removed on the next start, and anything unreadable
 * from an older layout is moved to `damaged/` and reported instead of stopping the start.
 * For upstream: both belong in fauxqs itself (docs/local.md).
 */

/** Characters of an encoded key a path segment takes: well under every filesystem's 255 bytes. */
const SEGMENT = 200;
const META = '.meta.json';
const TMP = '.tmp';

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

/** Writes a file whole or not at all: a temporary file beside it, then a rename over it. */
export function writeWhole(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}${TMP}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** An object's metadata as stored: fauxqs's fields, plus the name of the file holding its body. */
interface StoredMeta {
  key: string;
  contentLength?: number;
  /** The body's file name, beside the metadata. Absent: fauxqs's own `<name>.data`. */
  dataFile?: string;
  [field: string]: unknown;
}

const readMeta = (path: string): StoredMeta | undefined => {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as StoredMeta;
    return typeof m?.key === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
};

/** The body file a metadata file names. */
const dataPathOf = (metaPath: string, meta: StoredMeta) =>
  join(dirname(metaPath), meta.dataFile ?? `${basename(metaPath, META)}.data`);

const unlinkQuiet = (path: string) => rmSync(path, { force: true });

/**
 * Commits an object: its body to a file of a new name (written, or linked from `body.from`), then
 * its metadata over the old by rename, then the old body removed. Returns the body's path.
 */
function commit(metaPath: string, meta: StoredMeta, body: { from: string } | Uint8Array): string {
  mkdirSync(dirname(metaPath), { recursive: true });
  const previous = existsSync(metaPath) ? readMeta(metaPath) : undefined;
  const dataPath = freshDataPath(metaPath);
  if (body instanceof Uint8Array) writeFileSync(dataPath, body);
  else linkSync(body.from, dataPath);
  writeWhole(metaPath, JSON.stringify({ ...meta, dataFile: basename(dataPath) }));
  if (previous) unlinkQuiet(dataPathOf(metaPath, previous));
  return dataPath;
}

/** Moves an object to another metadata path (committed there first, then removed here). */
function moveObject(from: string, meta: StoredMeta, to: string): string {
  const data = dataPathOf(from, meta);
  // A rename onto its own key (S3 allows it) would otherwise remove what it had just committed.
  if (from === to) return data;
  const moved = commit(to, meta, existsSync(data) ? { from: data } : new Uint8Array());
  unlinkQuiet(from);
  unlinkQuiet(data);
  return moved;
}

/** What the start found a crash had left, for the caller to report. */
export interface S3Repairs {
  /** Files that could not be read as an object, moved under `damaged/` (relative to the S3 folder). */
  readonly damaged: string[];
  /** Bodies and temporary files no object named, removed. */
  readonly removed: number;
}

type Fn = (...args: unknown[]) => unknown;

/** Wraps a fauxqs FileS3Persistence so that it is key-safe and crash-safe (see above). */
export function safeS3Files<T extends Record<string, unknown>>(files: T, s3Dir: string): T {
  const call = (name: string, ...args: unknown[]) => (files[name] as Fn).apply(files, args);
  const objectsDir = (bucket: string) => join(s3Dir, 'buckets', bucket, 'objects');
  const metaPathOf = (bucket: string, key: string) =>
    join(objectsDir(bucket), `${keyPath(key).split('/').join(sep)}${META}`);

  // The records below are fauxqs's own objects as JSON, less the bodies; JSON writes a Date as
  // the ISO string fauxqs reads back.
  const overrides: Record<string, Fn> = {
    insertBucket: (name, creationDate, type) => {
      const bucketDir = join(s3Dir, 'buckets', name as string);
      mkdirSync(join(bucketDir, 'objects'), { recursive: true });
      writeWhole(join(bucketDir, '.bucket.json'), JSON.stringify({ name, creationDate, type }));
    },
    saveBucketLifecycleConfiguration: (bucket, config) =>
      writeWhole(join(s3Dir, 'buckets', bucket as string, '.lifecycle.xml'), config as string),
    upsertObject: (bucket, obj) => {
      const { body, ...meta } = obj as StoredMeta & { body: Uint8Array };
      commit(metaPathOf(bucket as string, meta.key), meta, body);
    },
    completeMultipartUpload: (uploadId, bucket, obj) => {
      overrides.upsertObject?.(bucket, obj);
      call('deleteMultipartUpload', uploadId);
    },
    deleteObject: (bucket, key) => {
      const metaPath = metaPathOf(bucket as string, key as string);
      const meta = existsSync(metaPath) ? readMeta(metaPath) : undefined;
      unlinkQuiet(metaPath);
      if (meta) unlinkQuiet(dataPathOf(metaPath, meta));
      call('cleanEmptyParents', dirname(metaPath), objectsDir(bucket as string));
    },
    readBody: (bucket, key) => {
      const metaPath = metaPathOf(bucket as string, key as string);
      const meta = readMeta(metaPath);
      if (!meta) throw new Error(`The local S3 object ${String(key)} has no readable metadata.`);
      return readFileSync(dataPathOf(metaPath, meta));
    },
    renameObject: (bucket, from, to) => {
      const src = metaPathOf(bucket as string, from as string);
      const meta = readMeta(src);
      if (!meta) throw new Error(`The local S3 object ${String(from)} has no readable metadata.`);
      moveObject(src, { ...meta, key: to as string }, metaPathOf(bucket as string, to as string));
      call('cleanEmptyParents', dirname(src), objectsDir(bucket as string));
    },
    insertMultipartUpload: (upload) => {
      const { parts: _parts, ...record } = upload as { uploadId: string; parts: unknown };
      const uploadDir = join(s3Dir, '_multipart', record.uploadId);
      mkdirSync(join(uploadDir, 'parts'), { recursive: true });
      writeWhole(join(uploadDir, '.upload.json'), JSON.stringify(record));
    },
    upsertMultipartPart: (uploadId, part) => {
      const { body, ...record } = part as { partNumber: number; body: Uint8Array };
      const partsDir = join(s3Dir, '_multipart', uploadId as string, 'parts');
      mkdirSync(partsDir, { recursive: true });
      writeWhole(join(partsDir, `${record.partNumber}.data`), body);
      writeWhole(join(partsDir, `${record.partNumber}${META}`), JSON.stringify(record));
    },
  };
  return new Proxy(files, {
    get: (target, prop, receiver) =>
      typeof prop === 'string' && prop in overrides ? overrides[prop] : Reflect.get(target, prop, receiver),
  });
}

/** Every file under a folder, recursively. */
const walk = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
    : [];

/** A new name for an object's body, beside its metadata: never the name of a body in use. */
const freshDataPath = (metaPath: string) =>
  join(dirname(metaPath), `${basename(metaPath, META)}.${randomBytes(8).toString('hex')}.data`);

/**
 * Puts the S3 folder in a state fauxqs can load, whatever a crash or an older layout left:
 * temporary files and bodies no metadata names are removed; metadata that cannot be read, or
 * whose body is gone, is moved under `damaged/` with its body; objects stored under fauxqs's own
 * paths are moved to keyPath(key); a bucket record that cannot be read is written again, and a
 * multipart upload with a record that cannot be read is moved under `damaged/`.
 */
export function repair(s3Dir: string): S3Repairs {
  const damaged: string[] = [];
  let removed = 0;
  const damagedDir = join(s3Dir, 'damaged', new Date().toISOString().replace(/[:.]/g, '-'));
  const quarantine = (...paths: string[]) => {
    for (const p of paths) {
      if (!existsSync(p)) continue;
      const rel = relative(s3Dir, p);
      const to = join(damagedDir, rel);
      mkdirSync(dirname(to), { recursive: true });
      renameSync(p, to);
      damaged.push(rel);
    }
  };
  const readable = (path: string) => {
    try {
      JSON.parse(readFileSync(path, 'utf8'));
      return true;
    } catch {
      return false;
    }
  };
  const bucketsDir = join(s3Dir, 'buckets');
  for (const bucket of existsSync(bucketsDir) ? readdirSync(bucketsDir) : []) {
    const record = join(bucketsDir, bucket, '.bucket.json');
    if (existsSync(record) && !readable(record)) {
      // Torn while the bucket was being created: write it again, keeping whatever it holds.
      quarantine(record);
      writeWhole(record, JSON.stringify({ name: bucket, creationDate: new Date() }));
    }
    const objects = join(bucketsDir, bucket, 'objects');
    const all = walk(join(bucketsDir, bucket));
    for (const f of all.filter((f) => f.endsWith(TMP))) {
      unlinkQuiet(f);
      removed++;
    }
    const named = new Set<string>();
    for (const metaPath of all.filter((f) => f.endsWith(META) && f.startsWith(objects + sep))) {
      const meta = readMeta(metaPath);
      const data = meta ? dataPathOf(metaPath, meta) : `${metaPath.slice(0, -META.length)}.data`;
      if (!meta || (!existsSync(data) && (meta.contentLength ?? 0) > 0)) {
        quarantine(metaPath, data);
        continue;
      }
      const want = join(objects, `${keyPath(meta.key).split('/').join(sep)}${META}`);
      // Stored under fauxqs's own path: moved to keyPath(key), if its body lies inside the folder.
      if (want !== metaPath && !relative(objects, data).startsWith('..'))
        named.add(moveObject(metaPath, meta, want));
      else named.add(data);
    }
    for (const f of walk(objects).filter((f) => f.endsWith('.data') && !named.has(f))) {
      unlinkQuiet(f);
      removed++;
    }
  }
  const multipart = join(s3Dir, '_multipart');
  for (const uploadId of existsSync(multipart) ? readdirSync(multipart) : []) {
    const files = walk(join(multipart, uploadId));
    for (const f of files.filter((f) => f.endsWith(TMP))) {
      unlinkQuiet(f);
      removed++;
    }
    const record = join(multipart, uploadId, '.upload.json');
    const broken = files.filter(
      (f) => (f === record || f.endsWith(META)) && !f.endsWith(TMP) && !readable(f),
    );
    if (broken.length > 0) quarantine(join(multipart, uploadId));
  }
  return { damaged, removed };
}
