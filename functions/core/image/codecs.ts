import type { convertIndexedToRgb, decode as decodePng } from 'fast-png';
import type decodeJpeg from 'jpeg-js/lib/decoder.js';

/**
 * The image decoders, loaded on first need: importing them costs about 50 ms, which a tabular
 * model's cold start should not pay. They are external to the function bundles (in the layer),
 * so this dynamic import stays a real one after bundling.
 */
export interface ImageCodecs {
  readonly decodePng: typeof decodePng;
  readonly convertIndexedToRgb: typeof convertIndexedToRgb;
  readonly decodeJpeg: typeof decodeJpeg;
}

let codecs: ImageCodecs | undefined;
let loading: Promise<ImageCodecs> | undefined;

export function loadImageCodecs(): Promise<ImageCodecs> {
  loading ??= Promise.all([import('fast-png'), import('jpeg-js/lib/decoder.js')]).then(([png, jpg]) => {
    codecs = { decodePng: png.decode, convertIndexedToRgb: png.convertIndexedToRgb, decodeJpeg: jpg.default };
    return codecs;
  });
  return loading;
}

/** The loaded decoders; `loadImageCodecs()` must have resolved (the Scorer does it per image model). */
export function imageCodecs(): ImageCodecs {
  if (!codecs) throw new Error('The image decoders are not loaded; await loadImageCodecs() first.');
  return codecs;
}
