import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { GraphBuilder } from '../../../scripts/lib/onnx.ts';
import { apigwEvent, copyModels, editJson, golden, lambdaContext } from '../../helpers.ts';

type Handler = (
  e: APIGatewayProxyEventV2,
  c: ReturnType<typeof lambdaContext>,
) => Promise<APIGatewayProxyStructuredResultV2>;
let predict: Handler;
let models: Handler;

/** Captures what the handlers print (EMF metrics and logs) during one call. */
async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = orig;
  }
}

const body = (r: APIGatewayProxyStructuredResultV2) => JSON.parse(r.body ?? '{}') as Record<string, unknown>;

before(async () => {
  // A copy of the shipped models plus one whose manifest promises 4 labels for a 3-column output:
  // it loads, but fails inside scoring, which is how a 500 is produced with real components.
  const root = await copyModels();
  await editJson(join(root, 'iris', '1', 'model.json'), () => {});
  const { cp } = await import('node:fs/promises');
  await cp(join(root, 'iris'), join(root, 'iris-broken'), { recursive: true });
  // A graph whose class count depends on the data, so only a request shows it: it returns the
  // first floor(max input) columns of its input (all 4 for an iris flower) as "probabilities" for
  // iris's 3 labels, and scoring fails inside, after start-up.
  const g = new GraphBuilder();
  const x = g.input('measurements', 'float32', ['N', 4]);
  const width = g.op('Reshape', [
    g.op('Cast', [g.op('ReduceMax', [x], { keepdims: 0 })], { to: 7 }),
    g.constant('one', [1], [1], 'int64'),
  ]);
  g.op(
    'Slice',
    [x, g.constant('starts', [0], [1], 'int64'), width, g.constant('axes', [1], [1], 'int64')],
    {},
    'probabilities',
  );
  g.output('probabilities', 'float32', ['N', 'K']);
  const onnx = g.build({ name: 'iris_broken', doc: 'returns 4 columns for 3 labels' });
  await writeFile(join(root, 'iris-broken', '1', 'model.onnx'), onnx);
  await editJson(join(root, 'iris-broken', '1', 'model.json'), (m) => {
    m.name = 'iris-broken';
    m.sha256 = createHash('sha256').update(onnx).digest('hex');
  });
  process.env.MODELS_DIR = root;
  process.env.MAX_INSTANCES = '50';
  process.env.MAX_BODY_BYTES = '65536';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'infera-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  predict = (await import('#api/predict.ts')).handler as unknown as Handler;
  models = (await import('#api/models.ts')).handler as unknown as Handler;
});

