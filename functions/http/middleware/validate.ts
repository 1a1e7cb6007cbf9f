/** Schema validation: the parsed JSON against the operation's request schema, 400 naming each field. */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ValidationError } from '#core/errors.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import type { ApiEvent } from '../request.ts';

export function validateBody(): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  return {
    before: ({ event }) => {
      const edge = event.edge;
      const schema = edge?.operation.request;
      if (!edge || !schema || edge.raw) return;
      const checked = schema.safeParse(edge.parsed, { reportInput: true });
      if (!checked.success) {
        const details = formatIssues(checked.error, 'body');
        throw new ValidationError(
          details.length === 1
            ? `Invalid request: ${details[0]}`
            : `Invalid request: ${details.length} problems, first: ${details[0]}`,
          details,
        );
      }
      edge.body = checked.data;
    },
  };
}
