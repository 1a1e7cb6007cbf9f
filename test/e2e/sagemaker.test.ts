import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { SageMakerInvoker, sagemakerClient } from '#adapters/sagemaker.ts';
import { EndpointError } from '#core/endpoint/faults.ts';
import { RemoteEndpoints } from '#core/endpoint/remote.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import {
  type LocalContainer,
  type LocalSageMaker,
  startLocalSageMaker,
} from '../../infra/local/sagemaker.ts';
import { makeBatchFile } from '../../scripts/make-batch-file.ts';
import {
  cli,
  copyModels,
  editJson,
  golden,
  MODELS,
  type RunningPlatform,
  startPlatform,
  toV2Columns,
} from '../helpers.ts';

const threads = { intraOpThreads: 1, interOpThreads: 1 };

/**
 * The production client path (Scorer -> RemoteEndpoints -> @aws-sdk/client-sagemaker-runtime)
 * against the real serving-container process behind the local SageMaker runtime, made to fail
 * in each way the issue lists.
 */
describe('SageMaker route against the real serving container', () => {
  let sm: LocalSageMaker;
  let container: LocalContainer;
  let registry: ModelRegistry;
  const g = golden('fraud-detector-xl', '1');

  before(async () => {
    // What npm start and a Lambda environment provide: a region and (here, dummy) credentials.
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    sm = await startLocalSageMaker({ port: 0, restartDelayMs: 60_000 });
    registry = await ModelRegistry.load(MODELS);
    const mv = registry.resolve('fraud-detector-xl');
    container = sm.add({
      name: mv.placement.endpoint?.name as string,
      variant: 'AllTraffic',
      modelDir: mv.dir,
    });
    await container.ready();
  });
  after(() => sm.close());

  const scorer = (opts: { timeoutMs?: number; failures?: number; cooldownMs?: number } = {}) => {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const remote = new RemoteEndpoints(
      new SageMakerInvoker(sagemakerClient({ endpoint: sm.url, timeoutMs })),
      {
        timeoutMs,
        maxAttempts: 3,
        baseDelayMs: 20,
        maxDelayMs: 100,
        breaker: { failureThreshold: opts.failures ?? 100, cooldownMs: opts.cooldownMs ?? 60_000 },
      },
    );
    return new Scorer(registry, new OnnxRuntimeEngine(), threads, { remote });
  };

  it('answers a malformed percent-escape in the endpoint name with a 400 and keeps serving', async () => {
    const bad = await fetch(`${sm.url}/endpoints/%E0%A4%A/invocations`, { method: 'POST', body: 'x' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not valid percent-encoding/);
    const endpoint = registry.resolve('fraud-detector-xl').placement.endpoint?.name as string;
    const ok = await fetch(`${sm.url}/endpoints/${endpoint}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: (await g).instances.slice(0, 1) }),
    });
    assert.equal(ok.status, 200, 'the runtime is still up');
  });

  it('scores v1 and v2 through InvokeEndpoint and matches the golden outputs', async () => {
    const { instances, expected, tolerance } = await g;
    const s = scorer();
    const mv = registry.resolve('fraud-detector-xl');
    const r = await s.run(mv, { protocol: 'v1', instances: instances });
    assert.equal(r.served.target, 'sagemaker');
    r.predictions.forEach((p, i) => {
      assert.equal(p.label, expected[i]?.label);
      assert.ok(Math.abs((p.score as number) - (expected[i]?.score as number)) <= tolerance);
    });
    const v2 = await s.run(mv, {
      protocol: 'v2',
      request: toV2Columns(instances[0] as Record<string, unknown>) as never,
    });
    assert.equal(v2.served.target, 'sagemaker');
    const score = v2.response?.outputs.find((o) => o.name === 'score')?.data?.[0] as number;
    assert.ok(Math.abs(score - (expected[0]?.score as number)) <= tolerance);
  });

  it('rejects bad input with a 400 naming the field before calling the endpoint', async () => {
    const { instances } = await g;
    await assert.rejects(
      scorer().predict(registry.resolve('fraud-detector-xl'), [{ ...instances[0], hour: 99 }]),
      { status: 400, message: /instances\[0\]\.hour: must be <= 23/ },
    );
  });

  it('passes the container rejecting a body on as a 400 with its message', async () => {
    const invoker = new SageMakerInvoker(sagemakerClient({ endpoint: sm.url, timeoutMs: 5000 }));
    const remote = new RemoteEndpoints(invoker);
    const endpoint = registry.resolve('fraud-detector-xl').placement.endpoint as never;
    await assert.rejects(
      remote.invoke(endpoint, {
        body: '{"instances":[{"amount":"lots"}]}',
        contentType: 'application/json',
        accept: 'application/json',
        parse: (r) => r.body,
      }),
      {
        status: 400,
        code: 'model_rejected_input',
        message: /rejected the input \(status 400\).*amount: expected number/,
      },
    );
  });

  for (const [what, fault, status, code, extra] of [
    [
      'answers 5xx',
      '500',
      502,
      'model_error',
      /failed with status 500; its message is in this function's log/,
    ],
    ['throttles', '429', 429, 'throttled', /busy/],
    ['returns a malformed body', 'malformed', 502, 'bad_endpoint_response', /cannot read/],
  ] as const) {
    it(`maps a container that ${what} to ${status} ${code}`, async () => {
      await container.reconfigure({ INFERA_FAULT: fault });
      try {
        const { instances } = await g;
        await assert.rejects(
          scorer().predict(registry.resolve('fraud-detector-xl'), instances),
          (e: unknown) => {
            assert.ok(e instanceof EndpointError, String(e));
            assert.equal(e.status, status);
            assert.equal(e.code, code);
            assert.match(e.message, extra);
            if (code === 'model_error') {
              // The container's words stay in the log (the cause); the caller gets none of them.
              assert.doesNotMatch(e.message, /injected fault/);
              assert.match((e.cause as Error).message, /injected fault/);
            }
            if (status === 429) assert.equal(e.headers['retry-after'], '1');
            return true;
          },
        );
      } finally {
        await container.reconfigure({ INFERA_FAULT: undefined });
      }
    });
  }

  it('gives up on a slow container within the time budget with a 504', async () => {
    await container.reconfigure({ INFERA_FAULT: 'slow:5000' });
    try {
      const started = Date.now();
      await assert.rejects(
        scorer({ timeoutMs: 600 }).predict(registry.resolve('fraud-detector-xl'), (await g).instances),
        (e: Error & { status?: number; code?: string }) => {
          assert.equal(e.status, 504);
          assert.equal(e.code, 'endpoint_timeout');
          // The message says what happened: the attempts and the time they took, then the budget.
          assert.match(e.message, /timed out: \d+ attempts? in \d+ ms, of a 600 ms budget/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 3000, 'answers within the budget, not the container time');
    } finally {
      await container.reconfigure({ INFERA_FAULT: undefined });
    }
  });

  it('answers the first request after the container dies from the fallback, opens the circuit, and recovers', async () => {
    const { instances } = await g;
    const s = scorer({ timeoutMs: 2000, failures: 3, cooldownMs: 300 });
    const mv = registry.resolve('fraud-detector-xl');
    container.kill();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const first = await s.run(mv, { protocol: 'v1', instances: instances });
    assert.equal(first.served.target, 'fallback', 'the fallback answers the very first request');
    assert.match(first.served.target === 'fallback' ? first.served.reason : '', /after 3 attempts/);
    assert.equal(first.predictions.length, instances.length);
    assert.ok(Date.now() - started < 2000, 'within the budget');
    // Batch takes no fallback: it waits for the endpoint (503, Retry-After) instead.
    await assert.rejects(s.predict(mv, instances, { allowFallback: false }), (e: unknown) => {
      assert.ok(e instanceof EndpointError);
      assert.equal(e.status, 503);
      assert.ok(Number(e.headers['retry-after']) >= 1);
      return true;
    });
    // The circuit is open now: the model is not ready, though its fallback answers, and says so;
    // nor is the server, which names it.
    await s.warmup();
    const reason =
      "endpoint infera-fraud-detector-xl-1's circuit is open; fraud-detector answers its predictions in its place";
    assert.deepEqual(s.readiness(mv), { ready: false, reason });
    assert.deepEqual(s.serverReadiness(), {
      ready: false,
      models: [{ name: 'fraud-detector-xl', version: '1', ready: false, reason }],
    });
    const fb = await s.run(mv, { protocol: 'v1', instances: instances });
    assert.equal(fb.served.target, 'fallback');
    assert.equal(fb.served.target === 'fallback' && fb.served.model, 'fraud-detector');
    assert.equal(fb.predictions.length, instances.length);
    // Without a fallback allowed (batch), it fails fast instead.
    await assert.rejects(s.predict(mv, instances, { allowFallback: false }), {
      status: 503,
      code: 'endpoint_unavailable',
    });
    // The instance comes back; after the cooldown a probe closes the circuit.
    container.start();
    await container.ready();
    await new Promise((r) => setTimeout(r, 350));
    const back = await s.run(mv, { protocol: 'v1', instances: instances });
    assert.equal(back.served.target, 'sagemaker');
    assert.equal(s.remote?.breaker(mv.placement.endpoint as never).state, 'closed');
    assert.deepEqual(s.readiness(mv), { ready: true });
    assert.deepEqual(s.serverReadiness(), { ready: true, models: [] });
  });

  it('reports a model not ready while its circuit is open and no fallback answers, and ready again after', async () => {
    const { instances } = await g;
    const root = await copyModels();
    await editJson(join(root, 'fraud-detector-xl', '1', 'model.json'), (m) => {
      delete m.fallback;
    });
    const reg = await ModelRegistry.load(root, { only: ['fraud-detector-xl'] });
    const remote = new RemoteEndpoints(
      new SageMakerInvoker(sagemakerClient({ endpoint: sm.url, timeoutMs: 2000 })),
      {
        timeoutMs: 2000,
        maxAttempts: 1,
        baseDelayMs: 20,
        maxDelayMs: 100,
        breaker: { failureThreshold: 2, cooldownMs: 300 },
      },
    );
    const s = new Scorer(reg, new OnnxRuntimeEngine(), threads, { remote });
    await s.warmup();
    const mv = reg.resolve('fraud-detector-xl');
    assert.deepEqual(s.readiness(mv), { ready: true });
    container.kill();
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2; i++) await assert.rejects(s.predict(mv, instances));
    assert.deepEqual(s.readiness(mv), {
      ready: false,
      reason: "endpoint infera-fraud-detector-xl-1's circuit is open and no fallback is configured",
    });
    container.start();
    await container.ready();
    await new Promise((r) => setTimeout(r, 350));
    await s.predict(mv, instances);
    assert.deepEqual(s.readiness(mv), { ready: true });
  });

  it('micro-batches concurrent invocations and returns each caller its own result, even with an invalid one among them', async () => {
    const { instances } = await g;
    const url = `http://127.0.0.1:${container.port}`;
    const one = async (body: unknown) => {
      const r = await fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: r.status,
        json: (await r.json()) as { predictions?: { score: number }[]; error?: string },
      };
    };
    const alone = await Promise.all(instances.map((x) => one({ instances: [x] })));
    const before = (await (await fetch(`${url}/stats`)).json()) as {
      microbatch: { runs: number; calls: number };
    };
    const bodies = Array.from({ length: 32 }, (_, i) =>
      i === 7
        ? { instances: [{ ...instances[0], merchant_category: 'casino' }] }
        : { instances: [instances[i % instances.length]] },
    );
    const all = await Promise.all(bodies.map(one));
    all.forEach((r, i) => {
      if (i === 7) {
        assert.equal(r.status, 400);
        assert.match(r.json.error ?? '', /merchant_category/);
        return;
      }
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const want = alone[i % instances.length]?.json.predictions?.[0]?.score as number;
      assert.ok(Math.abs((r.json.predictions?.[0]?.score as number) - want) < 1e-5, `caller ${i}`);
    });
    const stats = (await (await fetch(`${url}/stats`)).json()) as {
      microbatch: { runs: number; calls: number };
    };
    const runs = stats.microbatch.runs - before.microbatch.runs;
    const calls = stats.microbatch.calls - before.microbatch.calls;
    assert.equal(calls, 31, 'the invalid request never reached the model');
    assert.ok(runs < calls, `coalesced: ${runs} session runs for ${calls} requests`);
  });

  it('serves the SageMaker hosting contract: /ping, CSV in and out, 404 elsewhere', async () => {
    const url = `http://127.0.0.1:${container.port}`;
    const ping = await fetch(`${url}/ping`);
    assert.equal(ping.status, 200);
    const csv = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', accept: 'text/csv' },
      body: '912.5,electronics,2,840,4,false,12,true\n20,grocery,14,3,0,true,2000,false\n',
    });
    assert.equal(csv.status, 200);
    const lines = (await csv.text()).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /^(fraud|legit),0\.\d+/);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
  });
});

