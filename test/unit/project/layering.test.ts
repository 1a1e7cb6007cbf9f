import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { codeOnly, typeAssertions } from '../../support/type-assertions.ts';

const root = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

const importsOf = (file: string) =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] as string,
  );

describe('the layers of functions/', () => {
  it('lets functions/core read the disk only through its model repository', () => {
    const readers = sources('functions/core').filter((f) =>
      importsOf(f).some((i) => i.startsWith('node:fs')),
    );
    assert.deepEqual(
      readers.filter((f) => !f.startsWith('functions/core/model/repository/')),
      [],
    );
    assert.ok(readers.length > 0, 'the model repository reads the disk');
    // Importing a file by its path reads the disk too (a model's processor.ts).
    const importers = sources('functions/core').filter((f) =>
      /pathToFileURL|import\((?!['"])/.test(readFileSync(join(root, f), 'utf8')),
    );
    assert.deepEqual(importers, ['functions/core/model/repository/files.ts']);
  });

  it('keeps AWS, middy, HTTP and the outer layers out of functions/core', () => {
    const outward =
      /^(@aws-sdk|@aws-lambda-powertools|@middy|node:http|node:https|#runtime|#http|#api|#batch|#adapters|#container)/;
    const found = sources('functions/core').flatMap((f) =>
      importsOf(f)
        .filter((i) => outward.test(i))
        .map((i) => `${relative(root, join(root, f))} imports ${i}`),
    );
    assert.deepEqual(found, []);
  });

  it('keeps the handlers out of the edge and the shared modules', () => {
    const upward = sources('functions/http')
      .concat(sources('functions/runtime'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => /^#(api|batch)\//.test(i))
          .map((i) => `${f} imports ${i}`),
      );
    assert.deepEqual(upward, []);
  });
});

describe('the folders of functions/core', () => {
  it('keeps at most six files loose at the root of functions/core; the rest live in folders that name their parts', () => {
    const loose = readdirSync(join(root, 'functions/core'), { withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.ts'))
      .map((d) => d.name);
    assert.ok(loose.length <= 6, `loose: ${loose.join(', ')}`);
    for (const part of ['protocol', 'model', 'tensor', 'endpoint', 'scoring', 'batch', 'monitoring']) {
      assert.ok(sources(`functions/core/${part}`).length > 0, `functions/core/${part}/`);
    }
  });

  it('keeps the codec below scoring: protocol/ and tensor/ import neither scoring, endpoints, batch nor monitoring', () => {
    const upward = ['functions/core/protocol', 'functions/core/tensor'].flatMap((dir) =>
      sources(dir).flatMap((f) =>
        importsOf(f)
          .filter((i) => /\/(scoring|endpoint|batch|monitoring)\/|model\/repository/.test(i))
          .map((i) => `${f} imports ${i}`),
      ),
    );
    assert.deepEqual(upward, []);
  });

  it('decodes and encodes once per transport: the Lambda edge, the container and the batch worker', () => {
    const calls = (re: RegExp) =>
      sources('functions').flatMap((f) => {
        if (f === 'functions/core/protocol/codec.ts') return [];
        const text = readFileSync(join(root, f), 'utf8');
        if (!/protocol\/codec\.ts'/.test(text)) return [];
        return [...text.matchAll(re)].map(() => f);
      });
    assert.deepEqual(calls(/\bdecode\(/g).sort(), [
      'functions/api/predict.ts',
      'functions/container/server.ts',
      'functions/runtime/batch.ts',
    ]);
    assert.deepEqual(calls(/\bencode\(/g).sort(), [
      'functions/api/predict.ts',
      'functions/container/server.ts',
    ]);
  });

  it('reads request bodies in one place: no JSON or binary parsing of a request outside core/protocol/', () => {
    const readers = sources('functions')
      .filter((f) => !f.startsWith('functions/core/protocol/'))
      .filter((f) =>
        /\b(attachBinaryInputs|binaryHeaderLength|sliceBinaryInputs|rawInstance)\(/.test(
          readFileSync(join(root, f), 'utf8'),
        ),
      );
    assert.deepEqual(readers, []);
  });

  it('keeps the serving container off the Lambda handlers, middy and Powertools', () => {
    const found = sources('functions/container').flatMap((f) =>
      importsOf(f)
        .filter((i) => /^(#api|#batch|@middy|@aws-lambda-powertools)/.test(i))
        .map((i) => `${f} imports ${i}`),
    );
    assert.deepEqual(found, []);
  });
});

describe('the types of functions/', () => {
  it('keeps type assertions under 60, and none is `as unknown as` or `as never`', () => {
    const found = sources('functions').flatMap((f) =>
      typeAssertions(readFileSync(join(root, f), 'utf8')).map((a) => `${f}: ${a}`),
    );
    assert.ok(found.length < 60, `${found.length} type assertions:\n${found.join('\n')}`);
    const escapes = sources('functions').filter((f) =>
      /\bas\s+unknown\s+as\b|\bas\s+never\b/.test(codeOnly(readFileSync(join(root, f), 'utf8'))),
    );
    assert.deepEqual(escapes, []);
  });

  it('finds assertions in code only, not in comments or strings', () => {
    assert.deepEqual(typeAssertions("const a = b as number; // c as T\nconst s = 'x as y';"), ['as number']);
    // A template whose placeholder holds an assertion, in source form.
    const template = ['const t = `$', '{v as string} as text`; import { x as y } from "z";'].join('');
    assert.deepEqual(typeAssertions(template), ['as string']);
  });
});

describe('the sizes of functions/', () => {
  const lines = (f: string) => readFileSync(join(root, f), 'utf8').split('\n').length - 1;

  it('keeps the predict handler thin (120 lines at most) and each edge middleware under 200', () => {
    assert.ok(
      lines('functions/api/predict.ts') <= 120,
      `predict.ts has ${lines('functions/api/predict.ts')} lines`,
    );
    const fat = sources('functions/http/middleware').filter((f) => lines(f) > 200);
    assert.deepEqual(fat, []);
  });

  it('has no file over 300 lines: one job per file', () => {
    const fat = sources('functions')
      .filter((f) => lines(f) > 300)
      .map((f) => `${f}: ${lines(f)}`);
    assert.deepEqual(fat, []);
  });
});
