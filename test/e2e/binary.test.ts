/**
 * The binary tensor data extension through `npm start` (the local gateway and the deployed
 * handlers), with requests built byte for byte as tritonclient.http builds them by default:
 * binary inputs after a compact JSON header, Inference-Header-Content-Length, no Content-Type,
 * and `binary_data_output` when no outputs are named.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type RunningPlatform, startPlatform } from '../helpers.ts';
import { rawPost } from '../support/http.ts';
import { IMAGE, imageRequest, readResult, transactionRequest, tritonRequest } from '../support/triton.ts';

let platform: RunningPlatform;
before(async () => {
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, ['--no-batch']);
});
after(() => platform?.stop());

function post(path: string, body: Buffer, headers: Record<string, string>) {
  return rawPost(platform.url, path, body, headers);
}

describe('Open Inference Protocol binary tensor data through npm start', () => {
  it('lists binary_tensor_data among the server extensions', async () => {
    const meta = (await (await fetch(`${platform.url}/v2`)).json()) as { extensions: string[] };
    assert.deepEqual(meta.extensions, ['binary_tensor_data']);
  });

  it('answers a tritonclient.http request (binary in, binary out) with the outputs of the JSON form', async () => {
    const jsonForm = (await (
      await fetch(`${platform.url}/v2/models/dominant-color/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'image', shape: [1, 3, 2, 2], datatype: 'FP32', data: IMAGE }],
        }),
      })
    ).json()) as { outputs: { name: string; data: unknown[] }[] };

    const { body, headerLength } = imageRequest();
    const res = await post('/v2/models/dominant-color/infer', body, {
      'Inference-Header-Content-Length': String(headerLength),
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    const { header, buffers } = readResult(res);
    for (const o of header.outputs) {
      assert.equal(o.data, undefined, `${o.name} is binary`);
      const want = jsonForm.outputs.find((x) => x.name === o.name)?.data;
      const raw = buffers.get(o.name) as Buffer;
      if (o.datatype === 'FP32') {
        const got = Array.from(
          new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)),
        );
        assert.deepEqual(
          got,
          (want as number[]).map((v) => Math.fround(v)),
          o.name,
        );
      } else if (o.datatype === 'BYTES') {
        assert.deepEqual(raw.subarray(4).toString('utf8'), (want as string[])[0], o.name);
        assert.equal(raw.readUInt32LE(0), raw.length - 4);
      }
    }
    assert.deepEqual(header.outputs.map((o) => o.name).sort(), jsonForm.outputs.map((o) => o.name).sort());
  });

  it('scores a tabular model from one binary column per feature', async () => {
    const col = (name: string, datatype: string, bytes: Buffer) => ({ name, shape: [1], datatype, bytes });
    const { body, headerLength } = tritonRequest([
      col('sepal_length_cm', 'FP64', Buffer.from(Float64Array.of(6.7).buffer)),
      col('sepal_width_cm', 'FP64', Buffer.from(Float64Array.of(3.0).buffer)),
      col('petal_length_cm', 'FP64', Buffer.from(Float64Array.of(5.2).buffer)),
      col('petal_width_cm', 'FP64', Buffer.from(Float64Array.of(2.3).buffer)),
    ]);
    const res = await post('/v2/models/iris/infer', body, {
      'Inference-Header-Content-Length': String(headerLength),
    });
    assert.equal(res.status, 200, res.body.toString());
    const { buffers } = readResult(res);
    assert.equal((buffers.get('label') as Buffer).subarray(4).toString(), 'virginica');
  });

  it('takes the SageMaker framing (json-header-size in the content type) and answers in it', async () => {
    const { body, headerLength } = imageRequest();
    const res = await post('/v2/models/dominant-color/infer', body, {
      'content-type': `application/vnd.sagemaker-triton.binary+json;json-header-size=${headerLength}`,
    });
    assert.equal(res.status, 200, res.body.toString());
    const n = Number(res.headers['inference-header-content-length']);
    assert.equal(
      res.headers['content-type'],
      `application/vnd.sagemaker-triton.binary+json;json-header-size=${n}`,
    );
    assert.ok(readResult(res).buffers.size > 0);
  });

  it('answers a binary request whose sizes do not add up with a 400 naming the input', async () => {
    const { body, headerLength } = imageRequest(Buffer.alloc(40));
    const res = await post('/v2/models/dominant-color/infer', body, {
      'Inference-Header-Content-Length': String(headerLength),
    });
    assert.equal(res.status, 400);
    const err = JSON.parse(res.body.toString()) as { error: string };
    assert.match(
      err.error,
      /inputs\[0\]\.data: binary_data_size is 40 bytes, but shape \[1, 3, 2, 2\] of FP32 needs 48/,
    );
    const bad = await post('/v2/models/dominant-color/infer', body, {
      'Inference-Header-Content-Length': '99999',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /Inference-Header-Content-Length is 99999, but the body has \d+ bytes/);
  });

  it('sends a binary request for a SageMaker-routed model through the endpoint, and answers in binary', async () => {
    const { body, headerLength } = transactionRequest();
    const res = await post('/v2/models/fraud-detector-xl/infer', body, {
      'Inference-Header-Content-Length': String(headerLength),
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['x-infera-route'], 'sagemaker');
    const { buffers } = readResult(res);
    assert.equal((buffers.get('label') as Buffer).subarray(4).toString(), 'fraud');
  });

  it('serves the SageMaker binary content type through InvokeEndpoint on the serving container', async () => {
    assert.ok(platform.sagemakerEndpoint, 'npm start runs the local SageMaker runtime');
    const client = new SageMakerRuntimeClient({
      endpoint: platform.sagemakerEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { body, headerLength } = transactionRequest();
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'infera-fraud-detector-xl-1',
        ContentType: `application/vnd.sagemaker-triton.binary+json;json-header-size=${headerLength}`,
        Body: body,
      }),
    );
    const m = /json-header-size=(\d+)$/.exec(out.ContentType ?? '');
    assert.ok(m, out.ContentType);
    const bytes = Buffer.from(out.Body as Uint8Array);
    const { buffers } = readResult({ headers: { 'inference-header-content-length': m[1] }, body: bytes });
    const score = (buffers.get('score') as Buffer).readFloatLE(0);
    assert.ok(score > 0.5 && score <= 1, `fraud score ${score}`);
    client.destroy();
  });
});