describe('predict handler (API Gateway v2 events)', () => {
  it('scores the iris fixture event and emits EMF metrics by model and version', async () => {
    const event = await apigwEvent('predict-iris.json');
    const { result, lines } = await capture(() => predict(event, lambdaContext()));
    assert.equal(result.statusCode, 200);
    const b = body(result) as { model: string; version: string; predictions: { label: string }[] };
    assert.equal(b.model, 'iris');
    assert.equal(b.version, '1');
    assert.equal(b.predictions[0]?.label, 'setosa');
    assert.equal(result.headers?.['x-request-id'], 'JKJaXmPLvHcESHA=');
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => '_aws' in o);
    assert.ok(emf, `no EMF blob in output:\n${lines.join('\n')}`);
    assert.equal(emf.model, 'iris');
    assert.equal(emf.version, '1');
    assert.equal(emf.Predictions, 1);
    assert.equal(typeof emf.PredictLatency, 'number');
    // Also by Lambda version and route, which the canary's alarms read.
    assert.equal(emf.route, 'lambda');
    assert.equal(emf.functionVersion, '$LATEST');
    const sets = (emf._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]
      ?.Dimensions;
    assert.deepEqual(sets, [
      ['service', 'model', 'version'],
      ['service', 'route', 'functionVersion'],
    ]);
    // One line per request: the request's record is metadata on the EMF line, not a second log line.
    const record = emf.prediction as Record<string, unknown>;
    assert.equal(record.requestId, 'JKJaXmPLvHcESHA=');
    assert.equal(record.servedBy, 'lambda');
    assert.equal(record.instances, 1);
    assert.equal(lines.filter((l) => l.includes('JKJaXmPLvHcESHA=')).length, 1);
    // Timings are numbers too (a 15.1 ms latency), so they are set aside before looking for 5.1.
    const untimed = lines.map((l) =>
      JSON.stringify(JSON.parse(l), (k, v) => (k === 'PredictLatency' || k === 'latencyMs' ? 0 : v)),
    );
    assert.ok(!JSON.stringify(untimed).includes('5.1'), 'payload values stay out of the logs');
    assert.ok(!JSON.stringify(lines).includes('sepal_length_cm'), 'and so do payload fields');
  });

  it('pins a version with ?version= and matches the golden output of fraud-detector v1', async () => {
    const g = await golden('fraud-detector', '1');
    const event = await apigwEvent('predict-iris.json', {
      path: '/v1/models/fraud-detector/predict',
      pathParameters: { model: 'fraud-detector' },
      query: { version: '1' },
      body: { instances: g.instances },
    });
    const r = await predict(event, lambdaContext());
    assert.equal(r.statusCode, 200);
    const b = body(r) as { version: string; predictions: { score: number }[] };
    assert.equal(b.version, '1');
    for (const [i, p] of b.predictions.entries()) {
      assert.ok(Math.abs(p.score - (g.expected[i]?.score as number)) < g.tolerance);
    }
  });

  const errorCases: [string, Parameters<typeof apigwEvent>[1], number, RegExp][] = [
    ['invalid JSON', { body: '{"instances": [' }, 400, /Body is not valid JSON/],
    ['an empty body', { body: '' }, 400, /Body is empty/],
    ['a body that is not an object', { body: '[1,2]' }, 400, /body: expected object, got array/],
    ['no instances', { body: { instances: [] } }, 400, /body\.instances: must have at least 1 item/],
    [
      'an unknown top-level field',
      { body: { instances: [{}], extra: 1 } },
      400,
      /body: unknown field "extra"/,
    ],
    [
      'Infinity from an overflowing literal',
      {
        body: '{"instances":[{"sepal_length_cm":1e999,"sepal_width_cm":1,"petal_length_cm":1,"petal_width_cm":1}]}',
      },
      400,
      /sepal_length_cm: expected number, got Infinity/,
    ],
    [
      'a negative length',
      {
        body: {
          instances: [{ sepal_length_cm: -1, sepal_width_cm: 1, petal_length_cm: 1, petal_width_cm: 1 }],
        },
      },
      400,
      /instances\[0\]\.sepal_length_cm: must be >= 0/,
    ],
    [
      'an unknown model',
      { path: '/v1/models/nope/predict', pathParameters: { model: 'nope' } },
      404,
      /Model 'nope' does not exist/,
    ],
    ['an unknown version', { query: { version: '9' } }, 404, /has no version or alias '9'/],
    [
      'too many instances',
      { body: { instances: Array.from({ length: 51 }, () => ({})) } },
      413,
      /51 instances; the limit is 50 \(MAX_INSTANCES\)/,
    ],
    [
      'a body over the limit',
      { body: `{"instances":[{"pad":"${'x'.repeat(70_000)}"}]}` },
      413,
      /the limit is 65536 \(MAX_BODY_BYTES\)/,
    ],
    [
      'the wrong method',
      { method: 'GET' },
      405,
      /Method GET is not allowed on \/v1\/models\/iris\/predict\. Use POST\./,
    ],
    [
      'a non-JSON content type',
      { headers: { 'content-type': 'text/csv' } },
      415,
      /send the body as application\/json/,
    ],
  ];
  for (const [what, over, status, message] of errorCases) {
    it(`returns ${status} naming the problem for ${what}`, async () => {
      const r = await predict(await apigwEvent('predict-iris.json', over), lambdaContext());
      assert.equal(r.statusCode, status, r.body);
      const b = body(r);
      assert.match([b.error, ...((b.details as string[]) ?? [])].join('\n'), message);
      assert.equal(b.requestId, 'JKJaXmPLvHcESHA=');
      if (status === 405) assert.equal(r.headers?.allow, 'POST');
    });
  }

  it('names each instance that is not an object, ten at most, however many there are', async () => {
    const r = await predict(
      await apigwEvent('predict-iris.json', { body: { instances: [{}, 7, ...Array(5_000).fill('x')] } }),
      lambdaContext(),
    );
    assert.equal(r.statusCode, 400, r.body);
    const details = body(r).details as string[];
    assert.equal(details.length, 10);
    assert.equal(details[0], 'body.instances[1]: expected object, got number');
    assert.equal(details[9], 'body.instances[10]: expected object, got string');
  });

  it('returns 500 with a request id and no stack trace when scoring fails inside', async () => {
    const event = await apigwEvent('predict-iris.json', {
      path: '/v1/models/iris-broken/predict',
      pathParameters: { model: 'iris-broken' },
    });
    const { result, lines } = await capture(() => predict(event, lambdaContext()));
    assert.equal(result.statusCode, 500);
    // Counted three times: for the function (the dashboard), for its Lambda version (the canary's
    // alarm) and for the model (a shared function's alarm).
    const counted = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => '_aws' in o && o.ServerErrors === 1)
      .map((o) => [o.model, o.version, o.functionVersion]);
    assert.deepEqual(counted, [
      [undefined, undefined, undefined],
      [undefined, undefined, '$LATEST'],
      ['iris-broken', '1', undefined],
    ]);
    const b = body(result);
    assert.equal(b.error, 'Internal error. Quote request id JKJaXmPLvHcESHA= when reporting it.');
    assert.ok(!/at .*\.ts:\d+/.test(result.body ?? ''), 'no stack trace in the response');
    // Errors name the route and version too, as successes do, once the model was resolved.
    assert.equal(result.headers?.['x-infera-route'], 'lambda');
    assert.equal(result.headers?.['x-model-version'], '1');
    const bad = await apigwEvent('predict-iris.json', { body: { instances: [{ sepal_length_cm: -1 }] } });
    const rejected = (await capture(() => predict(bad, lambdaContext()))).result;
    assert.equal(rejected.statusCode, 400);
    assert.equal(rejected.headers?.['x-infera-route'], 'lambda');
    // A body refused at the edge, before the handler ran, names the route as well.
    for (const over of [{ body: '{}' }, { body: '{"instances": [' }, { body: { instances: [] } }]) {
      const edge = (
        await capture(async () => predict(await apigwEvent('predict-iris.json', over), lambdaContext()))
      ).result;
      assert.equal(edge.statusCode, 400, edge.body);
      assert.equal(edge.headers?.['x-infera-route'], 'lambda', JSON.stringify(over));
    }
  });

  it('serves v2 infer on the same handler and reads the version from the path', async () => {
    const event = await apigwEvent('predict-iris.json', {
      path: '/v2/models/fraud-detector/versions/1/infer',
      routeKey: 'ANY /v2/models/{model}/versions/{version}/infer',
      pathParameters: { model: 'fraud-detector', version: '1' },
      body: { inputs: [{ name: 'amount', shape: [1], datatype: 'FP64', data: [12.5] }] },
    });
    const r = await predict(event, lambdaContext());
    assert.equal(r.statusCode, 400);
    assert.match(String(body(r).error), /missing input\(s\) 'merchant_category'/);
  });
});

