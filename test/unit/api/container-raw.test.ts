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
import { createContainerServer } from '#container/server.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { golden, MODELS } from '../../helpers.ts';

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
let tabular: string;
before(async () => {
  image = await serve('text-direction');
  text = await serve('ticket-router');
  tabular = await serve('iris');
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

  it('reads JSON Lines, one instance a line, as its MULTI_RECORD execution parameters promise', async () => {
    const rows = (await golden('iris', '1')).instances.slice(0, 3);
    const body = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const asJson = await fetch(tabular, {
      method: 'POST',
      headers: { 'content-type': 'application/jsonlines' },
      body,
    });
    assert.equal(asJson.status, 200, await asJson.clone().text());
    const { predictions } = (await asJson.json()) as { predictions: { label: string }[] };
    assert.equal(predictions.length, 3);
    const asLines = await fetch(tabular, {
      method: 'POST',
      headers: { 'content-type': 'application/jsonlines', accept: 'application/jsonlines' },
      body,
    });
    const lines = (await asLines.text()).trim().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { label: string }).label),
      predictions.map((p) => p.label),
    );
    const bad = await fetch(tabular, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify(rows[0])}\n{"sepal_length_cm": 5,\n`,
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /^Line 2 is not valid JSON/);
  });

  it('answers an internal failure with an error id, logging the message under it and sending none of it', async () => {
    const registry = await ModelRegistry.load(MODELS, { only: ['iris'] });
    const logged: Record<string, unknown>[] = [];
    const failing = {
      ready: true,
      run: () => Promise.reject(new Error('ENOENT: /opt/ml/model/secret.bin')),
    } as unknown as Scorer;
    const server = createContainerServer({
      scorer: failing,
      mv: registry.resolve('iris'),
      maxBodyBytes: 1024 * 1024,
      provider: 'cpu',
      log: (r) => logged.push(r),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [{ sepal_length_cm: 5 }] }),
      });
      assert.equal(res.status, 500);
      const body = (await res.json()) as { error: string; errorId: string };
      assert.doesNotMatch(JSON.stringify(body), /ENOENT|secret/);
      const line = logged.find((r) => r.errorId === body.errorId);
      assert.match(String(line?.error), /ENOENT: \/opt\/ml\/model\/secret\.bin/);
    } finally {
      server.close();
    }
  });
});
