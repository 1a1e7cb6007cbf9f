import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { fieldOf } from '#core/errors.ts';
import type { GoldenCase, GoldenReply } from '#core/model/golden.ts';

/** The API Gateway (HTTP API, payload 2.0) event a client's predict call would produce. */
export function predictEvent(c: GoldenCase, id: string): APIGatewayProxyEventV2 {
  const path = `/v1/models/${c.model}/predict`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `ANY ${path}`,
    rawPath: path,
    rawQueryString: `version=${c.version}`,
    queryStringParameters: { version: c.version },
    headers: { 'content-type': 'application/json', 'user-agent': 'infera-pre-traffic-hook' },
    requestContext: {
      accountId: 'pre-traffic',
      apiId: 'pre-traffic',
      domainName: 'pre-traffic.invalid',
      domainPrefix: 'pre-traffic',
      http: {
        method: 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'infera-pre-traffic-hook',
      },
      requestId: `${id}-${c.model}-${c.version}`,
      routeKey: `ANY ${path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: JSON.stringify({ instances: c.golden.instances }),
    isBase64Encoded: false,
  };
}

/** Asks a function for one case and reads its API Gateway-shaped reply. */
export function askFunction(invoke: (event: unknown) => Promise<unknown>, id: string) {
  return async (c: GoldenCase): Promise<GoldenReply> => {
    const out = await invoke(predictEvent(c, id));
    const text = fieldOf(out, 'body');
    let body: unknown;
    try {
      body = typeof text === 'string' && text !== '' ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const status = fieldOf(out, 'statusCode');
    return { status: typeof status === 'number' ? status : 0, body };
  };
}