describe('models handler (API Gateway v2 events)', () => {
  it('lists the models with versions and aliases', async () => {
    const r = await models(await apigwEvent('get-models.json'), lambdaContext());
    assert.equal(r.statusCode, 200);
    const list = (body(r) as { models: { name: string; aliases: Record<string, string> }[] }).models;
    assert.deepEqual(list.find((m) => m.name === 'fraud-detector')?.aliases, { live: '1' });
  });

  it('describes a model with its input schema as JSON Schema', async () => {
    const event = await apigwEvent('get-models.json', {
      path: '/v1/models/fraud-detector',
      routeKey: 'ANY /v1/models/{model}',
      pathParameters: { model: 'fraud-detector' },
    });
    const b = body(await models(event, lambdaContext())) as {
      version: string;
      inputSchema: { properties: Record<string, { maximum?: number }>; required: string[] };
    };
    assert.equal(b.version, '1');
    assert.equal(b.inputSchema.properties.amount?.maximum, 50000);
    assert.ok(!b.inputSchema.required.includes('distance_from_home_km'));
  });

  it('answers v2 health, readiness and model metadata', async () => {
    const get = async (path: string, routeKey: string, pathParameters?: Record<string, string>) =>
      models(
        await apigwEvent('get-models.json', {
          path,
          routeKey,
          ...(pathParameters ? { pathParameters } : {}),
        }),
        lambdaContext(),
      );
    assert.deepEqual(body(await get('/v2/health/live', 'ANY /v2/health/live')), { live: true });
    assert.deepEqual(body(await get('/v2/health/ready', 'ANY /v2/health/ready')), { ready: true });
    const meta = body(
      await get('/v2/models/dominant-color', 'ANY /v2/models/{model}', { model: 'dominant-color' }),
    );
    assert.deepEqual(meta.inputs, [{ name: 'image', datatype: 'FP32', shape: [-1, 3, -1, -1] }]);
    // Model readiness is the model's own function's answer: it holds the endpoint's circuit.
    const ready = await predict(
      await apigwEvent('get-models.json', {
        path: '/v2/models/iris/versions/1/ready',
        routeKey: 'ANY /v2/models/{model}/versions/{version}/ready',
        pathParameters: { model: 'iris', version: '1' },
      }),
      lambdaContext(),
    );
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(body(ready), { name: 'iris', version: '1', ready: true });
  });

  it('returns a JSON 404 for a path no route matches', async () => {
    const r = await models(
      await apigwEvent('get-models.json', { path: '/v3/nothing', routeKey: '$default' }),
      lambdaContext(),
    );
    assert.equal(r.statusCode, 404);
    assert.match(String(body(r).error), /No route for GET \/v3\/nothing/);
  });
});
