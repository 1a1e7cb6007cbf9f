/**
 * Limits: a body over MAX_BODY_BYTES is a 413 and a compressed one a 415, both before a byte of
 * it is decoded. Runs after the route, for operations that take a body.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InferaError, PayloadTooLargeError } from '#core/errors.ts';
import type { ApiEvent } from '../request.ts';

export function bodyLimits(maxBodyBytes: number): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  return {
    before: ({ event }) => {
      const edge = event.edge;
      if (!edge?.operation.request) return;
      const size = Buffer.byteLength(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
      if (size > maxBodyBytes) {
        throw new PayloadTooLargeError(
          `Body is ${size} bytes; the limit is ${maxBodyBytes} (MAX_BODY_BYTES). Send fewer instances per request, or use batch scoring for large jobs.`,
        );
      }
      const encoding = event.headers?.['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') {
        throw new InferaError(
          `Content-Encoding is '${encoding}'; this API takes uncompressed bodies. Send the body without compression (and without a Content-Encoding header).`,
          { status: 415, code: 'unsupported_media_type' },
        );
      }
    },
  };
}
