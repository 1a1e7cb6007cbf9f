/**
 * Image files and text through `npm start`, as a user sends them: to the shipped PaddleOCR
 * text-direction classifier with curl --data-binary (with and without a Content-Type), v2 JSON
 * with base64 BYTES, a tritonclient.http binary request whose BYTES elements are the files and a
 * folder batch job; and plain text to the shipped ticket-router.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, MODELS, type RunningPlatform, startPlatform } from '../helpers.ts';
import { rawPost } from '../support/http.ts';
import { indexedPng } from '../support/png.ts';
import { tritonRequest } from '../support/triton.ts';

const FIXTURES = join(MODELS, 'text-direction/1/fixtures');
const LINES = ['invoice-0.png', 'invoice-180.jpg', 'street-0.jpg', 'street-180.png'];
const TRUTH = ['0', '180', '0', '180'];
const file = (name: string) => readFileSync(join(FIXTURES, name));
const PREDICT = '/v1/models/text-direction/predict';
const INFER = '/v2/models/text-direction/infer';

let platform: RunningPlatform;
before(async () => {
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, [
    '--no-sagemaker',
    '--allow-origin',
    'http://localhost:5173',
  ]);
});
after(() => platform?.stop());

const json = (r: { body: Buffer }) => JSON.parse(r.body.toString('utf8'));

describe('text-line images to the shipped PaddleOCR classifier through npm start', () => {
  it('labels a raw PNG or JPEG body 0 or 180, with its image type or none (curl --data-binary)', async () => {
    for (const [i, name] of LINES.entries()) {
      const type = name.endsWith('.png') ? 'image/png' : 'image/jpeg';
      const none: Record<string, string> = {};
      for (const headers of [{ 'content-type': type }, none]) {
        const r = await rawPost(platform.url, PREDICT, file(name), headers);
        assert.equal(r.status, 200, r.body.toString());
        assert.equal(json(r).predictions[0].label, TRUTH[i], `${name} ${JSON.stringify(headers)}`);
      }
    }
  });

  it('labels several files in one v2 JSON request, as base64 BYTES', async () => {
    const r = await rawPost(
      platform.url,
      INFER,
      Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'x', datatype: 'BYTES', shape: [4], data: LINES.map((n) => file(n).toString('base64')) },
          ],
        }),
      ),
      { 'content-type': 'application/json' },
    );
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(json(r).outputs.find((o: { name: string }) => o.name === 'label').data, TRUTH);
  });

  it('labels them from a tritonclient.http binary request whose BYTES elements are the files', async () => {
    const elements = Buffer.concat(
      LINES.flatMap((n) => {
        const f = file(n);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(f.length);
        return [len, f];
      }),
    );
    const { body, headerLength } = tritonRequest([
      { name: 'x', shape: [4, 1], datatype: 'BYTES', bytes: elements },
    ]);
    const r = await rawPost(platform.url, INFER, body, {
      'inference-header-content-length': String(headerLength),
    });
    assert.equal(r.status, 200, r.body.toString('latin1').slice(0, 300));
    const n = Number(r.headers['inference-header-content-length']);
    const header = JSON.parse(r.body.subarray(0, n).toString('utf8')) as {
      outputs: { name: string; parameters?: { binary_data_size?: number } }[];
    };
    // binary_data_output: every output comes back binary; read the label output's BYTES elements.
    let at = n;
    let labels: string[] = [];
    for (const o of header.outputs) {
      const size = o.parameters?.binary_data_size ?? 0;
      if (o.name === 'label') {
        const chunk = r.body.subarray(at, at + size);
        labels = [];
        for (let k = 0; k < chunk.length; ) {
          const len = chunk.readUInt32LE(k);
          labels.push(chunk.subarray(k + 4, k + 4 + len).toString('utf8'));
          k += 4 + len;
        }
      }
      at += size;
    }
    assert.deepEqual(labels, TRUTH);
  });

  it("explains curl's default form type instead of only failing to parse the image as JSON", async () => {
    const r = await rawPost(platform.url, PREDICT, file('street-0.png'), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(r.status, 400);
    assert.match(json(r).error, /add -H 'content-type: image\/png'/);
  });

  it('answers a GIF with 415 and bytes that are no image with 400, each saying what to send', async () => {
    const gif = await rawPost(platform.url, PREDICT, Buffer.from('GIF89a....'), {
      'content-type': 'image/gif',
    });
    assert.equal(gif.status, 415);
    assert.match(json(gif).error, /takes image\/png or image\/jpeg/);
    const junk = await rawPost(platform.url, PREDICT, Buffer.from('hello'), { 'content-type': 'image/png' });
    assert.equal(junk.status, 400);
    assert.match(json(junk).error, /Body \(image\/png, 5 bytes\) is not a PNG or JPEG file/);
    const iris = await rawPost(platform.url, '/v1/models/iris/predict', file('street-0.png'), {
      'content-type': 'image/png',
    });
    assert.equal(iris.status, 415);
    assert.match(json(iris).error, /model 'iris' takes feature rows/);
  });
});

describe('a folder of images as one batch job (infera batch submit <folder>)', () => {
  it('scores every .png and .jpg in the folder, a row each with its file name as the id', async () => {
    const sub = await cli([
      'batch',
      'submit',
      FIXTURES,
      '-m',
      'text-direction',
      '--wait',
      '--url',
      platform.url,
    ]);
    assert.equal(sub.code, 0, sub.stderr + sub.stdout);
    assert.match(sub.stdout, /8 scored, 0 rejected/);
    const jobId = /job\s+(\S+)/.exec(sub.stdout)?.[1] as string;
    const out = join(await mkdtemp(join(tmpdir(), 'infera-img-')), 'results.jsonl');
    const dl = await cli(['batch', 'download', jobId, '-o', out, '--url', platform.url]);
    assert.equal(dl.code, 0, dl.stderr);
    const rows = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string });
    assert.equal(rows.length, 8);
    for (const r of rows) assert.equal(r.label, /-180\./.test(r.id) ? '180' : '0', r.id);
  });

  it('scores a 1,000-row JSON Lines image job with one poison PNG: 999 scored, 1 rejected with its reason, no chunk failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-poison-'));
    const good = file('street-0.png').toString('base64');
    const poison = indexedPng([0, 5], [[255, 0, 0]]).toString('base64');
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, x: { b64: i === 417 ? poison : good } }),
    );
    const path = join(dir, 'images.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const sub = await cli(['batch', 'submit', path, '-m', 'text-direction', '--wait', '--url', platform.url]);
    assert.equal(sub.code, 0, sub.stderr + sub.stdout);
    assert.match(sub.stdout, /status\s+succeeded/);
    assert.match(sub.stdout, /999 scored, 1 rejected, 0 in failed chunks/);
    const jobId = /job\s+(\S+)/.exec(sub.stdout)?.[1] as string;
    const errors = join(dir, 'errors.jsonl');
    const dl = await cli(['batch', 'download', jobId, '--errors', '-o', errors, '--url', platform.url]);
    assert.equal(dl.code, 0, dl.stderr);
    const [rejected] = (await readFile(errors, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; error: string });
    assert.equal(rejected?.id, 'r417');
    assert.match(rejected?.error ?? '', /palette entry 5, but its palette has 1/);
  });

  it('refuses a folder for a model that takes no images, naming why', async () => {
    const sub = await cli(['batch', 'submit', FIXTURES, '-m', 'iris', '--url', platform.url]);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /Model 'iris' does not take image files/);
  });
});

describe('text to the shipped ticket-router through npm start', () => {
  it("labels a text/plain body (curl -d ... -H 'content-type: text/plain')", async () => {
    const r = await rawPost(
      platform.url,
      '/v1/models/ticket-router/predict',
      Buffer.from('my parcel is 5 days late'),
      {
        'content-type': 'text/plain; charset=utf-8',
      },
    );
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(json(r).predictions[0].label, 'delivery');
  });

  it('still takes JSON sent as text/plain, and labels v2 BYTES text', async () => {
    const r = await rawPost(
      platform.url,
      '/v1/models/ticket-router/predict',
      Buffer.from(JSON.stringify({ instances: [{ text: 'I forgot my password' }] })),
      { 'content-type': 'text/plain' },
    );
    assert.equal(json(r).predictions[0].label, 'account');
    const v2 = await rawPost(
      platform.url,
      '/v2/models/ticket-router/infer',
      Buffer.from(
        JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['refund me'] }] }),
      ),
      { 'content-type': 'application/json' },
    );
    assert.deepEqual(json(v2).outputs.find((o: { name: string }) => o.name === 'label').data, ['billing']);
  });
});

describe('batch upload tickets, bounded', () => {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${platform.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  it('answers a 78 GiB upload with at most 1,000 presigned parts, and refuses more than S3 holds', async () => {
    const big = await post('/v1/batch', {
      model: 'fraud-detector',
      filename: 'big.csv',
      bytes: 83_886_080_000,
    });
    assert.equal(big.status, 201);
    const m = big.json.multipart as { partBytes: number; parts: unknown[] };
    assert.ok(m.parts.length <= 1000, `${m.parts.length} parts`);
    assert.ok(m.partBytes * m.parts.length >= 83_886_080_000);
    const huge = await post('/v1/batch', { model: 'fraud-detector', bytes: 6 * 1024 ** 4 });
    assert.equal(huge.status, 400);
    assert.match(String(huge.json.error), /body\.bytes: must be <= 5497558138880/);
  });

  it('answers a completion with a wrong uploadId or bad parts with a 400 naming the field', async () => {
    const t = await post('/v1/batch', {
      model: 'fraud-detector',
      filename: 'x.csv',
      bytes: 20 * 1024 * 1024,
    });
    const jobId = t.json.jobId as string;
    const key = t.json.key as string;
    const wrongId = await post(`/v1/batch/${jobId}/complete`, {
      key,
      uploadId: 'not-an-upload',
      parts: [{ partNumber: 1, etag: '"x"' }],
    });
    assert.equal(wrongId.status, 400, JSON.stringify(wrongId.json));
    assert.match(String(wrongId.json.error), /^uploadId: /);
    const { uploadId } = t.json.multipart as { uploadId: string };
    const wrongParts = await post(`/v1/batch/${jobId}/complete`, {
      key,
      uploadId,
      parts: [
        { partNumber: 2, etag: '"a"' },
        { partNumber: 1, etag: '"b"' },
      ],
    });
    assert.equal(wrongParts.status, 400, JSON.stringify(wrongParts.json));
    assert.match(String(wrongParts.json.error), /^parts: /);
  });
});

describe('npm start --no-sagemaker', () => {
  it('answers a SageMaker-routed model with 502 endpoint_not_found, as documented', async () => {
    const g = JSON.parse(readFileSync(join(MODELS, 'fraud-detector-xl/1/fixtures/golden.json'), 'utf8')) as {
      instances: unknown[];
    };
    const r = await rawPost(
      platform.url,
      '/v1/models/fraud-detector-xl/predict',
      Buffer.from(JSON.stringify({ instances: g.instances.slice(0, 1) })),
      { 'content-type': 'application/json' },
    );
    assert.equal(r.status, 502, r.body.toString());
    assert.equal(json(r).code, 'endpoint_not_found');
  });
});

describe('local listeners refuse web pages', () => {
  const foreign: [string, Record<string, string>][] = [
    ['a rebound Host', { host: 'attacker.example:3000' }],
    ['another origin', { origin: 'https://attacker.example' }],
    ['a page on another local port', { origin: 'http://localhost:8080' }],
    ['a sandboxed page', { origin: 'null' }],
  ];

  it('answers 403 to a foreign Host or Origin on the gateway and the S3/SQS emulator, and still serves curl', async () => {
    for (const [base, path] of [
      [platform.url, '/v1/batch'],
      [platform.awsEndpoint as string, '/infera-batch-input'],
    ] as const) {
      for (const [what, headers] of foreign) {
        const r = await rawPost(base, path, Buffer.from(JSON.stringify({ model: 'fraud-detector' })), {
          'content-type': 'text/plain',
          ...headers,
        });
        assert.equal(r.status, 403, `${what} at ${base}${path}`);
        assert.match(r.body.toString(), /refuse|another site|not this local platform/);
      }
    }
    // Same-origin (the dashboard's own requests) and no Origin at all (curl, SDKs) still work.
    const own = await fetch(`${platform.url}/v1/models`, { headers: { origin: platform.url } });
    assert.equal(own.status, 200);
    const curlLike = await rawPost(platform.url, '/v1/models/ticket-router/predict', Buffer.from('refund'), {
      'content-type': 'text/plain',
    });
    assert.equal(curlLike.status, 200);
    // The access log names the query's parameters, never their values.
    await fetch(`${platform.url}/v2/health/live?token=s3cr3t-value&x=1`);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(platform.output(), /\[gateway\] GET \/v2\/health\/live\?token=…&x=… 200/);
    assert.doesNotMatch(platform.output(), /s3cr3t-value/);
    // A local web app admitted with --allow-origin, and only it.
    const app = await rawPost(platform.url, '/v1/models/ticket-router/predict', Buffer.from('refund'), {
      'content-type': 'text/plain',
      origin: 'http://localhost:5173',
    });
    assert.equal(app.status, 200);
  });
});
