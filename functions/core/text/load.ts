import { join } from 'node:path';
import { ModelPackageError, messageOf } from '../errors.ts';
import type { TextSpec } from '../model/manifest.ts';
import { relPath as rel } from '../model/paths.ts';
import type { ModelVersion } from '../model/registry.ts';
import { readPackageJson } from '../model/repository/files.ts';
import { TextTokenizer } from './tokenizer.ts';

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
    json = await readPackageJson(path, MAX_TOKENIZER_BYTES);
  } catch (err) {
    throw new ModelPackageError([
      `${where}: inputs.text.tokenizer cannot be read: ${messageOf(err)}. Put the model's tokenizer.json beside model.json`,
    ]);
  }
  return { spec, tokenizer: await TextTokenizer.load(json, spec, where) };
}
