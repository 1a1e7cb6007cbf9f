import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelPackageError } from '../../../../../functions/core/errors.ts';
import { sha256Hex } from '../../../../../functions/core/model/package-checks.ts';
import {
  decodeIndex,
  encodeIndex,
  PACKAGE_FORMAT,
  PACKAGE_LIMITS,
  type PackageIndex,
} from '../../../../../functions/core/model/store/package.ts';

const H = 'a'.repeat(64);
const index = (files: PackageIndex['files']): PackageIndex => ({
  format: PACKAGE_FORMAT,
  model: 'iris',
  version: '2',
  files,
});
const ok = index([
  { path: 'model.onnx', size: 10, sha256: H },
  { path: 'model.json', size: 5, sha256: H },
  { path: 'fixtures/golden.json', size: 3, sha256: H },
]);
/** Raw JSON as a store would hold it, named by its own digest. */
const stored = (json: unknown) => {
  const bytes = Buffer.from(JSON.stringify(json));
  return { digest: sha256Hex(bytes), bytes };
};
const refuses = (json: unknown, pattern: RegExp) => {
  const { digest, bytes } = stored(json);
  assert.throws(
    () => decodeIndex(digest, bytes),
    (err: unknown) => err instanceof ModelPackageError && pattern.test(err.details.join('\n')),
  );
};

describe('a package index', () => {
  it('has one digest for one package: files in path order, whatever order they were listed in', () => {
    const a = encodeIndex(ok);
    const b = encodeIndex({ ...ok, files: [...ok.files].reverse() });
    assert.equal(sha256Hex(a), sha256Hex(b));
    assert.deepEqual(
      decodeIndex(sha256Hex(a), a).files.map((f) => f.path),
      ['fixtures/golden.json', 'model.json', 'model.onnx'],
    );
  });

  it('is refused when its bytes do not hash to its name', () => {
    const bytes = encodeIndex(ok);
    assert.throws(() => decodeIndex(H, bytes), /hashes to .* the stored object was changed/);
  });

  it('is refused over its size limit before it is parsed', () => {
    const bytes = Buffer.alloc(PACKAGE_LIMITS.indexBytes + 1, 32);
    assert.throws(() => decodeIndex(sha256Hex(bytes), bytes), /an index may be/);
  });

  it('is refused when it is not JSON', () => {
    const bytes = Buffer.from('{"format":');
    assert.throws(() => decodeIndex(sha256Hex(bytes), bytes), /is not JSON/);
  });

  for (const path of [
    '../model.onnx',
    '/etc/passwd',
    'a/../../b',
    '.hidden',
    'fixtures/.x',
    'a//b',
    'a\\b',
    'fixtures/',
    '',
  ]) {
    it(`is refused when a file's path would leave the version folder: ${JSON.stringify(path)}`, () => {
      refuses(
        index([
          { path: 'model.json', size: 1, sha256: H },
          { path, size: 1, sha256: H },
        ]),
        /relative path/,
      );
    });
  }

  it('is refused when it lists a path twice, lacks model.json, or adds up past the limit', () => {
    refuses(
      index([
        { path: 'model.json', size: 1, sha256: H },
        { path: 'model.json', size: 1, sha256: H },
      ]),
      /listed twice/,
    );
    refuses(index([{ path: 'model.onnx', size: 1, sha256: H }]), /must list model.json/);
    const half = Math.ceil(PACKAGE_LIMITS.totalBytes / 2) + 1;
    refuses(
      index([
        { path: 'model.json', size: half, sha256: H },
        { path: 'model.onnx', size: half, sha256: H },
      ]),
      /add up to/,
    );
  });

  it('is refused with a file sha256 that is not lowercase hex, or another format', () => {
    refuses(index([{ path: 'model.json', size: 1, sha256: H.toUpperCase() }]), /sha256 in lowercase hex/);
    refuses({ ...ok, format: 'infera.package/9' }, /format/);
    refuses(
      {
        ...ok,
        files: Array.from({ length: PACKAGE_LIMITS.files + 1 }, (_, i) => ({
          path: `f${i}`,
          size: 1,
          sha256: H,
        })),
      },
      /files/,
    );
  });
});
