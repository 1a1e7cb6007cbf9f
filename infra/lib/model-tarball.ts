import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Writes model.tar.gz (model.json + model.onnx, and a text model's tokenizer, at the archive root)
 * for SageMaker's ModelDataUrl.
 * Deterministic: fixed owner, mode and mtime, fixed file order and gzip header, so the same model
 * gives the same bytes and the same CDK asset hash, and an unchanged model is never re-uploaded.
 */
export function modelTarball(
  versionDir: string,
  outDir: string,
): { path: string; sha256: string; bytes: number } {
  const files = ['model.json', 'model.onnx', ...companions(versionDir)];
  for (const f of files) {
    if (!existsSync(join(versionDir, f))) {
      throw new Error(
        `${join(versionDir, f)} is missing, and the SageMaker endpoint needs it in model.tar.gz. ` +
          (f === 'model.onnx'
            ? 'Build or copy the model first (npm ci builds the demo fraud-detector-xl; npm run models:heavy rebuilds it).'
            : 'Every version folder needs its manifest.'),
      );
    }
  }
  const blocks: Buffer[] = [];
  for (const name of files) {
    const data = readFileSync(join(versionDir, name));
    blocks.push(header(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const gz = gzipSync(Buffer.concat(blocks), { level: 9 });
  const sha256 = createHash('sha256').update(gz).digest('hex');
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `model-${sha256.slice(0, 16)}.tar.gz`);
  if (!existsSync(path)) writeFileSync(path, gz);
  return { path, sha256, bytes: gz.length };
}

/** Files a manifest names beside it, which the serving container needs too (a tokenizer, a labels file, a processor and the files it reads). */
function companions(versionDir: string): string[] {
  const manifest = join(versionDir, 'model.json');
  if (!existsSync(manifest)) return [];
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as {
    inputs?: { text?: { tokenizer?: string } };
    outputs?: { labelsFile?: string };
    processor?: { file?: string; files?: { file: string }[] };
  };
  return [
    ...(m.inputs?.text ? [m.inputs.text.tokenizer ?? 'tokenizer.json'] : []),
    ...(m.outputs?.labelsFile ? [m.outputs.labelsFile] : []),
    ...(m.processor ? [m.processor.file ?? 'processor.ts'] : []),
    ...(m.processor?.files ?? []).map((f) => f.file),
  ];
}

function header(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}
