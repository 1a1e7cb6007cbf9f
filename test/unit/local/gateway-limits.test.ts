/**
 * The local API Gateway's own limits, on a stand-in function: the 30 s integration timeout (here
 * shortened) and Lambda's 6 MB response limit, each answered as API Gateway would, with a message
 * that names the rule. The deployed handlers' side of the same limits is tested end to end in
 * test/e2e/aws-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { FunctionName } from '#http/routes.ts';
import { type Gateway, type LambdaHandler, startGateway } from '../../../infra/local/gateway.ts';

const gateways: Gateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
});

async function gatewayFor(handler: LambdaHandler, timeoutMs?: number): Promise<Gateway> {
  const functions = { predict: handler, models: handler, batch: handler } as Record<
    FunctionName,
    LambdaHandler
  >;
  const g = await startGateway({ functions, port: 0, ...(timeoutMs ? { timeoutMs } : {}) });
  gateways.push(g);
  return g;
}

describe('the local API Gateway', () => {
  it('answers 504 naming the integration timeout when the function is too slow', async () => {
    const g = await gatewayFor(
      () => new Promise((r) => setTimeout(() => r({ statusCode: 200, body: '{}' }), 2000)),
      100,
    );
    const res = await fetch(`${g.url}/v1/models/iris`);
    assert.equal(res.status, 504);
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(body.code, 'gateway_timeout');
    assert.match(
      body.error,
      /did not answer within 0\.1 s, the HTTP API's integration timeout \(AWS rule http-api-integration-timeout\)/,
    );
  });

  it('answers 500 naming Lambda’s response limit when a function returns more than 6 MB', async () => {
    const g = await gatewayFor(async () => ({ statusCode: 200, body: 'x'.repeat(7 * 1024 * 1024) }));
    const res = await fetch(`${g.url}/v1/models/iris`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: string };
    assert.match(
      body.error,
      /over Lambda's 6 MB response limit \(AWS rule lambda-sync-response\), so API Gateway would answer 500/,
    );
  });
});
