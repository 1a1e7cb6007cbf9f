/** A loaded version's files, read on use: its ONNX bytes, its processor.ts, a JSON file beside it. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelPackageError, messageOf } from '../../errors.ts';
import { hashMismatch } from '../package-checks.ts';
import { relPath as rel } from '../paths.ts';
import type { ModelVersion } from '../types.ts';

/** A version's ONNX bytes, for the session that runs it. */
export async function readModelBytes(mv: ModelVersion): Promise<Uint8Array> {
  const bytes = await readFile(mv.modelPath);
  if (mv.hashOnUse) {
    const mismatch = hashMismatch(rel(join(mv.dir, 'model.json')), mv.manifest.sha256, bytes);
    if (mismatch) throw new ModelPackageError([mismatch]);
  }
  return bytes;
}

/**
 * A version's processor.ts as a module: Node imports it as written (its sha256 was checked when
 * the version was loaded). Its exports are checked by the caller (processor.ts).
 */
export async function importProcessor(mv: ModelVersion, file: string): Promise<Record<string, unknown>> {
  const path = join(mv.dir, file);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ModelPackageError([`${rel(path)}: could not be loaded: ${messageOf(err)}`]);
  }
}

/** A JSON file beside a model's manifest (a tokenizer), refused over `maxBytes` before it is read. */
export async function readPackageJson(path: string, maxBytes: number): Promise<unknown> {
  const size = (await stat(path)).size;
  if (size > maxBytes) throw new Error(`it is ${size} bytes, over ${maxBytes}`);
  return JSON.parse(await readFile(path, 'utf8'));
}
