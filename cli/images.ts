import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { api, CliError } from './common.ts';
import { ProgressBar } from './progress.ts';

/** File names a batch job reads as images. */
export const IMAGE_FILE = /\.(png|jpe?g)$/i;

interface ModelDetail {
  inputs?: { kind?: string; tensors?: { name: string; image?: unknown }[] };
}

/**
 * A folder of PNG/JPEG files as one JSON Lines job: a row per file, `{"id": "<file>", "<input>":
 * {"b64": "..."}}`, the instance the API takes. Written to a temporary file, one image in memory
 * at a time, with a progress bar.
 */
export async function imagesToJsonl(base: string, dir: string, model: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => IMAGE_FILE.test(n)).sort();
  if (names.length === 0)
    throw new CliError(`${dir} holds no .png, .jpg or .jpeg files; put the images to score in it.`, [], 2);
  const detail = (await api(base, `/v1/models/${encodeURIComponent(model)}`)) as ModelDetail;
  const images = (detail.inputs?.tensors ?? []).filter((t) => t.image);
  if (images.length !== 1 || detail.inputs?.tensors?.length !== 1) {
    throw new CliError(
      `Model '${model}' does not take image files: it needs exactly one input with "image" in its manifest.`,
      [],
      2,
    );
  }
  const input = (images[0] as { name: string }).name;
  const out = join(await mkdtemp(join(tmpdir(), 'infera-images-')), `${basename(dir) || 'images'}.jsonl`);
  const file = createWriteStream(out);
  const bar = new ProgressBar({ label: 'encode', unit: 'files' });
  let done = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    const line = `${JSON.stringify({ id: name, [input]: { b64: (await readFile(path)).toString('base64') } })}\n`;
    if (!file.write(line)) await once(file, 'drain');
    bar.update(++done, names.length);
  }
  file.end();
  await once(file, 'finish');
  bar.done();
  return out;
}
