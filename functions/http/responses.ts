/** The API's answers as API Gateway takes them: JSON, or binary tensor data in base64. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type Framing, frameBinary } from '#core/protocol/binary.ts';
import type { Scope } from './request.ts';

type Result = APIGatewayProxyStructuredResultV2;

export function json(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Result {
  return {
    statusCode: status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** A binary tensor data answer: the JSON header, then the chunks, base64 for API Gateway. */
export function binaryResult(
  status: number,
  requestId: string,
  framing: Framing,
  body: unknown,
  chunks: readonly Uint8Array[],
  headers: Record<string, string>,
): Result {
  const framed = frameBinary(body, chunks, framing);
  return {
    statusCode: status,
    headers: { ...framed.headers, 'cache-control': 'no-store', 'x-request-id': requestId, ...headers },
    body: framed.body.toString('base64'),
    isBase64Encoded: true,
  };
}

/** An error answer names where the request was routed, as a success does, once the model is known. */
export function routeHeaders(scope: Scope): Record<string, string> {
  return {
    ...(scope.route ? { 'x-infera-route': scope.route } : {}),
    ...(scope.version ? { 'x-model-version': scope.version } : {}),
  };
}
