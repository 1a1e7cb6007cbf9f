/**
 * `aws sagemaker-runtime invoke-endpoint` (the machine's AWS CLI) against npm start's local
 * SageMaker runtime and the serving container, with the SageMaker form of the binary tensor data
 * extension: the JSON header's size in the content type, raw little-endian tensors after it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningPlatform, run, startPlatform } from '../helpers.ts';
import { requireTools } from '../support/moto.ts';
import { readResult, transactionRequest } from '../support/triton.ts';

let platform: RunningPlatform;
let dir: string;
before(async () => {
  requireTools('aws');
  platform = await startPlatform({ POWERTOOLS_LOG_LEVEL: 'ERROR' }, ['--no-batch']);
  dir = mkdtempSync(join(tmpdir(), 'infera-sm-cli-'));
});
after(() => {
  platform?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('aws sagemaker-runtime invoke-endpoint with binary tensor data', () => {
  it('scores a transaction sent as binary columns and answers in the same framing', async () => {
    const { body, headerLength } = transactionRequest();
    writeFileSync(join(dir, 'request.bin'), body);
    const r = await run(
      'aws',
      [
        'sagemaker-runtime',
        'invoke-endpoint',
        '--endpoint-url',
        platform.sagemakerEndpoint as string,
        '--endpoint-name',
        'infera-fraud-detector-xl-1',
        '--content-type',
        `application/vnd.sagemaker-triton.binary+json;json-header-size=${headerLength}`,
        '--body',
        `fileb://${join(dir, 'request.bin')}`,
        join(dir, 'response.bin'),
      ],
      { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' },
    );
    assert.equal(r.code, 0, r.stderr);
    const meta = JSON.parse(r.stdout) as { ContentType: string; CustomAttributes?: string };
    // The container's X-Amzn-SageMaker-Custom-Attributes, as the AWS CLI reads it back.
    assert.equal(meta.CustomAttributes, 'infera-provider=cpu');
    const n = Number(/json-header-size=(\d+)$/.exec(meta.ContentType)?.[1]);
    const { buffers } = readResult({
      headers: { 'inference-header-content-length': n },
      body: readFileSync(join(dir, 'response.bin')),
    });
    assert.equal(buffers.get('label')?.subarray(4).toString(), 'fraud');
  });
});
