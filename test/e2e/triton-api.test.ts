/**
 * Triton's HTTP extensions through npm start, each request made as tritonclient.http makes it
 * (its _client.py): get_model_config, get_model_repository_index, get_inference_statistics and
 * load/unload, for every shipped model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningPlatform, SHIPPED_MODELS, startPlatform } from '../helpers.ts';

let platform: RunningPlatform;
before(async () => {
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, ['--no-batch']);
});
after(() => platform?.stop());

async function call(method: string, path: string, body?: string) {
  const res = await fetch(`${platform.url}/${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & unknown[] };
}

describe("Triton's HTTP extensions, as tritonclient.http calls them", () => {
  it("answers get_model_config for every shipped model with its metadata's tensors in Triton's types", async () => {
    for (const model of SHIPPED_MODELS) {
      const meta = await call('GET', `v2/models/${model}`);
      const config = await call('GET', `v2/models/${model}/config`);
      assert.equal(config.status, 200, model);
      assert.equal(config.json.name, model);
      assert.equal(config.json.platform, 'onnxruntime_onnx');
      const names = (xs: unknown) => (xs as { name: string }[]).map((x) => x.name);
      assert.deepEqual(names(config.json.input), names(meta.json.inputs), model);
      assert.deepEqual(names(config.json.output), names(meta.json.outputs), model);
      for (const i of config.json.input as { data_type: string }[])
        assert.match(i.data_type, /^TYPE_[A-Z0-9]+$/);
    }
    const image = await call('GET', 'v2/models/text-direction/versions/1/config');
    assert.deepEqual(image.json.parameters, { infera_image_inputs: { string_value: 'x' } });
  });

  it('answers get_model_repository_index (a POST with an empty body) with every version, ready', async () => {
    const index = await call('POST', 'v2/repository/index', '');
    assert.equal(index.status, 200);
    const rows = index.json as unknown as { name: string; version: string; state: string }[];
    for (const model of SHIPPED_MODELS)
      assert.ok(
        rows.some((r) => r.name === model),
        model,
      );
    assert.deepEqual(
      rows.filter((r) => r.name === 'fraud-detector').map((r) => [r.version, r.state]),
      [
        ['1', 'READY'],
        ['2', 'READY'],
      ],
    );
  });

  it('counts requests, rows and time in get_inference_statistics, per model and for the server', async () => {
    const before = await call('GET', 'v2/models/iris/versions/1/stats');
    const count = (s: { json: Record<string, unknown> }) =>
      (s.json.model_stats as { execution_count: number; inference_count: number }[])[0];
    const rows = {
      inputs: ['sepal_length_cm', 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'].map((name) => ({
        name,
        datatype: 'FP64',
        shape: [2],
        data: [5.1, 6.7],
      })),
    };
    const infer = await call('POST', 'v2/models/iris/infer', JSON.stringify(rows));
    assert.equal(infer.status, 200);
    const after = await call('GET', 'v2/models/iris/versions/1/stats');
    assert.equal(count(after)?.execution_count, (count(before)?.execution_count ?? 0) + 1);
    assert.equal(count(after)?.inference_count, (count(before)?.inference_count ?? 0) + 2);
    const success = (after.json.model_stats as { inference_stats: { success: { ns: number } } }[])[0]
      ?.inference_stats.success;
    assert.ok((success?.ns ?? 0) > 0, 'the time spent answering, in ns');
    // /v2/models/stats is the server's statistics, not the metadata of a model called "stats".
    const server = await call('GET', 'v2/models/stats');
    assert.equal(server.status, 200);
    const names = (server.json.model_stats as { name: string }[]).map((s) => s.name);
    for (const model of SHIPPED_MODELS) assert.ok(names.includes(model), model);
  });

  it('answers load and unload with a 400 that says how models are deployed', async () => {
    for (const action of ['load', 'unload']) {
      const r = await call('POST', `v2/repository/models/iris/${action}`, '{}');
      assert.equal(r.status, 400);
      assert.match(String(r.json.error), /deployed with the stack[\s\S]*infera release iris/);
    }
  });
});
