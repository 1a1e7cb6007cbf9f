/**
 * The predict handler resolves only once the work it started has finished: Lambda freezes the
 * instance when the handler returns, and a capture or shadow still running then may never finish
 * (AWS rule lambda-freeze).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { apigwEvent, copyModels, golden, lambdaContext } from '../../helpers.ts';

type Handler = (
  e: APIGatewayProxyEventV2,
  c: ReturnType<typeof lambdaContext>,
) => Promise<APIGatewayProxyStructuredResultV2>;
let predict: Handler;
let captures: string;

before(async () => {
  const root = await copyModels();
  await writeFile(join(root, 'fraud-detector', 'aliases.json'), JSON.stringify({ live: '1', shadow: '2' }));
  captures = await mkdtemp(join(tmpdir(), 'infera-captures-'));
  process.env.MODELS_DIR = root;
  process.env.MODEL_NAMES = 'fraud-detector';
  process.env.CAPTURE_DESTINATION = captures;
  process.env.CAPTURE_SAMPLE_RATE = '1';
  process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  predict = (await import('#api/predict.ts')).handler as unknown as Handler;
});

describe('the predict handler before Lambda freezes it', () => {
  it('has written its capture and scored its shadow by the time it resolves, with nothing left pending', async () => {
    const { getMonitoring } = await import('#runtime/monitoring.ts');
    const { loadConfig } = await import('#runtime/config.ts');
    const monitoring = getMonitoring(loadConfig());
    const g = await golden('fraud-detector', '1');
    const event = await apigwEvent('predict-iris.json', {
      path: '/v1/models/fraud-detector/predict',
      pathParameters: { model: 'fraud-detector' },
      body: { instances: g.instances.slice(0, 3) },
    });

    const result = await predict(event, lambdaContext());

    assert.equal(result.statusCode, 200, result.body);
    assert.equal(monitoring.pending, 0, 'no monitoring work is left running');
    const report = monitoring.monitor.report('fraud-detector');
    assert.equal(report.comparisons.length, 1, 'the shadow was scored and compared');
    const files = await readdir(captures, { recursive: true });
    const jsonl = files.filter((f) => String(f).endsWith('.jsonl'));
    assert.equal(jsonl.length, 1, `capture files: ${files.join(', ')}`);
    const lines = (await readFile(join(captures, String(jsonl[0])), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
  });
});
