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
    const f64 = (v: number) => Buffer.from(Float64Array.of(v).buffer);
    const i64 = (v: number) => Buffer.from(BigInt64Array.of(BigInt(v)).buffer);
    const text = (v: string) =>
      Buffer.concat([Buffer.from(Uint32Array.of(Buffer.byteLength(v)).buffer), Buffer.from(v)]);
    const columns: [string, string, Buffer][] = [
      ['amount', 'FP64', f64(120.5)],
      ['merchant_category', 'BYTES', text('travel')],
      ['hour', 'INT64', i64(3)],
      ['distance_from_home_km', 'FP64', f64(900)],
      ['transactions_last_hour', 'INT64', i64(4)],
      ['card_present', 'BOOL', Buffer.from([0])],
      ['account_age_days', 'INT64', i64(30)],
      ['is_foreign', 'BOOL', Buffer.from([1])],
    ];
    const header = JSON.stringify({
      inputs: columns.map(([name, datatype, b]) => ({
        name,
        shape: [1],
        datatype,
        parameters: { binary_data_size: b.length },
      })),
      parameters: { binary_data_output: true },
    });
    writeFileSync(
      join(dir, 'request.bin'),
      Buffer.concat([Buffer.from(header), ...columns.map(([, , b]) => b)]),
    );
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
        `application/vnd.sagemaker-triton.binary+json;json-header-size=${Buffer.byteLength(header)}`,
        '--body',
        `fileb://${join(dir, 'request.bin')}`,
        join(dir, 'response.bin'),
      ],
      { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' },
    );
    assert.equal(r.code, 0, r.stderr);
    const meta = JSON.parse(r.stdout) as { ContentType: string };
    const n = Number(/json-header-size=(\d+)$/.exec(meta.ContentType)?.[1]);
    const out = readFileSync(join(dir, 'response.bin'));
    const head = JSON.parse(out.subarray(0, n).toString()) as {
      outputs: { name: string; parameters: { binary_data_size: number } }[];
    };
    let at = n;
    const chunks = new Map<string, Buffer>();
    for (const o of head.outputs) {
      chunks.set(o.name, out.subarray(at, at + o.parameters.binary_data_size));
      at += o.parameters.binary_data_size;
    }
    assert.equal(at, out.length);
    assert.equal(chunks.get('label')?.subarray(4).toString(), 'fraud');
  });
});
