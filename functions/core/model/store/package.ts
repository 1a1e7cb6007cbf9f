/**
 * A model version's package outside the function's code: an index that lists the version's files
 * (manifest, model, processor and its files, labels, fixtures) with each one's size and sha256.
 * Every file and the index itself are stored once, by sha256 ("content-addressed"), so a package
 * is immutable: its digest names exactly these bytes, and a reader checks them before use.
 */
import * as z from 'zod';
import { ModelPackageError } from '../../errors.ts';
import type { ModelStore } from '../../ports.ts';
import { formatIssues } from '../../protocol/issues.ts';
import { MODEL_NAME, VERSION } from '../manifest/names.ts';
import { sha256Hex } from '../package-checks.ts';

export const PACKAGE_FORMAT = 'infera.package/1';

/** A sha256 in lowercase hex: how every stored object is named. */
export const DIGEST = /^[0-9a-f]{64}$/;

/**
 * The bounds a package must keep. A reader checks them before it allocates or downloads
 * anything, so a hostile index cannot make a function fetch without end.
 */
export const PACKAGE_LIMITS = {
  /** An index is a short JSON list. */
  indexBytes: 256 * 1024,
  files: 256,
  /**
   * One version's files together. Lambda's /tmp can be 10,240 MB (rule lambda-ephemeral-storage);
   * the cache's own budget (MODEL_PACKAGE_CACHE_MB) is checked as well.
   */
  totalBytes: 10_240 * 1024 * 1024,
  pathChars: 200,
} as const;

/**
 * A path inside a package: relative, forward slashes, no "." or ".." segment, no leading dot in
 * any segment, so it can never name a file outside the version's folder.
 */
const PATH = /^(?!.*(?:^|\/)\.)[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

const fileSchema = z.object({
  path: z
    .string()
    .max(PACKAGE_LIMITS.pathChars)
    .regex(PATH, 'must be a relative path of letters, digits, ".", "_" and "-", e.g. "fixtures/golden.json"'),
  size: z.number().int().min(0).max(PACKAGE_LIMITS.totalBytes),
  sha256: z.string().regex(DIGEST, 'must be a sha256 in lowercase hex'),
});

export const packageIndexSchema = z
  .object({
    format: z.literal(PACKAGE_FORMAT),
    model: z.string().regex(MODEL_NAME),
    version: z.string().regex(VERSION),
    files: z.array(fileSchema).min(1).max(PACKAGE_LIMITS.files),
  })
  .superRefine((index, ctx) => {
    const seen = new Set<string>();
    let total = 0;
    for (const [i, f] of index.files.entries()) {
      if (seen.has(f.path))
        ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: 'listed twice' });
      seen.add(f.path);
      total += f.size;
    }
    if (!seen.has('model.json'))
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'must list model.json, the manifest' });
    if (total > PACKAGE_LIMITS.totalBytes)
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: `the files add up to ${total} bytes; a package may hold ${PACKAGE_LIMITS.totalBytes}`,
      });
  });

export type PackageIndex = z.infer<typeof packageIndexSchema>;
export type PackageFile = PackageIndex['files'][number];

/** The index's bytes as stored: stable JSON, files in path order, so one package has one digest. */
export function encodeIndex(index: PackageIndex): Uint8Array {
  const files = [...index.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return Buffer.from(`${JSON.stringify({ ...index, files }, null, 1)}\n`);
}

/**
 * Reads stored index bytes: they must hash to `digest` and pass the schema. Each problem names the
 * digest and the field, so a corrupted store says which object to publish again.
 */
export function decodeIndex(digest: string, bytes: Uint8Array): PackageIndex {
  if (bytes.length > PACKAGE_LIMITS.indexBytes)
    throw new ModelPackageError([
      `package index ${digest} is ${bytes.length} bytes; an index may be ${PACKAGE_LIMITS.indexBytes}. Publish the version again with infera publish.`,
    ]);
  const actual = sha256Hex(bytes);
  if (actual !== digest)
    throw new ModelPackageError([
      `package index ${digest} hashes to ${actual}: the stored object was changed. Publish the version again with infera publish.`,
    ]);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ModelPackageError([`package index ${digest} is not JSON. Publish the version again.`]);
  }
  const parsed = packageIndexSchema.safeParse(json);
  if (!parsed.success)
    throw new ModelPackageError([
      `package index ${digest}: ${formatIssues(parsed.error).join('; ')}. Publish the version again.`,
    ]);
  return parsed.data;
}

/** A package's index from the store: absent, too large or altered, it is an error naming the fix. */
export async function readPackageIndex(store: ModelStore, digest: string): Promise<PackageIndex> {
  if (!DIGEST.test(digest)) throw new ModelPackageError([`"${digest}" is not a package digest`]);
  const bytes = await store.readObject(digest, PACKAGE_LIMITS.indexBytes);
  if (!bytes)
    throw new ModelPackageError([
      `package ${digest} is not in ${store.where}; publish the version again with infera publish`,
    ]);
  return decodeIndex(digest, bytes);
}

/** One file of a package from the store: refused over its listed size, checked against its sha256. */
export async function readPackageFile(store: ModelStore, f: PackageFile, shown: string): Promise<Uint8Array> {
  const body = await store.readObject(f.sha256, f.size);
  if (!body)
    throw new ModelPackageError([
      `${shown}: object ${f.sha256} is missing from ${store.where}; publish the version again with infera publish`,
    ]);
  if (body.length !== f.size || sha256Hex(body) !== f.sha256)
    throw new ModelPackageError([
      `${shown}: object ${f.sha256} does not hash to its name (${body.length} bytes, ${f.size} listed); the store was changed, publish the version again`,
    ]);
  return body;
}
