/**
 * The local listeners' Host and Origin guard: an origin is this listener's only when scheme, host
 * and port all match (a page on another local port is another site), --allow-origin admits one
 * on purpose, and a request without Host is a JSON 400. The serving container, bound to loopback
 * as npm start runs it, applies the same guard (tested with node:http: fetch cannot set Host).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createContainerServer } from '#container/server.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import { foreignRequest } from '#http/guard.ts';
import { MODELS } from '../../helpers.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('the local Host and Origin guard', () => {
  it('takes only an origin with this listener scheme, host and port, loopback names alike', () => {
    assert.equal(
      foreignRequest(req({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' }), '127.0.0.1'),
      undefined,
    );
    assert.equal(
      foreignRequest(req({ host: 'localhost:3000', origin: 'http://127.0.0.1:3000' }), '127.0.0.1'),
      undefined,
    );
    for (const origin of [
      'http://localhost:8080',
      'http://127.0.0.1:5173',
      'https://127.0.0.1:3000',
      'http://evil.example:3000',
    ]) {
      const r = foreignRequest(req({ host: '127.0.0.1:3000', origin }), '127.0.0.1');
      assert.equal(r?.status, 403, origin);
      assert.match(r?.error ?? '', /is another site .*http:\/\/127\.0\.0\.1:3000.*--allow-origin/);
    }
  });

  it('admits an origin allowed on purpose, and only that one', () => {
    const opts = { allowOrigins: ['http://localhost:5173'] };
    assert.equal(
      foreignRequest(req({ host: '127.0.0.1:3000', origin: 'http://localhost:5173' }), '127.0.0.1', opts),
      undefined,
    );
    assert.equal(
      foreignRequest(req({ host: '127.0.0.1:3000', origin: 'http://localhost:5174' }), '127.0.0.1', opts)
        ?.status,
      403,
    );
  });

  it('answers 400 to a request without Host, and 403 to a foreign one or a null origin', () => {
    assert.deepEqual(foreignRequest(req({}), '127.0.0.1')?.status, 400);
    assert.match(foreignRequest(req({}), '127.0.0.1')?.error ?? '', /no Host header/);
    assert.equal(foreignRequest(req({ host: 'evil.example' }), '127.0.0.1')?.status, 403);
    assert.equal(foreignRequest(req({ host: '127.0.0.1:3000', origin: 'null' }), '127.0.0.1')?.status, 403);
  });
});

/** A raw request with the headers given, exactly (node:http keeps a Host header set here). */
function call(port: number, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port, path: '/ping', method: 'GET', headers, setHost: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    r.on('error', reject);
    r.end();
  });
}

describe('the serving container bound to loopback', () => {
  it('refuses a rebound Host and a foreign Origin, says why in JSON, and serves its own callers', async () => {
    const registry = await ModelRegistry.load(MODELS, { only: ['iris'] });
    const server = createContainerServer({
      guard: { host: '127.0.0.1' },
      scorer: { ready: true } as unknown as Scorer,
      mv: registry.resolve('iris'),
      maxBodyBytes: 1024,
      provider: 'cpu',
      log: () => {},
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const rebound = await call(port, { host: 'evil.example:8080' });
      assert.equal(rebound.status, 403);
      assert.equal((JSON.parse(rebound.body) as { code: string }).code, 'forbidden');
      const page = await call(port, { host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
      assert.equal(page.status, 403);
      const none = await call(port, {});
      assert.equal(none.status, 400);
      assert.match((JSON.parse(none.body) as { error: string }).error, /no Host header/);
      assert.equal((await call(port, { host: `127.0.0.1:${port}` })).status, 200);
    } finally {
      server.close();
    }
  });
});
