/**
 * A SageMaker Serverless endpoint takes 4 MB a request, an instance endpoint 6 MB (AWS rules
 * sagemaker-serverless-payload and sagemaker-realtime-payload): v1 inputs are split under the
 * endpoint's own limit, and a v2 request over it is a 413 that names it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { RemoteEndpoints } from '#core/endpoint/remote.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { EndpointCall, EndpointReply } from '#core/ports.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { copyModels, editJson, golden } from '../../../helpers.ts';

const MB = 1024 * 1024;
const policy = {
  timeoutMs: 5000,
  maxAttempts: 1,
  baseDelayMs: 1,
  maxDelayMs: 1,
  breaker: { failureThreshold: 5, cooldownMs: 1000 },
};

/** An endpoint that answers every instance and records the size of each call. */
function recording() {
  const sizes: number[] = [];
  return {
    sizes,
    invoker: {
      async invoke(call: EndpointCall): Promise<EndpointReply> {
        sizes.push(Buffer.byteLength(call.body));
        const n = (JSON.parse(call.body) as { instances: unknown[] }).instances.length;
        const p = { label: 'legit', score: 0.9, probabilities: { legit: 0.9, fraud: 0.1 } };
        return { body: JSON.stringify({ predictions: Array.from({ length: n }, () => p) }) };
      },
    },
  };
}

async function scorerFor(target: Record<string, unknown>) {
  const models = await copyModels();
  await editJson(join(models, 'fraud-detector-xl', '1', 'model.json'), (m) => {
    m.target = target;
  });
  const registry = await ModelRegistry.load(models, { only: ['fraud-detector-xl', 'fraud-detector'] });
  const endpoint = recording();
  const scorer = new Scorer(
    registry,
    new OnnxRuntimeEngine(),
    { intraOpThreads: 1, interOpThreads: 1 },
    {
      remote: new RemoteEndpoints(endpoint.invoker, policy),
      remoteMaxRows: 1_000_000,
    },
  );
  return { scorer, mv: registry.resolve('fraud-detector-xl', '1'), sizes: endpoint.sizes };
}

/** About 5 MB of real rows as JSON: over a serverless endpoint's 4 MB, under an instance's 6. */
async function fiveMegabytes(): Promise<unknown[]> {
  const rows = (await golden('fraud-detector-xl', '1')).instances;
  const each = Buffer.byteLength(JSON.stringify(rows)) / rows.length;
  return Array.from({ length: Math.ceil((5 * MB) / each) }, (_, i) => rows[i % rows.length]);
}

describe("each endpoint's own payload limit", () => {
  it('splits a 5 MB input for a serverless endpoint into calls of at most 4 MB', async () => {
    const { scorer, mv, sizes } = await scorerFor({
      type: 'sagemaker',
      serverless: { memoryMb: 2048, maxConcurrency: 5 },
    });
    const instances = await fiveMegabytes();
    const r = await scorer.run(
      mv,
      { protocol: 'v1', instances: instances },
      { allowFallback: false, maxRows: 1_000_000 },
    );
    assert.equal(r.predictions.length, instances.length);
    assert.ok(sizes.length >= 2, `${sizes.length} calls`);
    for (const s of sizes) assert.ok(s <= 4 * MB, `a call of ${s} bytes`);
  });

  it('sends the same input to an instance endpoint in one call under 6 MB', async () => {
    const { scorer, mv, sizes } = await scorerFor({ type: 'sagemaker', instanceType: 'ml.c6i.xlarge' });
    await scorer.run(
      mv,
      { protocol: 'v1', instances: await fiveMegabytes() },
      { allowFallback: false, maxRows: 1_000_000 },
    );
    assert.equal(sizes.length, 1);
    assert.ok((sizes[0] ?? 0) > 4 * MB && (sizes[0] ?? 0) <= 6 * MB);
  });

  it('refuses a 5 MB v2 request to a serverless endpoint with 413, naming its 4 MB limit', async () => {
    const { scorer, mv, sizes } = await scorerFor({
      type: 'sagemaker',
      serverless: { memoryMb: 2048, maxConcurrency: 5 },
    });
    const features = mv.manifest.inputs.kind === 'tabular' ? mv.manifest.inputs.features : [];
    const datatype = { number: 'FP64', integer: 'INT64', categorical: 'BYTES', boolean: 'BOOL' } as const;
    const columns = (rows: unknown[]) => ({
      inputs: features.map((f) => ({
        name: f.name,
        shape: [rows.length],
        datatype: datatype[f.type as keyof typeof datatype],
        data: rows.map((r) => (r as Record<string, unknown>)[f.name]),
      })),
    });
    // Columns take fewer bytes than rows: grow the rows until the v2 body is about 5 MB.
    const five = await fiveMegabytes();
    let rows = five;
    while (Buffer.byteLength(JSON.stringify(columns(rows))) < 5 * MB) rows = [...rows, ...five];
    const request = columns(rows);
    assert.ok(Buffer.byteLength(JSON.stringify(request)) > 4 * MB);
    await assert.rejects(
      scorer.run(
        mv,
        { protocol: 'v2', request: request as never },
        { allowFallback: false, maxRows: 1_000_000 },
      ),
      (e: Error & { status?: number }) => {
        assert.equal(e.status, 413, `${e.message} ${String((e as { cause?: unknown }).cause)}`);
        assert.match(
          e.message,
          /SageMaker Serverless endpoint, whose synchronous limit is 4194304 bytes \(AWS rule sagemaker-serverless-payload\)/,
        );
        return true;
      },
    );
    assert.equal(sizes.length, 0, 'no call was made');
  });
});
