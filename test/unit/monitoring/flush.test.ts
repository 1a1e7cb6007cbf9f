/**
 * Lambda freezes the instance when the handler returns (AWS rule lambda-freeze): drift events,
 * captures and shadows finish before it does, or they may never finish at all.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ModelRegistry } from '#core/model/registry.ts';
import { loadConfig } from '#runtime/config.ts';
import { Monitoring } from '#runtime/monitoring.ts';
import { rng } from '../../../scripts/lib/ml.ts';
import { rowSampler } from '../../../scripts/traffic.ts';
import { MODELS } from '../../helpers.ts';

const registry = await ModelRegistry.load(MODELS, { only: ['fraud-detector'] });
const mv = registry.resolve('fraud-detector', '1');
const amount =
  mv.manifest.inputs.kind === 'tabular'
    ? mv.manifest.inputs.features.find((f) => f.name === 'amount')
    : undefined;

/** Traffic whose `amount` has drifted. */
function drift(monitoring: Monitoring, seed: number) {
  const row = rowSampler(
    mv.manifest,
    rng(seed),
    amount ? { feature: amount, factor: 3, share: 0.5 } : undefined,
  );
  for (let i = 0; i < 300; i++) {
    monitoring.monitor.observe(mv, {
      latencyMs: 1,
      status: 200,
      instances: Array.from({ length: 10 }, row),
    });
  }
}

/** A drift webhook that answers after `delayMs` with `status`, recording what it was sent. */
async function webhook(delayMs: number, status: () => number) {
  const received: unknown[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () =>
      setTimeout(() => {
        const code = status();
        if (code === 200) received.push(JSON.parse(body));
        res.writeHead(code).end();
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/drift`, received, close: () => server.close() };
}

describe('monitoring work finishes inside the invocation', () => {
  it('holds a drift event until it is delivered, and flush returns only once it is', async () => {
    const hook = await webhook(150, () => 200);
    try {
      const monitoring = new Monitoring(
        loadConfig({ MONITOR_EMIT_SECONDS: '0', DRIFT_WEBHOOK_URL: hook.url, DRIFT_MIN_SAMPLES: '100' }),
      );
      drift(monitoring, 5);
      assert.ok(monitoring.evaluate().some((e) => e.feature === 'amount'));
      assert.equal(monitoring.pending, 1, 'the delivery is tracked');
      assert.equal(hook.received.length, 0, 'and not yet done');
      assert.equal(await monitoring.flush(5000), 0);
      assert.equal(monitoring.pending, 0);
      assert.ok(hook.received.some((e) => (e as { feature: string }).feature === 'amount'));
    } finally {
      hook.close();
    }
  });

  it('raises a drift event again after its delivery failed, instead of marking it raised for good', async () => {
    let status = 503;
    const hook = await webhook(0, () => status);
    try {
      const monitoring = new Monitoring(
        loadConfig({ MONITOR_EMIT_SECONDS: '0', DRIFT_WEBHOOK_URL: hook.url, DRIFT_MIN_SAMPLES: '100' }),
      );
      drift(monitoring, 6);
      assert.ok(monitoring.evaluate().some((e) => e.feature === 'amount'));
      await monitoring.flush(5000);
      assert.equal(hook.received.length, 0, 'the webhook refused it');
      status = 200;
      assert.ok(
        monitoring.evaluate().some((e) => e.feature === 'amount'),
        'the still-drifting feature is raised again',
      );
      await monitoring.flush(5000);
      assert.ok(hook.received.some((e) => (e as { feature: string }).feature === 'amount'));
    } finally {
      hook.close();
    }
  });

  it('waits for a shadow, and for work it starts, but no longer than its budget', async () => {
    const monitoring = new Monitoring(loadConfig({ MONITOR_EMIT_SECONDS: '0' }));
    const preds = [{ label: 'legit', score: 0.1, probabilities: { legit: 0.9, fraud: 0.1 } }];
    let shadowDone = false;
    monitoring.track(
      monitoring.shadow(mv, registry.resolve('fraud-detector', '2'), preds, 1, async () => {
        await new Promise((r) => setTimeout(r, 50));
        monitoring.track(new Promise((r) => setTimeout(r, 50)));
        shadowDone = true;
        return preds;
      }),
    );
    assert.equal(await monitoring.flush(5000), 0);
    assert.ok(shadowDone);
    assert.equal(monitoring.pending, 0);

    const never = new Promise<void>(() => {});
    monitoring.track(never);
    const started = Date.now();
    assert.equal(await monitoring.flush(100), 1, 'one piece of work left at the budget');
    assert.ok(Date.now() - started < 2000);
  });
});
