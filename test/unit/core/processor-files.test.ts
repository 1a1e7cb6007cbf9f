/**
 * Files a processor reads beside it (a dictionary, a code table): declared in the manifest with
 * their sha256, checked at load, and shipped in the SageMaker model.tar.gz, so the serving
 * container answers as npm start does. Real files, a real tarball, a real onnxruntime session.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { modelTarball } from '../../../infra/lib/model-tarball.ts';
import { editJson, golden, MODELS } from '../../helpers.ts';

const TYPES = join(MODELS, '..', 'functions', 'core', 'processor.ts');
const CODES = 'setosa=SET\nversicolor=VER\nvirginica=VIR\n';
const PROCESSOR = `import { readFileSync } from 'node:fs';
import type { Postprocess } from ${JSON.stringify(TYPES)};
const codes = Object.fromEntries(
  readFileSync(new URL('codes.txt', import.meta.url), 'utf8').trim().split('\\n').map((l) => l.split('=')),
);
export const postprocess: Postprocess = (p) => ({ ...p, code: codes[String(p.label)] ?? '?' });
`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const threads = { intraOpThreads: 1, interOpThreads: 1 };

let root: string;
const dir = () => join(root, 'iris-codes', '1');
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'infera-proc-files-'));
  await cp(join(MODELS, 'iris'), join(root, 'iris-codes'), { recursive: true });
  await writeFile(join(dir(), 'processor.ts'), PROCESSOR);
  await writeFile(join(dir(), 'codes.txt'), CODES);
  await editJson(join(dir(), 'model.json'), (m) => {
    m.name = 'iris-codes';
    m.processor = {
      file: 'processor.ts',
      sha256: sha(PROCESSOR),
      files: [{ file: 'codes.txt', sha256: sha(CODES) }],
    };
  });
});
after(() => rm(root, { recursive: true, force: true }));

const v2 = async () => ({
  inputs: Object.entries((await golden('iris', '1')).instances[0] as Record<string, number>).map(
    ([name, value]) => ({
      name,
      datatype: 'FP64',
      shape: [1],
      data: [value],
    }),
  ),
  outputs: [{ name: 'code' }],
});

describe("a processor's own files", () => {
  it('serves a processor that reads a file beside it, its output a named BYTES tensor', async () => {
    const registry = await ModelRegistry.load(root);
    const scorer = new Scorer(registry, new OnnxRuntimeEngine(), threads);
    const out = await scorer.infer(registry.resolve('iris-codes'), await v2());
    assert.deepEqual(out.outputs, [{ name: 'code', datatype: 'BYTES', shape: [1], data: ['SET'] }]);
  });

  it('ships them in model.tar.gz, so the serving container answers the same from the archive', async () => {
    const tarball = modelTarball(dir(), join(root, 'tarballs'));
    const extracted = join(root, 'opt-ml-model');
    await mkdir(extracted);
    execFileSync('tar', ['-xzf', tarball.path, '-C', extracted]);
    const registry = await ModelRegistry.fromVersionDir(extracted);
    const scorer = new Scorer(registry, new OnnxRuntimeEngine(), threads, { serveAll: true });
    const out = await scorer.infer(registry.resolve('iris-codes'), await v2());
    assert.deepEqual(out.outputs[0]?.data, ['SET']);
  });

  it('refuses to load when a file changed or is missing, naming it and its hash', async () => {
    await writeFile(join(dir(), 'codes.txt'), `${CODES}extra=EXT\n`);
    await assert.rejects(
      ModelRegistry.load(root),
      /processor\.files\[0\]\.sha256 does not match codes\.txt \(file hashes to [0-9a-f]{64}\)/,
    );
    await rm(join(dir(), 'codes.txt'));
    await assert.rejects(
      ModelRegistry.load(root),
      /iris-codes\/1\/codes\.txt: processor\.files\[0\] names it, but it is missing/,
    );
  });
});
