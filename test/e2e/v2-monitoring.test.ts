/**
 * v2 traffic to a tabular model is seen as v1 traffic is: its rows feed the feature drift
 * monitor, and its captured copy is redacted by field name. Through npm start, as a user runs it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { golden, type RunningPlatform, startPlatform, toV2Columns } from '../helpers.ts';

let platform: RunningPlatform;
let captureDir: string;
before(async () => {
  captureDir = await mkdtemp(join(tmpdir(), 'infera-v2-capture-'));
  platform = await startPlatform(
    {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      CAPTURE_SAMPLE_RATE: '1',
      CAPTURE_DESTINATION: captureDir,
      CAPTURE_REDACT: 'amount',
      DRIFT_MIN_SAMPLES: '50',
    },
    ['--no-batch'],
  );
});
after(() => platform?.stop());

interface FeatureView {
  name: string;
  window: { count: number; psi: number | null; drifting: boolean };
}

describe('v2 requests to a tabular model', () => {
  it('move that feature’s drift and are captured with the named field redacted', async () => {
    const g = await golden('fraud-detector', '1');
    const base = g.instances[0] as Record<string, unknown>;
    for (let i = 0; i < 80; i++) {
      // Every amount far above training's: a drifted feature.
      const res = await fetch(`${platform.url}/v2/models/fraud-detector/versions/1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(toV2Columns({ ...base, amount: 20_000 + i })),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const report = (await (await fetch(`${platform.url}/v1/models/fraud-detector/monitoring`)).json()) as {
      versions: { version: string; features: FeatureView[] }[];
    };
    const amount = report.versions.find((v) => v.version === '1')?.features.find((f) => f.name === 'amount');
    assert.equal(amount?.window.count, 80);
    assert.ok((amount?.window.psi ?? 0) > 1, `amount PSI ${amount?.window.psi}`);
    assert.equal(amount?.window.drifting, true);

    let lines: string[] = [];
    for (let i = 0; i < 50 && lines.length < 80; i++) {
      const days = await readdir(join(captureDir, 'fraud-detector', '1')).catch(() => []);
      lines = [];
      for (const d of days)
        lines.push(
          ...(await readFile(join(captureDir, 'fraud-detector', '1', d), 'utf8')).trim().split('\n'),
        );
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(lines.length, 80);
    const first = JSON.parse(lines[0] as string) as { instances: Record<string, unknown>[] };
    assert.equal(first.instances[0]?.amount, '[redacted]');
    assert.equal(first.instances[0]?.merchant_category, base.merchant_category);
    assert.ok(!lines.some((l) => l.includes('"amount":2')), 'no amount value reaches the capture');
  });

  it('count a rejected request’s out-of-range value, as v1 does', async () => {
    const g = await golden('fraud-detector', '1');
    const base = g.instances[0] as Record<string, unknown>;
    const res = await fetch(`${platform.url}/v2/models/fraud-detector/versions/1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(toV2Columns({ ...base, hour: 99 })),
    });
    assert.equal(res.status, 400);
    const report = (await (await fetch(`${platform.url}/v1/models/fraud-detector/monitoring`)).json()) as {
      versions: {
        version: string;
        features: { name: string; window: { outOfRangeRate: number; count: number } }[];
      }[];
    };
    const hour = report.versions.find((v) => v.version === '1')?.features.find((f) => f.name === 'hour');
    assert.ok((hour?.window.outOfRangeRate ?? 0) > 0, JSON.stringify(hour));
  });
});
