/**
 * npm start refuses what AWS would: an answer over Lambda's 6 MB response limit, a body over the
 * HTTP API's 10 MB, and an event over Lambda's 6 MB request limit, each with a status the client
 * can read and a message naming the limit and the way around it (functions/core/aws/rules.ts).
 * Requests go through node:http, which, like tritonclient.http, sends the whole body before it
 * reads the answer: a server that answers and closes early shows up as a broken pipe.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyModels, editJson, type RunningPlatform, startPlatform, writeTensorModel } from '../helpers.ts';
import { rawPost } from '../support/http.ts';
import { readResult } from '../support/triton.ts';

/** Elements of the wide model's output: 12 MB as JSON, 4 MB as binary (5.3 MB base64). */
const WIDTH = 1_000_000;

let p: RunningPlatform;
before(async () => {
  const models = await copyModels();
  await writeTensorModel(models, 'wide', {
    description: 'repeats its one input a million times: a small request with a large answer',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1, WIDTH] }],
    graph: (g) => {
      const x = g.input('x', 'float32', [1, 1]);
      g.op('Tile', [x, g.constant('repeats', [1, WIDTH], [2], 'int64')], {}, 'y');
      g.output('y', 'float32', [1, WIDTH]);
    },
  });
  p = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, ['--quiet', '--models', models]);
});
after(() => p?.stop());

/**
 * POSTs all of `size` bytes on a raw socket and reads the answer only once every byte is written,
 * as tritonclient.http does: a server that answers early and closes the connection makes a
 * write fail (EPIPE or ECONNRESET), which rejects here as tritonclient's BrokenPipeError.
 */
function sendAllThenRead(path: string, size: number, contentType: string) {
  const { hostname, port } = new URL(p.url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const received: Buffer[] = [];
    let sent = false;
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', (err) =>
      reject(new Error(`${err.message} after ${sent ? 'sending all' : 'a partial send'}`)),
    );
    socket.on('end', () => {
      if (!sent) return reject(new Error('the server closed the connection before the body was sent'));
      const text = Buffer.concat(received).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        const last = left === 0;
        const ok = socket.write(n === chunk.length ? chunk : chunk.subarray(0, n), (err) => {
          if (!err && last) sent = true;
        });
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

const infer = (parameters: Record<string, unknown> = {}) =>
  JSON.stringify({
    inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [0.123456789] }],
    parameters,
  });

describe("Lambda's and API Gateway's payload limits under npm start", () => {
  it('refuses a 12 MB JSON answer with 413, naming the 6 MB limit and binary outputs', async () => {
    const r = await rawPost(p.url, '/v2/models/wide/infer', Buffer.from(infer()), {
      'content-type': 'application/json',
    });
    assert.equal(r.status, 413);
    const body = JSON.parse(r.body.toString()) as { error: string; code: string };
    assert.equal(body.code, 'payload_too_large');
    assert.match(body.error, /^The answer is 1\d\.\d MB \(\d+ bytes\); Lambda returns at most 6 MB/);
    assert.match(body.error, /AWS rule lambda-sync-response/);
    assert.match(body.error, /binary_data_output/);
    assert.match(body.error, /POST \/v1\/batch/);
  });

  it('answers the same request with binary outputs, which fit', async () => {
    const r = await rawPost(
      p.url,
      '/v2/models/wide/infer',
      Buffer.from(infer({ binary_data_output: true })),
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(r.status, 200, r.body.subarray(0, 300).toString());
    const { header, buffers } = readResult(r);
    assert.deepEqual(header.outputs[0]?.shape, [1, WIDTH]);
    const y = new Float32Array(new Uint8Array(buffers.get('y') as Buffer).buffer);
    assert.equal(y.length, WIDTH);
    assert.equal(y[WIDTH - 1], Math.fround(0.123456789));
  });

  it('answers an 11 MB body with a 413 the client reads after sending it all, not a broken pipe', async () => {
    const r = await sendAllThenRead('/v2/models/iris/infer', 11 * 1024 * 1024, 'application/json');
    assert.equal(r.status, 413);
    const body = JSON.parse(r.body) as { error: string; code: string };
    assert.equal(body.code, 'payload_too_large');
    assert.match(
      body.error,
      /over 10 MB \(10485760 bytes\), the HTTP API's limit \(AWS rule http-api-payload\)/,
    );
    // The platform is still there for everyone else.
    const live = await fetch(`${p.url}/v2/health/live`);
    assert.equal(live.status, 200);
  });

  it('refuses a 4.7 MB binary body whose base64 event would be over 6 MB, naming Lambda’s request limit', async () => {
    const r = await rawPost(p.url, '/v2/models/iris/infer', Buffer.alloc(4.7 * 1024 * 1024, 1), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': '2',
    });
    assert.equal(r.status, 413);
    const body = JSON.parse(r.body.toString()) as { error: string };
    assert.match(body.error, /6\.\d MB event .*Lambda takes at most 6 MB \(AWS rule lambda-sync-request\)/);
  });

  it('refuses to start with a model whose timeout is longer than API Gateway waits, naming the field and the fix', async () => {
    const models = await copyModels();
    await editJson(join(models, 'iris', '1', 'model.json'), (m) => {
      m.target = { type: 'lambda', timeoutSeconds: 35 };
    });
    await assert.rejects(startPlatform({ MODELS_DIR: models }, ['--quiet']), (e: Error) => {
      assert.match(e.message, /exited with 1/);
      assert.match(
        e.message,
        /iris@1: target\.timeoutSeconds is 35, but API Gateway gives up on a call after 30 s \(AWS rule http-api-integration-timeout\)/,
      );
      assert.match(e.message, /Set it to at most 29 in models\/iris\/1\/model\.json/);
      return true;
    });
  });
});
