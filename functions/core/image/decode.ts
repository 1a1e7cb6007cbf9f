import { invalid as fail, InferaError, messageOf } from '../errors.ts';
import { imageCodecs } from './codecs.ts';
import { imageFormat } from './format.ts';

/**
 * PNG and JPEG bytes to 8-bit RGB pixels, with maintained pure-JS decoders (fast-png, jpeg-js's
 * decoder alone, loaded on first need by codecs.ts):
 * the same code on x86_64 and arm64 Lambda, in the container and on a laptop, with no native
 * package to pick per platform. The size is checked from the file's header before any pixel
 * buffer is allocated.
 */

/** 8-bit pixels, `channels` per pixel, row-major. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/** The largest image decoded: 25 megapixels (a 12 MP phone photo fits twice). */
export const MAX_IMAGE_PIXELS = 25_000_000;

/** Decodes one PNG or JPEG, naming `at` (e.g. `inputs[0].data[2]`) in every error. */
export function decodeImage(bytes: Uint8Array, at: string, maxPixels = MAX_IMAGE_PIXELS): Pixels {
  const format = imageFormat(bytes);
  if (!format) {
    fail(
      `${at}: is not a PNG or JPEG image (${bytes.length} bytes without either signature); send the image file's bytes`,
    );
  }
  try {
    return format === 'png' ? png(bytes, at, maxPixels) : jpg(bytes, at, maxPixels);
  } catch (err) {
    // The one place a decoder's own error becomes a 400 naming the file and what is wrong: a
    // malformed file is the caller's, never a 500.
    if (err instanceof InferaError) throw err;
    fail(`${at}: the ${format.toUpperCase()} could not be decoded: ${messageOf(err)}`);
  }
}

function checkSize(width: number, height: number, at: string, maxPixels: number): void {
  if (width < 1 || height < 1) fail(`${at}: the image is ${width}x${height}; it has no pixels`);
  if (width * height > maxPixels) {
    fail(
      `${at}: the image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP), over the ${maxPixels / 1e6} MP limit; resize it before sending`,
    );
  }
}

function png(bytes: Uint8Array, at: string, maxPixels: number): Pixels {
  // IHDR is the first chunk, at a fixed offset: width and height as big-endian uint32s.
  if (bytes.length < 24) fail(`${at}: the PNG is truncated (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize(view.getUint32(16), view.getUint32(20), at, maxPixels);
  const indexed = bytes[25] === 3; // IHDR colour type 3: each pixel an index into the PLTE chunk
  const img = imageCodecs().decodePng(bytes);
  const { width, height } = img;
  const n = width * height;
  if (indexed && !img.palette) {
    fail(`${at}: the PNG is indexed-colour but has no palette (PLTE chunk); send a complete PNG file`);
  }
  if (img.palette) {
    checkIndices(img, img.palette.length, at);
    const rgba = imageCodecs().convertIndexedToRgb(img);
    const per = rgba.length / n;
    return { width, height, channels: 3, data: pick(rgba, per, [0, 1, 2], n) };
  }
  const samples = img.depth === 16 ? to8bit(img.data as Uint16Array) : unpack(img, n);
  switch (img.channels) {
    case 1:
      return { width, height, channels: 1, data: samples };
    case 2:
      return { width, height, channels: 1, data: pick(samples, 2, [0], n) };
    case 3:
      return { width, height, channels: 3, data: samples };
    case 4:
      return { width, height, channels: 3, data: pick(samples, 4, [0, 1, 2], n) };
    default:
      fail(`${at}: the PNG has ${img.channels} channels; send grey, grey+alpha, RGB or RGBA`);
  }
}

/** Refuses a palette index past the palette's end, which the converter would read as nothing. */
function checkIndices(
  img: { data: ArrayLike<number>; depth: number; width: number; height: number },
  entries: number,
  at: string,
): void {
  const data = img.data;
  if (img.depth === 8) {
    for (let i = 0; i < data.length; i++) {
      if ((data[i] ?? 0) >= entries)
        fail(
          `${at}: the PNG uses palette entry ${data[i]}, but its palette has ${entries}; the file is corrupt`,
        );
    }
    return;
  }
  const indices = unpackIndices(img);
  for (const v of indices) {
    if (v >= entries)
      fail(`${at}: the PNG uses palette entry ${v}, but its palette has ${entries}; the file is corrupt`);
  }
}

/** 1-, 2- and 4-bit palette indices, packed per row, one value each. */
function* unpackIndices(img: { data: ArrayLike<number>; depth: number; width: number; height: number }) {
  const perByte = 8 / img.depth;
  const rowBytes = Math.ceil(img.width / perByte);
  const mask = (1 << img.depth) - 1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const byte = img.data[y * rowBytes + Math.floor(x / perByte)] ?? 0;
      yield (byte >> (8 - img.depth * ((x % perByte) + 1))) & mask;
    }
  }
}

/** 1-, 2- and 4-bit grey samples, packed per row, to one byte each scaled to 0..255. */
function unpack(
  img: { data: ArrayLike<number>; depth: number; width: number; height: number; channels: number },
  n: number,
): Uint8Array {
  const data = img.data as Uint8Array;
  if (img.depth === 8) return data instanceof Uint8Array ? data : Uint8Array.from(data);
  const depth = img.depth;
  const out = new Uint8Array(n * img.channels);
  const perByte = 8 / depth;
  const rowBytes = Math.ceil((img.width * img.channels) / perByte);
  const mask = (1 << depth) - 1;
  const scale = 255 / mask;
  let o = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width * img.channels; x++) {
      const byte = data[y * rowBytes + Math.floor(x / perByte)] ?? 0;
      const shift = 8 - depth * ((x % perByte) + 1);
      out[o++] = Math.round(((byte >> shift) & mask) * scale);
    }
  }
  return out;
}

function to8bit(data: Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] ?? 0) >> 8;
  return out;
}

/** Keeps `keep` channels of `per`-channel pixels (drops alpha). */
function pick(data: ArrayLike<number>, per: number, keep: readonly number[], n: number): Uint8Array {
  const out = new Uint8Array(n * keep.length);
  let o = 0;
  for (let i = 0; i < n; i++) for (const c of keep) out[o++] = data[i * per + c] ?? 0;
  return out;
}

function jpg(bytes: Uint8Array, at: string, maxPixels: number): Pixels {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = imageCodecs().decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // jpeg-js checks the frame header against these before it allocates the pixel buffers.
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxPixels * 6) / 1e6) + 64,
    });
  } catch (err) {
    const message = messageOf(err);
    if (/maxResolutionInMP/.test(message))
      fail(`${at}: the image is over the ${maxPixels / 1e6} MP limit; resize it before sending`);
    fail(`${at}: the JPEG could not be decoded: ${message}`);
  }
  checkSize(img.width, img.height, at, maxPixels);
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}
