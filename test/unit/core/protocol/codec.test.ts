import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { splitForPayload } from '#core/endpoint/codec.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { decode, encode } from '#core/protocol/codec.ts';
import { MODELS } from '../../../helpers.ts';

const registry = await ModelRegistry.load(MODELS, { only: ['text-direction', 'iris'] });

describe('the codec', () => {
  it('keeps a raw image body as its bytes, the same buffer, until the decoder', async () => {
    const png = await readFile(join(MODELS, 'text-direction/1/fixtures/street-0.png'));
    const mv = registry.resolve('text-direction');
    const request = decode({ protocol: 'v1', raw: { contentType: 'image/png', bytes: png } }, mv.manifest);
    assert.equal(request.protocol, 'v1');
    const [instance] = request.protocol === 'v1' ? request.instances : [];
    assert.equal((instance as Record<string, unknown>).x, png);
  });

  it('writes file bytes as {"b64"} on a JSON hop, as a JSON client would send them', async () => {
    const png = await readFile(join(MODELS, 'text-direction/1/fixtures/street-0.png'));
    const [part] = splitForPayload([{ x: png }], 10, 10_000_000);
    assert.deepEqual(JSON.parse(part?.body ?? ''), { instances: [{ x: { b64: png.toString('base64') } }] });
  });

  it('refuses binary_data_size without binary framing, naming the input and the header to send', () => {
    const mv = registry.resolve('iris');
    assert.throws(
      () =>
        decode(
          {
            protocol: 'v2',
            body: {
              inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }],
            },
          },
          mv.manifest,
        ),
      /inputs\[0\] declares parameters\.binary_data_size, but the request has no Inference-Header-Content-Length header/,
    );
  });

  it('answers v2 outputs asked for as binary as bytes after the JSON header, and the rest as JSON', () => {
    const mv = registry.resolve('iris');
    const request = {
      protocol: 'v2' as const,
      request: {
        inputs: [],
        outputs: [{ name: 'score', parameters: { binary_data: true } }, { name: 'label' }],
      },
    };
    const response = {
      model_name: 'iris',
      model_version: '1',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'score', datatype: 'FP32', shape: [1], data: [0.5] },
      ],
    };
    const encoded = encode(mv, request, { predictions: [], response });
    assert.equal(encoded.kind, 'binary');
    if (encoded.kind !== 'binary') return;
    assert.deepEqual([...Buffer.concat(encoded.chunks)], [...Buffer.from(new Float32Array([0.5]).buffer)]);
    assert.deepEqual(encoded.header, {
      model_name: 'iris',
      model_version: '1',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'score', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
      ],
    });
  });
});
