import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { BatchingModel } from '#container/microbatch.ts';
import { CircuitBreaker } from '#core/endpoint/breaker.ts';
import { splitForPayload } from '#core/endpoint/codec.ts';
import { EndpointError, EndpointFault } from '#core/endpoint/faults.ts';
import { providerOf, RemoteEndpoints } from '#core/endpoint/remote.ts';
import { type Manifest, manifestSchema } from '#core/model/manifest.ts';
import { decidePlacement, defaultEndpointName, parseRouteOverrides } from '#core/model/placement.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { EndpointCall, EndpointReply, HostTensor } from '#core/ports.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { copyModels, editJson, golden, MODELS, readJson } from '../../helpers.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1 };
const MB = 1024 * 1024;

async function manifest(edit: (m: Record<string, unknown>) => void = () => {}): Promise<Manifest> {
  const m = await readJson<Record<string, unknown>>(join(MODELS, 'fraud-detector', '2', 'model.json'));
  edit(m);
  return manifestSchema.parse(m);
}
const mv = (sizeBytes?: number) => ({ name: 'fraud-detector', version: '2', sizeBytes });

describe('Routing', () => {
  it('keeps an explicit target and says so', async () => {
    const r = decidePlacement(mv(999 * MB), await manifest());
    assert.equal(r.target, 'lambda');
    assert.match(r.reason, /manifest sets target "lambda"/);
    const s = decidePlacement(mv(1), await manifest((m) => (m.target = 'sagemaker')));
    assert.equal(s.target, 'sagemaker');
    assert.deepEqual(s.endpoint, {
      name: 'infera-fraud-detector-2',
      variant: 'AllTraffic',
      instanceType: 'ml.g5.xlarge',
      instanceCount: 1,
    });
  });

  it('sends an auto model over the size threshold to SageMaker, naming the size and the threshold', async () => {
    const auto = await manifest((m) => (m.target = 'auto'));
    const small = decidePlacement(mv(2 * MB), auto);
    assert.equal(small.target, 'lambda');
    assert.match(small.reason, /2\.0 MB, within the 200 MB threshold/);
    const big = decidePlacement(mv(300 * MB), auto);
    assert.equal(big.target, 'sagemaker');
    assert.match(big.reason, /300 MB, over the 200 MB threshold/);
    // No accelerator declared: a CPU instance, not an idle GPU.
    assert.equal(big.endpoint?.instanceType, 'ml.c6i.xlarge');
    const custom = decidePlacement(
      mv(60 * MB),
      await manifest((m) => (m.target = { type: 'auto', sizeThresholdMb: 50 })),
    );
    assert.equal(custom.target, 'sagemaker');
    const policy = decidePlacement(mv(60 * MB), auto, {
      sizeThresholdMb: 50,
      lambdaColdStartMs: 1000,
      overrides: {},
    });
    assert.equal(policy.target, 'sagemaker');
  });

  it('sends an auto model that needs an accelerator or a tight latency budget to SageMaker', async () => {
    const gpu = decidePlacement(
      mv(1),
      await manifest((m) => (m.target = { type: 'auto', accelerator: 'gpu' })),
    );
    assert.equal(gpu.target, 'sagemaker');
    assert.match(gpu.reason, /accelerator "gpu", and Lambda is CPU only/);
    assert.equal(gpu.endpoint?.instanceType, 'ml.g5.xlarge');
    const fast = decidePlacement(
      mv(1),
      await manifest((m) => (m.target = { type: 'auto', latencyBudgetMs: 200 })),
    );
    assert.equal(fast.target, 'sagemaker');
    assert.match(fast.reason, /latency budget of 200 ms is below a Lambda cold start \(1000 ms/);
    const relaxed = decidePlacement(
      mv(1),
      await manifest((m) => (m.target = { type: 'auto', latencyBudgetMs: 5000 })),
    );
    assert.equal(relaxed.target, 'lambda');
  });

  it('lets ROUTE_OVERRIDES win, keeping the reason it overrode', async () => {
    const { overrides, problems } = parseRouteOverrides('fraud-detector@2=sagemaker, iris=lambda');
    assert.deepEqual(problems, []);
    const r = decidePlacement(mv(1), await manifest(), {
      sizeThresholdMb: 200,
      lambdaColdStartMs: 1000,
      overrides,
    });
    assert.equal(r.target, 'sagemaker');
    assert.equal(r.overridden, true);
    assert.match(r.reason, /ROUTE_OVERRIDES sets "sagemaker" \(without it: lambda, because the manifest/);
    assert.match(
      parseRouteOverrides('iris=kubernetes').problems[0] ?? '',
      /"iris=kubernetes" is not name\[@version\]=lambda\|sagemaker/,
    );
  });

  it('gives a serverless target a serverless endpoint with no instance type, on the CPU', async () => {
    const r = decidePlacement(
      mv(1),
      await manifest((m) => (m.target = { type: 'sagemaker', serverless: { memoryMb: 4096 } })),
    );
    assert.equal(r.target, 'sagemaker');
    assert.deepEqual(r.endpoint, {
      name: 'infera-fraud-detector-2',
      variant: 'AllTraffic',
      serverless: { memoryMb: 4096, maxConcurrency: 5 },
    });
  });

  it('derives SageMaker-safe endpoint names', () => {
    assert.equal(defaultEndpointName('fraud_detector.v2', '12'), 'infera-fraud-detector-v2-12');
  });

  it('loads a SageMaker model without model.onnx, and checks fallbacks and Inferentia when loading', async () => {
    const root = await copyModels();
    await rm(join(root, 'fraud-detector-xl', '1', 'model.onnx'));
    const reg = await ModelRegistry.load(root);
    assert.equal(reg.resolve('fraud-detector-xl').sizeBytes, undefined);
    assert.equal(reg.resolve('fraud-detector-xl').placement.fallback?.model, 'fraud-detector');

    await editJson(join(root, 'fraud-detector-xl', '1', 'model.json'), (m) => {
      m.fallback = 'iris';
      m.target = { type: 'sagemaker', instanceType: 'ml.inf2.xlarge' };
    });
    await assert.rejects(ModelRegistry.load(root), (e: Error & { details: string[] }) => {
      assert.ok(
        e.details.some((d) =>
          /Inferentia or Trainium, which runs Neuron-compiled models, not ONNX; set target.image/.test(d),
        ),
        e.message,
      );
      return true;
    });
    await editJson(join(root, 'fraud-detector-xl', '1', 'model.json'), (m) => {
      m.target = { type: 'sagemaker', instanceType: 'ml.g5.xlarge' };
    });
    await assert.rejects(ModelRegistry.load(root), /fallback iris@1 takes different inputs/);
    await assert.rejects(
      ModelRegistry.load(root, { only: ['fraud-detector-xl'] }),
      /names "iris", which this function does not load; add it to MODEL_NAMES/,
    );
  });
});

describe('what a SageMaker target asks of its hardware', () => {
  const load = async (target: Record<string, unknown>) => {
    const root = await copyModels();
    await editJson(join(root, 'fraud-detector-xl', '1', 'model.json'), (m) => {
      m.target = target;
    });
    try {
      await ModelRegistry.load(root, { only: ['fraud-detector-xl', 'fraud-detector'] });
      return [] as string[];
    } catch (e) {
      return (e as { details?: string[] }).details ?? [(e as Error).message];
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
  const NEURON_IMAGE =
    '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-neuronx:2.8.0-neuronx-py311-sdk2.26.1-ubuntu22.04';

  it('takes a Neuron image with its compiled model.tar.gz on Inferentia and Trainium', async () => {
    for (const instanceType of ['ml.inf2.xlarge', 'ml.trn1.2xlarge']) {
      assert.deepEqual(
        await load({
          type: 'sagemaker',
          instanceType,
          image: NEURON_IMAGE,
          modelDataUrl: 's3://my-models/fraud/neuron/model.tar.gz',
        }),
        [],
      );
    }
  });

  it('refuses ONNX on Trainium, a Neuron image without its artifact, and an accelerator the instance lacks', async () => {
    const [onnx] = await load({ type: 'sagemaker', instanceType: 'ml.trn1.2xlarge' });
    assert.match(
      onnx ?? '',
      /Inferentia or Trainium, which runs Neuron-compiled models, not ONNX; set target.image/,
    );
    const [noArtifact] = await load({
      type: 'sagemaker',
      instanceType: 'ml.inf2.xlarge',
      image: NEURON_IMAGE,
    });
    assert.match(
      noArtifact ?? '',
      /set target.modelDataUrl to the s3:\/\/…\/model.tar.gz your Neuron compile produced/,
    );
    const [cpuGpu] = await load({ type: 'sagemaker', instanceType: 'ml.c6i.xlarge', accelerator: 'gpu' });
    assert.match(
      cpuGpu ?? '',
      /target.accelerator "gpu" asks for an NVIDIA GPU, but target.instanceType ml.c6i.xlarge has none/,
    );
  });

  it('refuses an image outside Amazon ECR and model data that is not one .tar.gz, citing the AWS rule', async () => {
    const image = await load({
      type: 'sagemaker',
      instanceType: 'ml.inf2.xlarge',
      image: 'pytorch/pytorch:latest',
      modelDataUrl: 's3://b/model.tar.gz',
    });
    assert.ok(
      image.some((d) => /target.image.*Amazon ECR image URI.*sagemaker-image-registry/.test(d)),
      image.join('\n'),
    );
    const data = await load({
      type: 'sagemaker',
      instanceType: 'ml.inf2.xlarge',
      image: NEURON_IMAGE,
      modelDataUrl: 's3://b/compiled/',
    });
    assert.ok(
      data.some((d) => /target.modelDataUrl.*\.tar\.gz.*sagemaker-model-data/.test(d)),
      data.join('\n'),
    );
  });
});

describe('CircuitBreaker', () => {
  it('opens after the threshold, fails fast, lets one probe through after the cooldown, and closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) b.failure(false);
    assert.equal(b.state, 'closed');
    b.failure(false);
    assert.equal(b.state, 'open');
    const shut = b.acquire();
    assert.equal(shut.ok, false);
    assert.equal(!shut.ok && shut.retryAfterMs, 1000);
    now = 1000;
    assert.equal(b.state, 'half-open');
    assert.deepEqual(b.acquire(), { ok: true, probe: true });
    assert.equal(b.acquire().ok, false, 'only one probe at a time');
    b.failure(true);
    assert.equal(b.state, 'open', 'a failed probe reopens the circuit');
    now = 2000;
    assert.deepEqual(b.acquire(), { ok: true, probe: true });
    b.success();
    assert.equal(b.state, 'closed');
    assert.deepEqual(b.acquire(), { ok: true, probe: false });
  });
});

/** A scripted endpoint: each call takes the next step (a reply or a fault). */
function scripted(steps: (EndpointReply | EndpointFault)[]) {
  const calls: EndpointCall[] = [];
  return {
    calls,
    invoker: {
      async invoke(call: EndpointCall): Promise<EndpointReply> {
        calls.push(call);
        const step = steps.shift() ?? new EndpointFault('unavailable', 'script ran out');
        if (step instanceof EndpointFault) throw step;
        return step;
      },
    },
  };
}
const ENDPOINT = {
  name: 'infera-x-1',
  variant: 'AllTraffic',
  instanceType: 'ml.g5.xlarge',
  instanceCount: 1,
};
const policy = {
  timeoutMs: 2000,
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 5,
  breaker: { failureThreshold: 5, cooldownMs: 30_000 },
};
const ok: EndpointReply = { body: '"fine"' };
const call = (r: RemoteEndpoints) =>
  r.invoke(ENDPOINT, {
    body: '{}',
    contentType: 'application/json',
    accept: 'application/json',
    parse: (x) => JSON.parse(x.body) as unknown,
  });

describe('RemoteEndpoints', () => {
  it('retries an unavailable endpoint with backoff and answers when it comes back', async () => {
    const s = scripted([
      new EndpointFault('unavailable', 'ServiceUnavailable'),
      new EndpointFault('network', 'ECONNREFUSED'),
      ok,
    ]);
    const r = await call(new RemoteEndpoints(s.invoker, policy));
    assert.equal(r.value, 'fine');
    assert.equal(r.attempts, 3);
    assert.ok(
      s.calls.every((c) => c.timeoutMs > 0 && c.timeoutMs <= 2000),
      'each attempt is bounded by the budget',
    );
  });

  for (const [what, faults, status, code, retryAfter] of [
    [
      'unavailable after every attempt',
      ['unavailable', 'unavailable', 'unavailable'],
      503,
      'endpoint_unavailable',
      '30',
    ],
    ['throttled', ['throttled', 'throttled', 'throttled'], 429, 'throttled', '1'],
    [
      'a container answering 429',
      [
        ['model', 429],
        ['model', 429],
        ['model', 429],
      ],
      429,
      'throttled',
      '1',
    ],
    ['a socket timeout (not retried)', ['timeout'], 504, 'endpoint_timeout', undefined],
    ['a ModelError (container 500, not retried)', [['model', 500]], 502, 'model_error', undefined],
    ['a ModelError (container 400)', [['model', 400]], 400, 'model_rejected_input', undefined],
    ['a ValidationError', ['invalid'], 400, 'invalid_request', undefined],
    ['a missing endpoint', ['missing'], 502, 'endpoint_not_found', undefined],
  ] as const) {
    it(`maps ${what} to ${status} ${code}`, async () => {
      const steps = faults.map((f) =>
        typeof f === 'string'
          ? new EndpointFault(f, `fault ${f}`)
          : new EndpointFault(f[0], 'container says no', { originalStatus: f[1] }),
      );
      const s = scripted(steps);
      await assert.rejects(call(new RemoteEndpoints(s.invoker, policy)), (e: unknown) => {
        assert.ok(e instanceof EndpointError);
        assert.equal(e.status, status);
        assert.equal(e.code, code);
        assert.equal(e.headers['retry-after'], retryAfter);
        assert.equal(s.calls.length, faults.length, 'attempts');
        return true;
      });
    });
  }

  it('maps a reply it cannot read to 502 bad_endpoint_response', async () => {
    const s = scripted([{ body: '{"predictions": [tru' }]);
    await assert.rejects(call(new RemoteEndpoints(s.invoker, policy)), {
      status: 502,
      code: 'bad_endpoint_response',
    });
  });

  it('opens the circuit after repeated failures, then fails fast without calling the endpoint', async () => {
    const s = scripted(Array.from({ length: 6 }, () => new EndpointFault('unavailable', 'down')));
    const r = new RemoteEndpoints(s.invoker, {
      ...policy,
      breaker: { failureThreshold: 5, cooldownMs: 30_000 },
    });
    await assert.rejects(call(r), { status: 503 });
    await assert.rejects(call(r), { status: 503, code: 'endpoint_unavailable' });
    const before = s.calls.length;
    await assert.rejects(call(r), (e: unknown) => {
      assert.ok(e instanceof EndpointError && e.kind === 'circuit-open');
      assert.match(e.message, /circuit is open after 5 consecutive failures/);
      assert.equal(e.headers['retry-after'], '30');
      return true;
    });
    assert.equal(s.calls.length, before, 'no call while open');
  });
});

describe('splitForPayload', () => {
  it('splits instances under the row and byte limits, keeping their order', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ i, pad: 'x'.repeat(50) }));
    const parts = splitForPayload(items, 10, 400);
    const back = parts.flatMap((p) =>
      (JSON.parse(p.body) as { instances: { i: number }[] }).instances.map((x) => x.i),
    );
    assert.deepEqual(
      back,
      items.map((x) => x.i),
    );
    assert.ok(parts.every((p) => Buffer.byteLength(p.body) <= 400 && p.count <= 10));
    assert.throws(() => splitForPayload([{ pad: 'x'.repeat(500) }], 10, 400), { status: 413 });
  });
});

