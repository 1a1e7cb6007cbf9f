/**
 * Body parsing: a raw image or text body, binary tensor data or JSON (core/protocol/body.ts, which
 * the serving container reads its bodies with too). Runs after the limits.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readBody } from '#core/protocol/body.ts';
import type { ApiEvent } from '../request.ts';

export function bodyParser(): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  return {
    before: ({ event }) => {
      const edge = event.edge;
      const operation = edge?.operation;
      if (!edge || !operation?.request) return;
      const text = event.body ?? '';
      const read = readBody({
        headers: event.headers ?? {},
        body: event.isBase64Encoded ? Buffer.from(text, 'base64') : text,
        raw: operation.raw === true,
        binary: operation.binary === true,
      });
      if (read.kind === 'raw') edge.raw = read.raw;
      else {
        edge.parsed = read.json;
        if (read.binary) edge.binary = read.binary;
      }
    },
  };
}
