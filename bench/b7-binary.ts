/**
 * B7: a [1,3,224,224] FP32 image through the predict handler in-process, sent as v2 binary tensor
 * data (as tritonclient.http sends it) and as v2 JSON, against raw `session.run` on the same
 * tensor. All three run in one child process, interleaved call by call; the child's stdout (the
 * handler's logs and EMF lines) goes to /dev/null.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runHandlerChild } from './lib/proc.ts';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { quantile, sortNumbers, summarize } from './lib/stats.ts';

const MODEL = 'dominant-color';
const SHAPE = [1, 3, 224, 224];

interface RoundTimes {
  raw: number;
  binary: number;
  json: number;
}

/** An API Gateway v2 event for POST /v2/models/{model}/infer, as API Gateway delivers it. */
function inferEvent(body: Buffer, headers: Record<string, string>, id: string) {
  const path = `/v2/models/${MODEL}/infer`;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `ANY ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: 'bench',
      apiId: 'bench',
      domainName: 'bench.invalid',
      domainPrefix: 'bench',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: id,
      routeKey: `ANY ${path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

async function child(): Promise<void> {
  const rounds = Number(process.env.B7_ROUNDS);
  const calls = Number(process.env.B7_CALLS);
  const ort = await import('onnxruntime-node');
  const { sessionOptions } = await import('#adapters/onnxruntime.ts');
  const { loadConfig } = await import('#runtime/config.ts');
  const { getPlatform } = await import('#runtime/platform.ts');
  const { handler } = (await import('#api/predict.ts')) as unknown as {
    handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;
  };
  const config = loadConfig();
  const { registry } = await getPlatform(config);
  const mv = registry.resolve(MODEL);
  const session = await ort.InferenceSession.create(
    readFileSync(join(mv.dir, 'model.onnx')),
    sessionOptions({ intraOpThreads: config.ORT_INTRA_OP_THREADS, interOpThreads: config.ORT_INTER_OP_THREADS }),
  );
  const n = SHAPE.reduce((a, b) => a * b, 1);
  const pixels = new Float32Array(n);
  for (let i = 0; i < n; i++) pixels[i] = ((i * 7919) % 1000) / 1000;
  const tensor = new ort.Tensor('float32', pixels, SHAPE);
  const input = session.inputNames[0] as string;

  const header = JSON.stringify({
    inputs: [{ name: 'image', shape: SHAPE, datatype: 'FP32', parameters: { binary_data_size: n * 4 } }],
    parameters: { binary_data_output: true },
  });
  const binaryBody = Buffer.concat([Buffer.from(header), Buffer.from(pixels.buffer)]);
  const binaryHeaders = { 'inference-header-content-length': String(Buffer.byteLength(header)) };
  const jsonBody = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'image', shape: SHAPE, datatype: 'FP32', data: Array.from(pixels) }] }),
  );
  const jsonHeaders = { 'content-type': 'application/json' };
  const context = { functionName: `infera-${MODEL}`, awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };

  // All three must answer, and the two forms alike, before their times mean anything.
  const viaBinary = await handler(inferEvent(binaryBody, binaryHeaders, 'check-b'), context);
  const viaJson = await handler(inferEvent(jsonBody, jsonHeaders, 'check-j'), context);
  if (viaBinary.statusCode !== 200 || viaJson.statusCode !== 200) {
    throw new Error(`the handler answered ${viaBinary.statusCode} / ${viaJson.statusCode}: ${viaJson.body.slice(0, 300)}`);
  }
  const label = (JSON.parse(viaJson.body) as { outputs: { name: string; data: unknown[] }[] }).outputs.find(
    (o) => o.name === 'label',
  )?.data[0];
  const bytes = Buffer.from(viaBinary.body, 'base64');
  const headerLength = Number(viaBinary.headers['inference-header-content-length']);
  if (!bytes.subarray(headerLength).includes(Buffer.from(String(label)))) {
    throw new Error(`the binary answer does not carry the JSON answer's label '${label}'`);
  }
  await session.run({ [input]: tensor });

  const out: RoundTimes[] = [];
  for (let r = 0; r < rounds; r++) {
    const tr = new Float64Array(calls);
    const tb = new Float64Array(calls);
    const tj = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      // The event is built outside the timing: API Gateway hands it over ready.
      const eb = inferEvent(binaryBody, binaryHeaders, `b${i}`);
      const ej = inferEvent(jsonBody, jsonHeaders, `j${i}`);
      let t = performance.now();
      await session.run({ [input]: tensor });
      tr[i] = performance.now() - t;
      t = performance.now();
      await handler(eb, context);
      tb[i] = performance.now() - t;
      t = performance.now();
      await handler(ej, context);
      tj[i] = performance.now() - t;
    }
    out.push({
      raw: quantile(sortNumbers(tr), 0.5),
      binary: quantile(sortNumbers(tb), 0.5),
      json: quantile(sortNumbers(tj), 0.5),
    });
  }
  process.send?.({ rounds: out });
  process.disconnect?.();
}

export async function b7(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const rounds = opts.quick ? 1 : 5;
  const calls = opts.quick ? 5 : 200;
  opts.progress(`B7: ${rounds} round(s) of ${calls} interleaved calls, [${SHAPE.join(',')}] FP32: raw, binary, JSON`);
  const got = await runHandlerChild<RoundTimes[]>(import.meta.url, MODEL, {
    MAX_BODY_BYTES: String(6 * 1024 * 1024),
    B7_ROUNDS: String(rounds),
    B7_CALLS: String(calls),
  }, 'B7');
  const ms = (pick: (r: RoundTimes) => number) => summarize(got.map(pick));
  const added = ms((r) => r.binary - r.raw);
  const speedup = ms((r) => r.json / r.binary);
  const figures: Figure[] = [
    {
      label: 'v2 binary: added latency p50',
      unit: 'ms',
      platform: ms((r) => r.binary),
      baseline: ms((r) => r.raw),
      compare: 'difference',
      value: added,
      target: { text: '≤ 1 ms', met: added.median <= 1 },
    },
    {
      label: 'v2 JSON p50 ÷ v2 binary p50',
      unit: 'ms',
      platform: ms((r) => r.json),
      baseline: ms((r) => r.binary),
      compare: 'ratio',
      value: speedup,
      target: { text: '≥ 5×', met: speedup.median >= 5 },
    },
  ];
  return {
    id: 'B7',
    title: `v2 binary tensor data, a [${SHAPE.join(',')}] FP32 image, handler in-process`,
    baseline: 'raw session.run on the same tensor; the same request as v2 JSON',
    target: 'binary ≤ raw + 1 ms p50; binary ≥ 5× faster than JSON',
    figures,
    notes: [
      `${rounds} rounds of ${calls} calls; each round's p50 of raw session.run, the binary request (Inference-Header-Content-Length, binary_data_output) and the JSON request, interleaved call by call. The body is ${((SHAPE.reduce((a, b) => a * b, 1) * 4) / 1e6).toFixed(2)} MB binary, base64 in the event as API Gateway delivers it.`,
    ],
    limits: [
      'The binary request still base64-decodes the body (API Gateway delivers binary bodies base64-encoded), copies the tensor once to align it, and checks every element is finite.',
    ],
  };
}

if (process.argv.includes('--child')) await child();