/** `npm start` as a user runs it: heavy model through the handlers, batch, and a killed container. */
describe('npm start with a heavy model', () => {
  let p: RunningPlatform;
  before(async () => {
    p = await startPlatform(
      { SAGEMAKER_BREAKER_FAILURES: '3', SAGEMAKER_BREAKER_COOLDOWN_MS: '500', SAGEMAKER_TIMEOUT_MS: '3000' },
      // --emf: the per-request record rides on the EMF line, as on Lambda.
      ['--restart-delay', '1500', '--visibility-timeout', '1', '--emf'],
    );
  });
  after(() => p.stop());

  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${p.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
  };

  it('routes the heavy model to its endpoint, shows why, and logs the route', async () => {
    const { instances, expected } = await golden('fraud-detector-xl', '1');
    const detail = (await (await fetch(`${p.url}/v1/models/fraud-detector-xl`)).json()) as {
      route: { target: string; reason: string; endpoint: { name: string }; circuit: string };
    };
    assert.equal(detail.route.target, 'sagemaker');
    assert.match(detail.route.reason, /manifest sets target "sagemaker"/);
    assert.equal(detail.route.circuit, 'closed');
    const v1 = await post('/v1/models/fraud-detector-xl/predict', { instances });
    assert.equal(v1.status, 200);
    assert.equal(v1.headers.get('x-infera-route'), 'sagemaker');
    // The container says which execution provider ran it, through SageMaker's custom attributes.
    assert.equal(v1.headers.get('x-infera-provider'), 'cpu');
    assert.equal((v1.json.predictions as { label: string }[])[0]?.label, expected[0]?.label);
    const v2 = await post(
      '/v2/models/fraud-detector-xl/infer',
      toV2Columns(instances[0] as Record<string, unknown>),
    );
    assert.equal(v2.status, 200);
    assert.match(
      p.output(),
      /"prediction":\{[^}]*"servedBy":"sagemaker","endpoint":"infera-fraud-detector-xl-1"/,
    );
  });

  it('scores a batch upload for the heavy model through the endpoint and records the route', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infera-heavy-batch-'));
    const file = join(dir, 'tx.csv');
    await makeBatchFile(file, 1_500, 'csv', 4);
    const sub = await cli(['batch', 'submit', file, '-m', 'fraud-detector-xl', '--wait', '--url', p.url]);
    assert.equal(sub.code, 0, sub.stderr + sub.stdout);
    assert.match(sub.stdout, /1,500 scored/);
    const jobId = /job\s+(\S+)/.exec(sub.stdout)?.[1] as string;
    const status = (await (await fetch(`${p.url}/v1/batch/${jobId}`)).json()) as {
      summary: { route: { target: string; endpoint: string } };
    };
    assert.deepEqual(status.summary.route, { target: 'sagemaker', endpoint: 'infera-fraud-detector-xl-1' });
    const out = join(dir, 'out.csv');
    const dl = await cli(['batch', 'download', jobId, '-o', out, '--url', p.url]);
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 1_501);
  });

  it('answers from the fallback from the first request after the container is killed, then recovers when it restarts', async () => {
    const { instances } = await golden('fraud-detector-xl', '1');
    const pid = p.containers['infera-fraud-detector-xl-1'];
    assert.ok(pid, p.output());
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    // The first request finds the endpoint down and is answered by the fallback; the second too,
    // and by then the circuit is open.
    for (const what of ['first', 'second']) {
      const fb = await post('/v1/models/fraud-detector-xl/predict', { instances });
      assert.equal(fb.status, 200, `${what}: ${JSON.stringify(fb.json)}`);
      assert.equal(fb.headers.get('x-infera-fallback'), 'fraud-detector@1');
      assert.equal((fb.json.fallback as { model: string }).model, 'fraud-detector');
    }
    // Not ready while the circuit is open, model and server alike; the reasons say the fallback answers.
    const ready = await fetch(`${p.url}/v2/models/fraud-detector-xl/ready`);
    const readyBody = (await ready.json()) as { ready: boolean; reason?: string };
    assert.equal(ready.status, 503);
    assert.equal(readyBody.ready, false);
    assert.match(
      readyBody.reason ?? '',
      /circuit is open; fraud-detector answers its predictions in its place/,
    );
    const server = await fetch(`${p.url}/v2/health/ready`);
    const serverBody = (await server.json()) as {
      ready: boolean;
      models?: { name: string; reason: string }[];
    };
    assert.equal(server.status, 503);
    assert.equal(serverBody.ready, false);
    assert.deepEqual(
      serverBody.models?.map((m) => m.name),
      ['fraud-detector-xl'],
    );
    let back: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 250));
      back = await post('/v1/models/fraud-detector-xl/predict', { instances });
      if (back.headers.get('x-infera-route') === 'sagemaker') break;
    }
    assert.equal(back?.status, 200);
    assert.equal(back?.headers.get('x-infera-route'), 'sagemaker', 'recovered after the restart');
    const readyAgain = await fetch(`${p.url}/v2/health/ready`);
    assert.equal(readyAgain.status, 200);
    assert.deepEqual(await readyAgain.json(), { ready: true });
    assert.match(p.output(), /container for infera-fraud-detector-xl-1 exited \(SIGKILL\); restarting/);
  });
});
