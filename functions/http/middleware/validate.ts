/** Schema validation: the parsed JSON against the operation's request schema, 400 naming each field. */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { ValidationError } from '#core/errors.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import type { ApiEvent } from '../request.ts';

export function validateBody(): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  return {
    before: ({ event }) => {
      const edge = event.edge;
      const schema = edge?.operation.request;
      if (!edge || !schema || edge.raw) return;
      edge.body = checkBody(schema, edge.parsed);
    },
  };
}

/** A parsed body checked against a request schema, or a 400 naming each field (the container's too). */
export function checkBody<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const checked = schema.safeParse(value, { reportInput: true });
  if (checked.success) return checked.data;
  const details = formatIssues(checked.error, 'body');
  throw new ValidationError(
    details.length === 1
      ? `Invalid request: ${details[0]}`
      : `Invalid request: ${details.length} problems, first: ${details[0]}`,
    details,
  );
}
