/**
 * B8: image pre-processing cost, in-process: a 640x480 JPEG photo decoded (jpeg-js), and decoded
 * then pre-processed to a [1,3,224,224] FP32 tensor (stretch with cv2's bilinear arithmetic, RGB,
 * /255, ImageNet mean and std, NCHW): the work a ResNet-style image model adds to each request.
 * The photo is synthetic but photo-like (smooth shading, texture and edges), encoded at quality 85.
 */
import jpeg from 'jpeg-js';
import { loadImageCodecs } from '#core/image/codecs.ts';
import { decodeImage } from '#core/image/decode.ts';
import { imagesToTensor } from '#core/image/tensor.ts';
import type { ImageSpec, TensorSpec } from '#core/model/manifest.ts';
import type { BenchOptions, BenchResult } from './lib/report.ts';
import { quantile, sortNumbers, summarize } from './lib/stats.ts';

const W = 640;
const H = 480;

/** A deterministic photo-like RGBA image: sky gradient, a lit sphere, textured ground. */
export function photo(): Uint8Array {
  const out = Buffer.alloc(W * H * 4);
  let seed = 42;
  const noise = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 24) / 255 - 0.5;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      let r: number;
      let g: number;
      let b: number;
      const dx = x - 420;
      const dy = y - 180;
      if (dx * dx + dy * dy < 90 * 90) {
        const light = 0.4 + 0.6 * Math.max(0, 1 - Math.hypot(dx + 30, dy + 30) / 120);
        [r, g, b] = [220 * light, 90 * light, 40 * light];
      } else if (y < 300) {
        [r, g, b] = [110 + y * 0.2, 160 + y * 0.15, 230];
      } else {
        const t = Math.sin(x / 7) * Math.cos(y / 5) * 20;
        [r, g, b] = [70 + t, 110 + t, 50 + t];
      }
      out[i] = Math.max(0, Math.min(255, r + noise() * 16));
      out[i + 1] = Math.max(0, Math.min(255, g + noise() * 16));
      out[i + 2] = Math.max(0, Math.min(255, b + noise() * 16));
      out[i + 3] = 255;
    }
  }
  return jpeg.encode({ width: W, height: H, data: out }, 85).data;
}

const SPEC: TensorSpec & { image: ImageSpec } = {
  name: 'image',
  datatype: 'FP32',
  shape: [-1, 3, 224, 224],
  image: {
    colorOrder: 'RGB',
    layout: 'NCHW',
    resize: 'stretch',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    padValue: 0,
  },
};

export async function b8(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const rounds = opts.quick ? 1 : 5;
  const calls = opts.quick ? 3 : 60;
  const file = photo();
  const loadStarted = performance.now();
  await loadImageCodecs();
  const loadMs = performance.now() - loadStarted;
  opts.progress(`B8: ${rounds} round(s) of ${calls} decodes and pre-processings of a ${W}x${H} JPEG (${file.length} bytes)`);
  const check = imagesToTensor(SPEC, [file], () => 'photo');
  if (check.dims.join(',') !== '1,3,224,224') throw new Error(`B8: unexpected tensor shape ${check.dims}`);
  const decode: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const td = new Float64Array(calls);
    const tf = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      let t = performance.now();
      decodeImage(file, 'photo');
      td[i] = performance.now() - t;
      t = performance.now();
      imagesToTensor(SPEC, [file], () => 'photo');
      tf[i] = performance.now() - t;
    }
    decode.push(quantile(sortNumbers(td), 0.5));
    full.push(quantile(sortNumbers(tf), 0.5));
  }
  return {
    id: 'B8',
    title: `image pre-processing: a ${W}x${H} JPEG photo to a [1,3,224,224] FP32 tensor, in-process`,
    baseline: 'none: the cost is reported, not compared',
    target: 'reported',
    figures: [
      { label: 'JPEG decode p50', unit: 'ms', platform: summarize(decode), compare: 'absolute', value: summarize(decode) },
      {
        label: 'decode + resize + normalize p50',
        unit: 'ms',
        platform: summarize(full),
        compare: 'absolute',
        value: summarize(full),
      },
    ],
    notes: [
      `${rounds} rounds of ${calls} calls on one ${file.length}-byte JPEG (quality 85); each round's p50. Pure JavaScript (jpeg-js, the cv2-compatible bilinear resize), the same code on x86_64 and arm64.`,
      `Loading the decoders, once per process on an image model's first request: ${loadMs.toFixed(0)} ms (tabular and text models never load them).`,
    ],
    limits: ['One core; a native decoder (sharp/libvips) decodes a few times faster but needs a per-architecture binary in the layer.'],
  };
}
