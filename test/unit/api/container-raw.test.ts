/**
 * The serving container's /invocations takes what the API's predict route takes: an image file or
 * plain text as the body, as `aws sagemaker-runtime invoke-endpoint --content-type image/png
 * --body fileb://line.png` sends it. The real container server over the real Scorer.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { createContainerServer } from '../../../functions/container/server.ts';
import { MODELS } from '../../helpers.ts';

const servers: { url: string; close: () => void }[] = [];

async function serve(model: string): Promise<string> {
  const registry = await ModelRegistry.load(MODELS, { only: [model] });
  const scorer = new Scorer(
    registry,
    new OnnxRuntimeEngine(),
    { intraOpThreads: 1, interOpThreads: 1 },
    { serveAll: true },
  );
  await scorer.warmup();
  const server = createContainerServer({
    scorer,
    mv: registry.resolve(model),
    maxBodyBytes: 6 * 1024 * 1024,
    provider: 'cpu',
    log: () => {},
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/invocations`;
  servers.push({ url, close: () => server.close() });
  return url;
}

let image: string;
let text: string;
before(async () => {
  image = await serve('text-direction');
  text = await serve('ticket-router');
});
after(() => {
  for (const s of servers) s.close();
});

describe('the serving container takes raw image and text bodies', () => {
  it('labels a PNG and a JPEG text line posted as image/png and image/jpeg', async () => {
    for (const [file, type, label] of [
      ['street-180.png', 'image/png', '180'],
      ['invoice-0.jpg', 'image/jpeg', '0'],
    ] as const) {
      const res = await fetch(image, {
        method: 'POST',
        headers: { 'content-type': type },
        body: await readFile(join(MODELS, 'text-direction/1/fixtures', file)),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { predictions: { label: string; rotate: boolean }[] };
      assert.equal(body.predictions[0]?.label, label);
      assert.equal(body.predictions[0]?.rotate, label === '180', 'the processor ran in the container too');
    }
  });

  it('labels text/plain, still reads JSON sent as text/plain, and answers 415 for an image to a text model', async () => {
    const plain = await fetch(text, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'refund my card',
    });
    assert.equal(
      ((await plain.json()) as { predictions: { label: string }[] }).predictions[0]?.label,
      'billing',
    );
    const json = await fetch(text, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ instances: [{ text: 'I forgot my password' }] }),
    });
    assert.equal(
      ((await json.json()) as { predictions: { label: string }[] }).predictions[0]?.label,
      'account',
    );
    const wrong = await fetch(text, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' });
    assert.equal(wrong.status, 415);
  });
});
