import type { Pixels } from './decode.ts';

/**
 * Bilinear resize of 8-bit pixels with OpenCV's `cv2.resize(..., INTER_LINEAR)` arithmetic: half-
 * pixel centres, edge clamping, 11-bit fixed-point weights and the same rounding. Models exported
 * from Python pipelines (PaddleOCR, most torchvision-free code) were trained on cv2's output, so
 * matching it keeps scores where their authors measured them. Not matched: cv2 switches to
 * INTER_AREA for an exact 2x downscale in both directions.
 */

const BITS = 11;
const ONE = 1 << BITS;

interface Taps {
  readonly index: Int32Array;
  /** Two 11-bit weights per destination pixel. */
  readonly weight: Int32Array;
}

/** Round half to even, as cv2's cvRound (lrint) does. */
function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Source index and fixed-point weights of the two taps, per destination pixel, as cv2 computes
 * them. Columns clamp the position at the edges (weight 1 on the edge pixel); rows do not: cv2
 * keeps the weights and reads the edge row twice, which rounds differently, so `clampEdges` is
 * false for rows.
 */
function taps(src: number, dst: number, clampEdges: boolean): Taps {
  const index = new Int32Array(dst);
  const weight = new Int32Array(dst * 2);
  // cv2: scale = 1 / (dst / src) in double; the position in float32.
  const scale = 1 / (dst / src);
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampEdges && s < 0) {
      s = 0;
      f = 0;
    }
    if (clampEdges && s >= src - 1) {
      s = src - 1;
      f = 0;
    }
    index[d] = s;
    weight[d * 2] = rint(Math.fround(1 - f) * ONE);
    weight[d * 2 + 1] = rint(f * ONE);
  }
  return { index, weight };
}

export function resizeBilinear(img: Pixels, width: number, height: number): Pixels {
  if (width === img.width && height === img.height) return img;
  const c = img.channels;
  const xs = taps(img.width, width, true);
  const ys = taps(img.height, height, false);
  const last = img.width - 1;
  // Horizontal pass per source row actually used, cached; values carry 11 fractional bits.
  const rows = new Map<number, Int32Array>();
  const row = (sy: number): Int32Array => {
    let r = rows.get(sy);
    if (r) return r;
    r = new Int32Array(width * c);
    const base = sy * img.width * c;
    for (let dx = 0; dx < width; dx++) {
      const sx = xs.index[dx] ?? 0;
      const a0 = xs.weight[dx * 2] ?? 0;
      const a1 = xs.weight[dx * 2 + 1] ?? 0;
      const sx1 = sx < last ? sx + 1 : sx;
      for (let k = 0; k < c; k++) {
        r[dx * c + k] = (img.data[base + sx * c + k] ?? 0) * a0 + (img.data[base + sx1 * c + k] ?? 0) * a1;
      }
    }
    if (rows.size > 4) rows.delete(rows.keys().next().value as number);
    rows.set(sy, r);
    return r;
  };
  const out = new Uint8Array(width * height * c);
  const lastRow = img.height - 1;
  for (let dy = 0; dy < height; dy++) {
    const sy = ys.index[dy] ?? 0;
    const b0 = ys.weight[dy * 2] ?? 0;
    const b1 = ys.weight[dy * 2 + 1] ?? 0;
    const r0 = row(Math.min(Math.max(sy, 0), lastRow));
    const r1 = row(Math.min(Math.max(sy + 1, 0), lastRow));
    const o = dy * width * c;
    for (let i = 0; i < width * c; i++) {
      // cv2's vectorised VResizeLinear for 8-bit output: drop 4 bits, multiply, drop 16, round by 2 bits.
      const v = (((b0 * ((r0[i] ?? 0) >> 4)) >> 16) + ((b1 * ((r1[i] ?? 0) >> 4)) >> 16) + 2) >> 2;
      out[o + i] = v > 255 ? 255 : v < 0 ? 0 : v;
    }
  }
  return { width, height, channels: c, data: out };
}
