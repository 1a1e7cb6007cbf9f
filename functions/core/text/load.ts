import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelPackageError } from '../errors.ts';
import type { TextSpec } from '../manifest.ts';
import { relPath as rel } from '../paths.ts';
import type { ModelVersion } from '../registry.ts';
import { TextTokenizer } from './tokenizer.ts';

/** Loads a text model's tokenizer.json from beside its model.json. */
/** A text model's tokenizer and how its manifest uses it. */
export interface TextInput {
  readonly spec: TextSpec;
  readonly tokenizer: TextTokenizer;
}

/** The largest tokenizer.json read. */
const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;

export async function loadTokenizer(mv: ModelVersion, spec: TextSpec): Promise<TextInput> {
  const path = join(mv.dir, spec.tokenizer);
  const where = rel(path);
  let json: unknown;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_TOKENIZER_BYTES) throw new Error(`it is ${size} bytes, over ${MAX_TOKENIZER_BYTES}`);
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelPackageError([
      `${where}: inputs.text.tokenizer cannot be read: ${(err as Error).message}. Put the model's tokenizer.json beside model.json`,
    ]);
  }
  return { spec, tokenizer: await TextTokenizer.load(json, spec, where) };
}
