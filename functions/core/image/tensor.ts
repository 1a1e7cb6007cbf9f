import { invalid } from '../errors.ts';
import type { Datatype, ImageSpec, TensorSpec } from '../model/manifest.ts';
import type { HostTensor, TensorData } from '../ports.ts';
import { hostTensor } from '../tensor/host-tensor.ts';
import { DATATYPE_TO_TYPE, float16Bits } from '../tensor/tensors.ts';
import { decodeImage, type Pixels } from './decode.ts';
import { resizeBilinear } from './resize.ts';

/**
 * Image files to one model input: decode, colour order, resize, scale and normalize, then NCHW or
 * NHWC in the input's datatype. Several images make one tensor, so one `session.run`.
 */

/** Widest image a `fit-height` input with a dynamic width is given. */
export const MAX_DYNAMIC_WIDTH = 4096;

/** Where the input's channel, height and width dimensions sit in its shape. */
export function imageDims(spec: TensorSpec & { image: ImageSpec }): { c: number; h: number; w: number } {
  const [, a, b, d] = spec.shape as [number, number, number, number];
  return spec.image.layout === 'NCHW' ? { c: a, h: b, w: d } : { c: d, h: a, w: b };
}

export function channelsOf(image: ImageSpec): 1 | 3 {
  return image.colorOrder === 'GRAY' ? 1 : 3;
}

/** The scale a manifest leaves out: 1/255 for float inputs, 1 for integer ones. */
export function defaultScale(datatype: Datatype): number {
  return datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64' ? 1 / 255 : 1;
}

/** One file decoded, in the model's colour order, resized (not yet padded or normalized). */
export function preparePixels(
  spec: TensorSpec & { image: ImageSpec },
  bytes: Uint8Array,
  at: string,
): Pixels {
  const { h, w } = imageDims(spec);
  return resizeFor(toChannels(decodeImage(bytes, at), spec.image.colorOrder), spec.image.resize, h, w, at);
}

/** Decodes and preprocesses `files` for `spec`, here; `at(i)` names file i in errors. */
export function imagesToTensor(
  spec: TensorSpec & { image: ImageSpec },
  files: readonly Uint8Array[],
  at: (i: number) => string,
): HostTensor {
  return pixelsToTensor(
    spec,
    files.map((bytes, i) => preparePixels(spec, bytes, at(i))),
  );
}

/** Prepared pixels (preparePixels, wherever it ran) to the input's tensor: pad, scale, normalize, lay out. */
export function pixelsToTensor(
  spec: TensorSpec & { image: ImageSpec },
  placed: readonly Pixels[],
): HostTensor {
  const { image } = spec;
  const { h: H, w: fixedW } = imageDims(spec);
  const C = channelsOf(image);
  const W = fixedW > 0 ? fixedW : Math.max(...placed.map((p) => p.width));
  const n = placed.length;
  const per = C * H * W;
  const values = new Float64Array(n * per);
  const scale = image.scale ?? defaultScale(spec.datatype);
  const mean = image.mean ?? new Array<number>(C).fill(0);
  const std = image.std ?? new Array<number>(C).fill(1);
  values.fill(image.padValue);
  placed.forEach((pixels, i) => {
    const base = i * per;
    const { width, height, data } = pixels;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = (y * width + x) * C;
        for (let c = 0; c < C; c++) {
          const v = ((data[p + c] ?? 0) * scale - (mean[c] ?? 0)) / (std[c] ?? 0);
          const o = image.layout === 'NCHW' ? base + c * H * W + y * W + x : base + (y * W + x) * C + c;
          values[o] = v;
        }
      }
    }
  });
  const dims = image.layout === 'NCHW' ? [n, C, H, W] : [n, H, W, C];
  return hostTensor(DATATYPE_TO_TYPE[spec.datatype], cast(values, spec.datatype), dims);
}

/** Grey or RGB pixels in the colour order the model wants (GRAY with cv2's luma weights). */
function toChannels(px: Pixels, order: ImageSpec['colorOrder']): Pixels {
  const n = px.width * px.height;
  if (order === 'GRAY') {
    if (px.channels === 1) return px;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const r = px.data[i * 3] ?? 0;
      const g = px.data[i * 3 + 1] ?? 0;
      const b = px.data[i * 3 + 2] ?? 0;
      out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
    return { ...px, channels: 1, data: out };
  }
  const out = new Uint8Array(n * 3);
  const bgr = order === 'BGR';
  for (let i = 0; i < n; i++) {
    const r = px.channels === 1 ? (px.data[i] ?? 0) : (px.data[i * 3] ?? 0);
    const g = px.channels === 1 ? r : (px.data[i * 3 + 1] ?? 0);
    const b = px.channels === 1 ? r : (px.data[i * 3 + 2] ?? 0);
    out[i * 3] = bgr ? b : r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = bgr ? r : b;
  }
  return { ...px, channels: 3, data: out };
}

function resizeFor(px: Pixels, mode: ImageSpec['resize'], H: number, W: number, at: string): Pixels {
  switch (mode) {
    case 'stretch':
      return resizeBilinear(px, W, H);
    case 'letterbox': {
      const s = Math.min(W / px.width, H / px.height);
      return resizeBilinear(
        px,
        Math.min(W, Math.max(1, Math.round(px.width * s))),
        Math.min(H, Math.max(1, Math.round(px.height * s))),
      );
    }
    case 'fit-height': {
      // PaddleOCR's resize_norm_img: height H, width ceil(H * w / h) capped at W, padded right.
      const want = Math.ceil((H * px.width) / px.height);
      if (W <= 0 && want > MAX_DYNAMIC_WIDTH) {
        invalid(
          `${at}: the image is ${px.width}x${px.height}, which is ${want} pixels wide at height ${H}; the limit is ${MAX_DYNAMIC_WIDTH}. Crop it into shorter pieces`,
        );
      }
      return resizeBilinear(px, W > 0 ? Math.min(W, want) : want, H);
    }
  }
}

function cast(values: Float64Array, datatype: Datatype): TensorData {
  switch (datatype) {
    case 'FP32':
      return Float32Array.from(values);
    case 'FP64':
      return values;
    case 'FP16':
      return float16Bits(values);
    case 'UINT8':
      return Uint8Array.from(values, (v) => clamp(Math.round(v), 0, 255));
    case 'INT8':
      return Int8Array.from(values, (v) => clamp(Math.round(v), -128, 127));
    default:
      throw new Error(`image inputs cannot be ${datatype}`);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
