import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type Owner, principalKey } from '#core/batch/owner.ts';

/** What API Gateway HTTP APIs put in `requestContext.authorizer` for IAM and JWT authorizers. */
interface Authorizer {
  readonly iam?: { readonly userId?: string; readonly userArn?: string };
  readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> };
}

/**
 * The caller of an API request as API Gateway authenticated it: the IAM principal (SigV4), or a
 * JWT's issuer and subject. Undefined on a route with no authorizer.
 */
export function callerOf(event: Pick<APIGatewayProxyEventV2, 'requestContext'>): Owner | undefined {
  const authorizer = (event.requestContext as { authorizer?: Authorizer } | undefined)?.authorizer;
  const iam = authorizer?.iam;
  if (iam?.userId) return { id: principalKey(iam.userId), ...(iam.userArn ? { arn: iam.userArn } : {}) };
  const claims = authorizer?.jwt?.claims;
  const sub = claims?.sub;
  if (typeof sub === 'string' && sub !== '') {
    const iss = typeof claims?.iss === 'string' ? claims.iss : '';
    return { id: `jwt:${iss}#${sub}`, arn: `${iss}#${sub}` };
  }
  return undefined;
}
