import { crc32, deflateSync } from 'node:zlib';

/** PNG files built chunk by chunk for tests: valid, hostile, or both. */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data and CRC (right, or wrong on purpose). */
export function pngChunk(type: string, data: Uint8Array, goodCrc = true): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(goodCrc ? crc32(body) : 0xdeadbeef, 8 + data.length);
  return out;
}

/** An IHDR chunk's data: size, bit depth and colour type (compression, filter, interlace 0). */
export function ihdr(width: number, height: number, depth: number, colorType: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width >>> 0, 0);
  data.writeUInt32BE(height >>> 0, 4);
  data[8] = depth;
  data[9] = colorType;
  return data;
}

/** A whole file from its chunks, IHDR first, IEND added. */
export function pngFile(...chunks: Buffer[]): Buffer {
  return Buffer.concat([SIGNATURE, ...chunks, pngChunk('IEND', new Uint8Array(0))]);
}

/** One row of 8-bit palette indices, with a PLTE chunk unless `palette` is undefined. */
export function indexedPng(indices: number[], palette: number[][] | undefined): Buffer {
  return pngFile(
    pngChunk('IHDR', ihdr(indices.length, 1, 8, 3)),
    ...(palette ? [pngChunk('PLTE', Uint8Array.from(palette.flat()))] : []),
    pngChunk('IDAT', deflateSync(Uint8Array.from([0, ...indices]))),
  );
}

/**
 * A decompression bomb: a valid RGB PNG of `side` x `side` black pixels, which deflate squeezes
 * to a few tens of KB (5000 x 5000: 25 MP, about 73 KB).
 */
export function blackPng(side: number): Buffer {
  const rows = Buffer.alloc(side * (1 + side * 3)); // filter byte 0 and black pixels, each row
  return pngFile(pngChunk('IHDR', ihdr(side, side, 8, 2)), pngChunk('IDAT', deflateSync(rows, { level: 9 })));
}
