/**
 * Every route's answer matches the response schema its route declares (the one /openapi.json
 * publishes): one real request per operation in the route table against npm start, parsed with
 * that schema. Parsing must keep every field, so an answer with a field the schema does not
 * document fails too.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPERATIONS } from '#http/routes.ts';
import { type UploadTicket, uploadToTicket } from '../../cli/upload.ts';
import { makeBatchFile } from '../../scripts/make-batch-file.ts';
import { golden, type RunningPlatform, startPlatform, toV2Columns } from '../helpers.ts';

let p: RunningPlatform;
before(async () => {
  p = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, ['--quiet']);
});
after(() => p?.stop());

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${p.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: r.status, json: await r.json() };
}

async function finished(jobId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { json } = await call('GET', `/v1/batch/${jobId}`);
    if ((json as { status: string }).status === 'succeeded') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} did not finish`);
}

/** One valid request per operation id: the route table's every entry must have one here. */
const requests: Record<string, () => Promise<{ status: number; json: unknown }>> = {
  listModels: () => call('GET', '/v1/models'),
  getModel: () => call('GET', '/v1/models/iris'),
  predict: async () =>
    call('POST', '/v1/models/iris/predict', { instances: (await golden('iris', '1')).instances }),
  getMonitoring: () => call('GET', '/v1/models/iris/monitoring'),
  postFeedback: async () => {
    const r = await fetch(`${p.url}/v1/models/fraud-detector/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: (await golden('fraud-detector', '1')).instances.slice(0, 1) }),
    });
    const id = r.headers.get('x-request-id') as string;
    return call('POST', '/v1/models/fraud-detector/feedback', [{ id, label: 'fraud' }]);
  },
  getQuality: () => call('GET', '/v1/models/fraud-detector/quality'),
  serverMetadata: () => call('GET', '/v2'),
  serverLive: () => call('GET', '/v2/health/live'),
  serverReady: () => call('GET', '/v2/health/ready'),
  modelMetadata: () => call('GET', '/v2/models/iris'),
  modelVersionMetadata: () => call('GET', '/v2/models/iris/versions/1'),
  modelReady: () => call('GET', '/v2/models/iris/ready'),
  modelVersionReady: () => call('GET', '/v2/models/iris/versions/1/ready'),
  infer: async () =>
    call(
      'POST',
      '/v2/models/fraud-detector/infer',
      toV2Columns((await golden('fraud-detector', '1')).instances[0] as never),
    ),
  inferVersion: async () =>
    call(
      'POST',
      '/v2/models/fraud-detector/versions/2/infer',
      toV2Columns((await golden('fraud-detector', '2')).instances[0] as never),
    ),
  createBatchJob: () => call('POST', '/v1/batch', { model: 'fraud-detector' }),
  listBatchJobs: () => call('GET', '/v1/batch'),
  getBatchJob: async () => {
    const ticket = (await call('POST', '/v1/batch', { model: 'iris' })).json as { jobId: string };
    return call('GET', `/v1/batch/${ticket.jobId}`);
  },
  getBatchResults: async () => {
    const file = join(tmpdir(), `infera-responses-${process.pid}.csv`);
    await makeBatchFile(file, 50, 'csv', 1);
    const ticket = (await call('POST', '/v1/batch', { model: 'fraud-detector' })).json as UploadTicket;
    await uploadToTicket(ticket, file, (await stat(file)).size, 'text/csv');
    await finished(ticket.jobId);
    return call('GET', `/v1/batch/${ticket.jobId}/results`);
  },
  completeBatchUpload: async () => {
    const file = join(tmpdir(), `infera-responses-big-${process.pid}.csv`);
    await makeBatchFile(file, 160_000, 'csv', 1);
    const { size } = await stat(file);
    const ticket = (await call('POST', '/v1/batch', { model: 'fraud-detector', bytes: size }))
      .json as UploadTicket;
    if (!ticket.multipart) assert.fail('a file over 8 MiB gets a multipart ticket');
    const parts = await uploadToTicket(ticket, file, size, 'text/csv');
    return call('POST', `/v1/batch/${ticket.jobId}/complete`, {
      key: ticket.key,
      uploadId: ticket.multipart.uploadId,
      parts,
    });
  },
  openapi: () => call('GET', '/openapi.json'),
  modelConfig: () => call('GET', '/v2/models/iris/config'),
  modelVersionConfig: () => call('GET', '/v2/models/text-direction/versions/1/config'),
  repositoryIndex: () => call('POST', '/v2/repository/index'),
  modelLoad: () => call('POST', '/v2/repository/models/iris/load', {}),
  modelUnload: () => call('POST', '/v2/repository/models/iris/unload', {}),
  serverStats: () => call('GET', '/v2/models/stats'),
  modelStats: () => call('GET', '/v2/models/iris/stats'),
  modelVersionStats: () => call('GET', '/v2/models/iris/versions/1/stats'),
};

/** Operations whose documented answer is an error: Triton's load and unload, which infera does not do. */
const ANSWERS_AN_ERROR: Readonly<Record<string, number>> = { modelLoad: 400, modelUnload: 400 };

describe("every route's answer against its declared response schema", () => {
  it('has a request for every operation in the route table', () => {
    assert.deepEqual(
      OPERATIONS.map((o) => o.id).filter((id) => !(id in requests)),
      [],
    );
  });

  for (const op of OPERATIONS) {
    it(`${op.method} ${op.path} (${op.id}) answers what its schema says, and nothing more`, async () => {
      const send = requests[op.id];
      assert.ok(send, op.id);
      const { status, json } = await send();
      const expected = ANSWERS_AN_ERROR[op.id];
      if (expected) assert.equal(status, expected, op.id);
      else
        assert.ok(status >= 200 && status < 300, `${op.id}: ${status} ${JSON.stringify(json).slice(0, 300)}`);
      const parsed = op.response.safeParse(json);
      if (!parsed.success) assert.fail(`${op.id}: ${JSON.stringify(parsed.error.issues).slice(0, 600)}`);
      assert.deepEqual(parsed.data, json, `${op.id}: the answer has fields its schema does not document`);
    });
  }
});
