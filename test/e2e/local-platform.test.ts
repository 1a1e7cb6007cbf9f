import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { makeBatchFile } from '../../scripts/make-batch-file.ts';
import {
  cli,
  copyModels,
  editJson,
  golden,
  ROOT,
  type RunningPlatform,
  startPlatform,
  toV2Columns,
  writeEchoModel,
} from '../helpers.ts';

async function call(
  url: string,
  method: string,
  path: string,
  body?: string | object,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: assertions below report the raw text
  }
  return { status: res.status, json, text, headers: res.headers };
}

describe('local platform (npm start)', () => {
  let p: RunningPlatform;
  before(async () => {
    p = await startPlatform({}, ['--quiet']);
  });
  after(async () => {
    await p.stop();
  });

  it('prints its URL and a ready-to-paste curl example', () => {
    assert.match(p.output(), /infera is running at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(p.output(), /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/models\/iris\/predict/);
  });

  it('runs itself and its serving containers with the memory settings, under the pid it started with', () => {
    const settings = (pid: number) => ({
      argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'),
      env: readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'),
    });
    const self = settings(p.proc.pid as number);
    assert.ok(self.argv.includes('--max-semi-space-size=8'), self.argv.join(' '));
    for (const v of [
      'MALLOC_ARENA_MAX=2',
      'MALLOC_MMAP_THRESHOLD_=1048576',
      'MALLOC_TRIM_THRESHOLD_=1048576',
    ])
      assert.ok(self.env.includes(v), v);
    const container = Object.values(p.containers)[0] as number;
    assert.ok(container, p.output());
    const child = settings(container);
    assert.ok(child.argv.includes('--max-semi-space-size=8'), child.argv.join(' '));
    assert.ok(child.env.includes('MALLOC_ARENA_MAX=2'));
  });

  for (const [model, query, version] of [
    ['fraud-detector', '', '1'],
    ['fraud-detector', '?version=2', '2'],
    ['iris', '', '1'],
    ['dominant-color', '', '1'],
  ] as const) {
    it(`answers ${model}${query} with the golden predictions of version ${version}`, async () => {
      const g = await golden(model, version);
      const r = await call(p.url, 'POST', `/v1/models/${model}/predict${query}`, { instances: g.instances });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.version, version);
      (r.json.predictions as { label: string; score: number }[]).forEach((pred, i) => {
        assert.equal(pred.label, g.expected[i]?.label);
        assert.ok(Math.abs(pred.score - (g.expected[i]?.score as number)) <= g.tolerance);
      });
    });
  }

  it('returns the same probabilities from v2 infer as from v1 for the same instance', async () => {
    const instance = (await golden('fraud-detector', '2')).instances[0] as Record<string, unknown>;
    const v1 = await call(p.url, 'POST', '/v1/models/fraud-detector/predict', { instances: [instance] });
    const v2 = await call(p.url, 'POST', '/v2/models/fraud-detector/infer', {
      id: 'abc',
      ...toV2Columns(instance),
    });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.id, 'abc');
    const probs = (v2.json.outputs as { name: string; data: number[] }[]).find(
      (o) => o.name === 'probabilities',
    );
    const p1 = (v1.json.predictions as { probabilities: Record<string, number> }[])[0]?.probabilities;
    assert.deepEqual(probs?.data, [p1?.legit, p1?.fraud]);
  });

  it('answers at least 15 kinds of malformed request with the right status and a message naming the problem, and keeps serving', async () => {
    const iris = '/v1/models/iris/predict';
    const ok = { sepal_length_cm: 5, sepal_width_cm: 3, petal_length_cm: 1.5, petal_width_cm: 0.2 };
    const image = '/v2/models/dominant-color/infer';
    const cases: [
      string,
      string,
      string,
      string | object | undefined,
      number,
      RegExp,
      Record<string, string>?,
    ][] = [
      ['invalid JSON', 'POST', iris, '{"instances": [}', 400, /not valid JSON/],
      ['empty body', 'POST', iris, '', 400, /Body is empty/],
      ['schema: missing instances', 'POST', iris, { rows: [ok] }, 400, /body\.instances: is required/],
      [
        'schema: out-of-range value',
        'POST',
        iris,
        { instances: [{ ...ok, petal_width_cm: 99 }] },
        400,
        /instances\[0\]\.petal_width_cm: must be <= 30/,
      ],
      [
        'Infinity',
        'POST',
        iris,
        `{"instances":[{"sepal_length_cm":-1e400,"sepal_width_cm":3,"petal_length_cm":1,"petal_width_cm":0.2}]}`,
        400,
        /sepal_length_cm: expected number, got -Infinity/,
      ],
      ['NaN literal', 'POST', iris, '{"instances":[{"sepal_length_cm":NaN}]}', 400, /not valid JSON/],
      [
        'wrong type',
        'POST',
        iris,
        { instances: [{ ...ok, sepal_width_cm: true }] },
        400,
        /sepal_width_cm: expected number, got boolean/,
      ],
      [
        'missing feature',
        'POST',
        iris,
        { instances: [{ sepal_length_cm: 5, sepal_width_cm: 3, petal_length_cm: 1 }] },
        400,
        /petal_width_cm: is required/,
      ],
      ['extra feature', 'POST', iris, { instances: [{ ...ok, stem_cm: 2 }] }, 400, /unknown field "stem_cm"/],
      [
        'extra tensor',
        'POST',
        image,
        {
          inputs: [
            { name: 'image', shape: [1, 3, 1, 1], datatype: 'FP32', data: [1, 0, 0] },
            { name: 'depth', shape: [1], datatype: 'FP32', data: [0] },
          ],
        },
        400,
        /unknown input 'depth'/,
      ],
      [
        'shape mismatch',
        'POST',
        image,
        { inputs: [{ name: 'image', shape: [1, 3, 2], datatype: 'FP32', data: [1, 0, 0, 1, 0, 0] }] },
        400,
        /rank 3, but input 'image' expects rank 4/,
      ],
      [
        'unsupported datatype',
        'POST',
        image,
        { inputs: [{ name: 'image', shape: [1, 3, 1, 1], datatype: 'FP16', data: [1, 0, 0] }] },
        400,
        /is FP16, but input 'image' expects FP32/,
      ],
      [
        'unknown model',
        'POST',
        '/v1/models/churn/predict',
        { instances: [ok] },
        404,
        /Model 'churn' does not exist/,
      ],
      ['unknown version', 'POST', `${iris}?version=4`, { instances: [ok] }, 404, /no version or alias '4'/],
      [
        'unknown v2 version',
        'POST',
        '/v2/models/iris/versions/3/infer',
        { inputs: [] },
        400,
        /inputs: must have at least 1 item/,
      ],
      ['unknown route', 'GET', '/v1/nothing', undefined, 404, /No route for GET \/v1\/nothing/],
      [
        'body over the limit',
        'POST',
        iris,
        // Padded with spaces, so its event stays under Lambda's 6 MB and the edge's limit answers.
        `{"instances":[${JSON.stringify(ok)}]}${' '.repeat(5.2 * 1024 * 1024)}`,
        413,
        /the limit is \d+ \(MAX_BODY_BYTES\)/,
      ],
      [
        'event over Lambda’s limit',
        'POST',
        iris,
        `{"instances":[${Array.from({ length: 70_000 }, () => JSON.stringify(ok)).join(',')}]}`,
        413,
        /event .*Lambda takes at most 6 MB \(AWS rule lambda-sync-request\)/,
      ],
      [
        'too many instances',
        'POST',
        iris,
        { instances: Array.from({ length: 1001 }, () => ok) },
        413,
        /1001 instances; the limit is 1000 \(MAX_INSTANCES\)/,
      ],
      ['wrong method', 'DELETE', iris, undefined, 405, /Method DELETE is not allowed.*Use POST/],
      [
        'wrong content type',
        'POST',
        iris,
        'a,b\n1,2',
        415,
        /send the body as application\/json/,
        { 'content-type': 'text/csv' },
      ],
      [
        'a media type that merely contains "json"',
        'POST',
        iris,
        { instances: [ok] },
        415,
        /Content-Type is 'application\/not-json-at-all'/,
        { 'content-type': 'application/not-json-at-all' },
      ],
      [
        'a compressed body',
        'POST',
        iris,
        { instances: [ok] },
        415,
        /Content-Encoding is 'gzip'; this API takes uncompressed bodies/,
        { 'content-encoding': 'gzip' },
      ],
      [
        'a __proto__ field',
        'POST',
        iris,
        `{"instances":[{"sepal_length_cm":5,"sepal_width_cm":3,"petal_length_cm":1,"petal_width_cm":0.2,"__proto__":{"x":1}}]}`,
        400,
        /field named "__proto__"/,
      ],
      [
        'parameters nested 10,000 deep (a 500 on the SageMaker route before)',
        'POST',
        '/v2/models/fraud-detector-xl/infer',
        `{"inputs":[{"name":"amount","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`,
        400,
        /more than 64 levels deep/,
      ],
      [
        'the dashboard, posted to',
        'POST',
        '/dashboard',
        { x: 1 },
        405,
        /Method POST is not allowed on \/dashboard\. Use GET/,
      ],
    ];
    assert.ok(cases.length >= 15);
    for (const [what, method, path, body, status, message, headers] of cases) {
      const r = await call(p.url, method, path, body, headers);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(typeof r.json.error, 'string', `${what}: error is a string`);
      assert.match([r.json.error, ...((r.json.details as string[]) ?? [])].join('\n'), message, what);
      assert.equal(typeof r.json.requestId, 'string', `${what}: carries a request id`);
    }
    // Requests Node's own parser refuses still get a JSON error body.
    const rawHttp = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        const u = new URL(p.url);
        const sock = connect(Number(u.port), u.hostname, () => sock.end(payload));
        let got = '';
        sock.on('data', (d) => {
          got += d.toString();
        });
        sock.on('end', () => resolve(got));
        sock.on('error', reject);
      });
    const garbage = await rawHttp('GARBAGE / HTTP/1.1\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.match(garbage, /"code":"bad_request"/);
    const huge = await rawHttp(`GET /v2 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431/);
    assert.match(huge, /"code":"request_header_fields_too_large"/);
    // A body that is not JSON is refused without quoting it: values may be personal data.
    const secret = await call(p.url, 'POST', iris, 'ssn=123-45-6789', { 'content-type': 'application/json' });
    assert.equal(secret.status, 400);
    assert.ok(!secret.text.includes('123-45-6789'), secret.text);
    assert.ok(!p.output().includes('123-45-6789'), 'nor logging it');
    const health = await call(p.url, 'GET', '/v2/health/ready');
    assert.deepEqual(health.json, { ready: true });
    const again = await call(p.url, 'POST', iris, { instances: [ok] });
    assert.equal(again.status, 200);
  });

  it('serves /openapi.json that validates as OpenAPI 3', async () => {
    const r = await call(p.url, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const result = await new Validator().validate(r.json as Parameters<Validator['validate']>[0]);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(r.json.openapi, '3.1.0');
    const paths = r.json.paths as Record<string, unknown>;
    assert.ok(paths['/v1/models/{model}/predict'] && paths['/v2/models/{model}/infer']);
    const schemas = (r.json.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
    assert.ok(schemas.FraudDetectorInstance);
    // A tensor model's inputs are described too: nested arrays of the datatype, per shape.
    const image = (schemas.DominantColorInstance?.properties as Record<string, Record<string, unknown>>)
      ?.image;
    assert.equal(image?.type, 'array');
    assert.deepEqual([image?.minItems, image?.maxItems], [3, 3]);
    assert.match(String(image?.description), /^FP32 tensor; shape \[-1, 3, -1, -1\]/);
    // Image and text models: a {"b64"} file or a string, and the raw bodies the predict route takes.
    const x = (schemas.TextDirectionInstance?.properties as Record<string, Record<string, unknown>>)?.x;
    assert.deepEqual(x?.required, ['b64']);
    assert.deepEqual(schemas.TicketRouterInstance?.required, ['text']);
    const predict = (paths['/v1/models/{model}/predict'] as { post: { requestBody: { content: object } } })
      .post;
    assert.deepEqual(Object.keys(predict.requestBody.content), [
      'application/json',
      'image/png',
      'image/jpeg',
      'text/plain',
    ]);
  });

  it('answers the CLI: infera models and infera predict', async () => {
    const list = await cli(['models', '--url', p.url]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /fraud-detector\s+binary-classification\s+1,2\s+1\s+lambda/);
    const pred = await cli([
      'predict',
      'iris',
      '--url',
      p.url,
      '--data',
      '{"sepal_length_cm":6.7,"sepal_width_cm":3.0,"petal_length_cm":5.2,"petal_width_cm":2.3}',
    ]);
    assert.equal(pred.code, 0, pred.stderr);
    assert.equal(JSON.parse(pred.stdout).predictions[0].label, 'virginica');
    const image = await cli([
      'predict',
      'text-direction',
      '--url',
      p.url,
      '--image',
      'models/text-direction/1/fixtures/street-180.png',
    ]);
    assert.equal(image.code, 0, image.stderr);
    assert.equal(JSON.parse(image.stdout).predictions[0].label, '180');
    const text = await cli(['predict', 'ticket-router', '--url', p.url, '--text', 'I forgot my password']);
    assert.equal(JSON.parse(text.stdout).predictions[0].label, 'account');
    const bad = await cli(['predict', 'iris', '--url', p.url, '--data', '{"sepal_length_cm":-1}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error: 400: .*sepal_length_cm: must be >= 0/);
  });

  it('runs a batch job from the CLI: submit --wait with progress, list, download', async () => {
    assert.match(p.output(), /input bucket\s+s3:\/\/infera-batch-input\/<model>/);
    const dir = await mkdtemp(join(tmpdir(), 'infera-cli-batch-'));
    const file = join(dir, 'tx.csv');
    await makeBatchFile(file, 2_000, 'csv', 3);
    const sub = await cli(['batch', 'submit', file, '-m', 'fraud-detector', '--wait', '--url', p.url]);
    assert.equal(sub.code, 0, sub.stderr + sub.stdout);
    assert.match(sub.stdout, /status\s+succeeded/);
    assert.match(sub.stdout, /2,000 scored, 0 rejected, 0 in failed chunks/);
    assert.match(
      sub.stderr,
      /scoring: 100%\s+2,000\/2,000 rows/,
      'plain progress lines when not on a terminal',
    );
    const jobId = /job\s+(\S+)/.exec(sub.stdout)?.[1] as string;
    const list = await cli(['batch', 'list', '--url', p.url]);
    assert.match(list.stdout, new RegExp(`${jobId}\\s+succeeded\\s+fraud-detector@1\\s+2000`));
    const out = join(dir, 'results.csv');
    const dl = await cli(['batch', 'download', jobId, '-o', out, '--url', p.url]);
    assert.equal(dl.code, 0, dl.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'row,id,label,score,p_legit,p_fraud');
    assert.equal(lines.length, 2_001, 'one header, one line per row');
    const noModel = await cli(['batch', 'submit', file, '--url', p.url]);
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /Name the model with --model/);
    const missing = await cli(['batch', 'status', '20990101-000000-00000000', '--url', p.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404: No batch job '20990101-000000-00000000'/);
  });
});

describe('stopping npm start', () => {
  it('stops the platform and its serving containers when npm itself gets SIGTERM', async () => {
    const npm = spawn(
      'npm',
      ['start', '--', '--port', '0', '--aws-port', '0', '--sagemaker-port', '0', '--no-batch'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    npm.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      for (let i = 0; i < 120 && !/infera is running at/.test(out); i++)
        await new Promise((r) => setTimeout(r, 250));
      assert.match(out, /infera is running at/);
      // The processes npm started (read from /proc: no procps needed on a bare machine).
      const children = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(npm.pid);
          } catch {
            return false;
          }
        })
        .map(Number);
      const containers = [...out.matchAll(/container pid (\d+)/g)].map((m) => Number(m[1]));
      assert.ok(children.length > 0 && containers.length > 0, out);
      npm.kill('SIGTERM');
      const gone = () => [...children, ...containers].every((pid) => !alive(pid));
      for (let i = 0; i < 40 && !gone(); i++) await new Promise((r) => setTimeout(r, 250));
      assert.ok(gone(), `still running: ${[...children, ...containers].filter(alive).join(', ')}`);
    } finally {
      npm.kill('SIGKILL');
    }
  });
});

describe('local platform with user models', () => {
  it('serves a new ONNX model dropped into the models folder with no code change', async () => {
    const root = await copyModels();
    await writeEchoModel(root, 'my-new-model');
    const p = await startPlatform({ MODELS_DIR: root }, ['--quiet']);
    try {
      const list = (await (await fetch(`${p.url}/v1/models`)).json()) as { models: { name: string }[] };
      assert.ok(list.models.some((m) => m.name === 'my-new-model'));
      const res = await fetch(`${p.url}/v2/models/my-new-model/infer`, {
        method: 'POST',
        body: JSON.stringify({
          inputs: [
            { name: 'image', shape: [1, 3, 1, 1], datatype: 'FP32', data: [0.5, 0.25, 1] },
            { name: 'f64', shape: [1, 2], datatype: 'FP64', data: [[1.5, 2.5]] },
            { name: 'i32', shape: [1], datatype: 'INT32', data: [7] },
            { name: 'i64', shape: [1], datatype: 'INT64', data: [8] },
            { name: 'flag', shape: [1], datatype: 'BOOL', data: [false] },
          ],
        }),
      });
      assert.equal(res.status, 200);
      const out = (await res.json()) as { outputs: { name: string; data: unknown[] }[] };
      assert.deepEqual(
        out.outputs.map((o) => [o.name, o.data]),
        [
          ['image_out', [0.5, 0.25, 1]],
          ['f64_out', [1.5, 2.5]],
          ['i32_out', [7]],
          ['i64_out', [8]],
          ['flag_not', [true]],
        ],
      );
    } finally {
      assert.equal(await p.stop(), 0, 'exits cleanly on SIGTERM');
    }
  });

  it('refuses to start with a broken model, naming the file, the field and the fix', async () => {
    const root = await copyModels();
    await editJson(join(root, 'iris', '1', 'model.json'), (m) => {
      m.target = 'kubernetes';
    });
    await assert.rejects(startPlatform({ MODELS_DIR: root }), (e: Error) => {
      assert.match(e.message, /exited with 1/);
      assert.match(e.message, /iris\/1\/model\.json: target/);
      return true;
    });
  });
});
