/**
 * The image pool: a 25 MP decompression bomb decodes in a worker thread while the calling thread
 * keeps turning; a request over the pixel budget is refused before anything decodes; a file past
 * its time is stopped; a malformed file is the same 400 as in the calling thread.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PooledImageWork } from '#adapters/image-pool.ts';
import { ValidationError } from '#core/errors.ts';
import { inlineImageWork } from '#core/image/work.ts';
import type { ImageSpec, TensorSpec } from '#core/model/manifest.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { imageFeed, MAX_REQUEST_PIXELS } from '#core/protocol/images.ts';
import { DEFAULT_SHAPE_LIMITS } from '#core/tensor/shapes.ts';
import { MODELS } from '../../helpers.ts';
import { blackPng } from '../../support/png.ts';

let spec: TensorSpec & { image: ImageSpec };
const bomb = blackPng(5000);
const pools: PooledImageWork[] = [];
before(async () => {
  const mv = (await ModelRegistry.load(MODELS, { only: ['text-direction'] })).resolve('text-direction');
  spec = (mv.manifest.inputs as { tensors: (TensorSpec & { image: ImageSpec })[] }).tensors[0] as never;
});
after(() => Promise.all(pools.map((p) => p.close())));
const pool = (opts: ConstructorParameters<typeof PooledImageWork>[0] = {}) => {
  const p = new PooledImageWork({ threads: 1, ...opts });
  pools.push(p);
  return p;
};

describe('image work off the serving thread', () => {
  it('decodes a 25 MP decompression bomb in a worker while this thread keeps turning', async () => {
    assert.ok(bomb.length < 100_000, `${bomb.length} bytes`);
    let done = false;
    const decoding = pool()
      .prepare({ spec, files: [bomb], at: ['instances[0].x'] })
      .then((px) => {
        done = true;
        return px;
      });
    // Several turns of the event loop while the bomb is being decoded.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'the decode is still going, and this thread is free');
    const [px] = await decoding;
    assert.deepEqual([px?.height, px?.channels], [48, 3]);
  });

  it('stops a file that decodes past its time, with a 400 naming it', async () => {
    await assert.rejects(
      pool({ timeoutMs: 100 }).prepare({ spec, files: [bomb], at: ['inputs[0].data[0]'] }),
      (e) => {
        assert.ok(e instanceof ValidationError);
        assert.match(
          e.message,
          /^inputs\[0\]\.data\[0\]: the image was not decoded within 100 ms \(waiting for a free decoder included\), and was stopped/,
        );
        return true;
      },
    );
  });

  it('stops when the request is abandoned', async () => {
    const gone = new AbortController();
    const decoding = pool().prepare({ spec, files: [bomb], at: ['x'] }, gone.signal);
    setImmediate(() => gone.abort());
    await assert.rejects(decoding, (e: Error) => e.name === 'AbortError' || /abort/i.test(e.message));
  });

  it('refuses an 8.8 KB JPEG whose header claims 4999 x 4999 with a 400, off this thread', async () => {
    const jpeg = Buffer.from(readFileSync(join(MODELS, 'text-direction/1/fixtures/street-0.jpg')));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(4999, sof + 5);
    jpeg.writeUInt16BE(4999, sof + 7);
    let turns = 0;
    const ticking = setInterval(() => turns++, 5);
    try {
      await assert.rejects(pool().prepare({ spec, files: [new Uint8Array(jpeg)], at: ['x'] }), (e) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.match(e.message, /^x: the JPEG could not be decoded/);
        return true;
      });
    } finally {
      clearInterval(ticking);
    }
    assert.ok(turns > 0, 'timers ran while the JPEG was being decoded');
  });

  it('answers a malformed file as the calling thread does', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const work = { spec, files: [png], at: ['instances[3].x'] };
    const inline = await inlineImageWork.prepare(work).catch((e: Error) => e);
    const pooled = await pool()
      .prepare(work)
      .catch((e: Error) => e);
    assert.ok(pooled instanceof ValidationError);
    assert.equal(pooled.message, (inline as Error).message);
  });

  it(`refuses a request whose images declare over ${MAX_REQUEST_PIXELS / 1e6} MP before decoding any`, () => {
    const twenty = Array.from({ length: 20 }, () => bomb);
    assert.throws(
      () => imageFeed(spec, twenty, (i) => `inputs[0].data[${i}]`, DEFAULT_SHAPE_LIMITS),
      /inputs\[0\]\.data\[0\]: the 20 images declare 500\.0 MP in all; one request may decode 100 MP/,
    );
  });
});
