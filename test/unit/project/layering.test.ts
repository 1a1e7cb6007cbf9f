import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

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
    assert.deepEqual(readers, ['functions/core/model/repository.ts']);
    // Importing a file by its path reads the disk too (a model's processor.ts).
    const importers = sources('functions/core').filter((f) =>
      /pathToFileURL|import\((?!['"])/.test(readFileSync(join(root, f), 'utf8')),
    );
    assert.deepEqual(importers, ['functions/core/model/repository.ts']);
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