describe('BatchingModel', () => {
  it('coalesces concurrent runs into fewer session runs and hands every caller its own rows', async () => {
    const reg = await ModelRegistry.load(MODELS, { only: ['fraud-detector-xl', 'fraud-detector'] });
    const xl = reg.resolve('fraud-detector-xl');
    const plain = new Scorer(reg, new OnnxRuntimeEngine(), threads, { serveAll: true });
    let batching: BatchingModel | undefined;
    const batched = new Scorer(reg, new OnnxRuntimeEngine(), threads, {
      serveAll: true,
      wrap: (m) => {
        batching = new BatchingModel(m, { maxBatchRows: 64, maxDelayMs: 5 });
        return batching;
      },
    });
    const g = await golden('fraud-detector-xl', '1');
    const requests = Array.from({ length: 24 }, (_, i) => [
      g.instances[i % g.instances.length] as Record<string, unknown>,
    ]);
    requests[5] = [{ ...requests[5]?.[0], amount: -3 }]; // invalid: never joins a batch
    requests[9] = [...(requests[9] ?? []), ...(requests[10] ?? [])]; // two rows in one call
    const expected = await Promise.all(
      requests.map((r, i) => (i === 5 ? Promise.resolve(undefined) : plain.predict(xl, r))),
    );
    const got = await Promise.allSettled(requests.map((r) => batched.predict(xl, r)));
    got.forEach((res, i) => {
      if (i === 5) {
        assert.equal(res.status, 'rejected');
        assert.match(String((res as PromiseRejectedResult).reason), /instances\[0\]\.amount: must be >= 0/);
        return;
      }
      assert.equal(res.status, 'fulfilled', `request ${i}`);
      const preds = (res as PromiseFulfilledResult<{ score?: number }[]>).value;
      assert.equal(preds.length, expected[i]?.length);
      preds.forEach((p, k) => {
        assert.ok(
          Math.abs((p.score as number) - (expected[i]?.[k]?.score as number)) < 1e-5,
          `request ${i} row ${k}`,
        );
      });
    });
    const stats = batching?.stats;
    assert.ok(stats && stats.runs < stats.calls, `runs ${stats?.runs} < calls ${stats?.calls}`);
    assert.ok((stats?.largestBatch ?? 0) > 1);
  });

  it('splits a failing batched run so each caller gets its own result or error', async () => {
    let runs = 0;
    const inner = {
      inputs: [],
      outputs: [],
      release: async () => {},
      async run(feeds: Readonly<Record<string, HostTensor>>) {
        runs++;
        const x = feeds.x as HostTensor;
        const data = x.data as Float32Array;
        if (data.some((v) => v < 0)) throw new Error('negative input');
        return { y: { type: 'float32' as const, data: data.map((v) => v * 2), dims: x.dims } };
      },
    };
    const model = new BatchingModel(inner, { maxBatchRows: 16, maxDelayMs: 5 });
    const feed = (v: number) => ({ x: { type: 'float32' as const, data: Float32Array.of(v), dims: [1, 1] } });
    const results = await Promise.allSettled([1, -1, 3].map((v) => model.run(feed(v))));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? Array.from(r.value.y?.data as Float32Array) : 'error')),
      [[2], 'error', [6]],
    );
    assert.equal(model.stats.splits, 1);
    assert.equal(runs, 4, 'the first alone (the engine was free), the other two batched, then one run each');
  });

  /** A model that doubles its input and counts its runs and the rows of each. */
  const doubling = () => {
    const batches: number[] = [];
    const inner = {
      inputs: [],
      outputs: [],
      release: async () => {},
      async run(feeds: Readonly<Record<string, HostTensor>>) {
        const x = feeds.x as HostTensor;
        batches.push(x.dims[0] as number);
        await new Promise((r) => setImmediate(r));
        return {
          y: { type: 'float32' as const, data: (x.data as Float32Array).map((v) => v * 2), dims: x.dims },
        };
      },
    };
    return { inner, batches };
  };
  const feed = (v: number) => ({ x: { type: 'float32' as const, data: Float32Array.of(v), dims: [1, 1] } });

  it('runs a lone caller at once instead of waiting for company that is not coming', {
    timeout: 10_000,
  }, async () => {
    const { inner, batches } = doubling();
    // A minute's wait would time this test out: one caller at a time must never wait.
    const model = new BatchingModel(inner, { maxBatchRows: 64, maxDelayMs: 60_000 });
    for (let i = 1; i <= 20; i++) {
      const out = await model.run(feed(i));
      assert.deepEqual(Array.from(out.y?.data as Float32Array), [2 * i]);
    }
    assert.deepEqual(batches, Array(20).fill(1));
  });

  it('waits for company once calls arrive together, and batches them', { timeout: 10_000 }, async () => {
    const { inner, batches } = doubling();
    const model = new BatchingModel(inner, { maxBatchRows: 64, maxDelayMs: 20 });
    // Waves of 16 concurrent callers: after the first wave, arrivals have company, and each wave
    // that finds the engine free waits (at most 20 ms) to be run together.
    for (let wave = 0; wave < 5; wave++) {
      const outs = await Promise.all(Array.from({ length: 16 }, (_, i) => model.run(feed(i))));
      for (const [i, o] of outs.entries()) assert.deepEqual(Array.from(o.y?.data as Float32Array), [2 * i]);
    }
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      80,
    );
    assert.ok(batches.length <= 10, `80 calls in ${batches.length} runs: ${batches.join(', ')}`);
    assert.ok(
      batches.slice(-4).every((b) => b === 16),
      `later waves run as one batch: ${batches.join(', ')}`,
    );
  });
});

describe("an endpoint's custom attributes", () => {
  it('reads the execution provider an infera container reports, and ignores anything else', () => {
    assert.equal(providerOf('infera-provider=cuda'), 'cuda');
    assert.equal(providerOf('trace=abc; infera-provider=cpu'), 'cpu');
    assert.equal(providerOf(undefined), undefined);
    assert.equal(providerOf('infera-provider=<script>'), undefined);
    assert.equal(providerOf('other=cuda'), undefined);
  });
});
