/**
 * Route: finds the operation a request is for among those a function serves, or answers 404 /
 * 405 naming the routes; reads the path parameters and the query. First of the edge's steps.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { MethodNotAllowedError, NotFoundError } from '#core/errors.ts';
import { logger } from '#runtime/observability.ts';
import type { ApiEvent } from '../request.ts';
import { bySpecificity, matchPath, OPERATIONS, type RouteOperation } from '../routes.ts';

interface Resolved {
  readonly operation: RouteOperation;
  readonly params: Readonly<Record<string, string>>;
}

/** Paths seen are few (a model's routes), so matching is done once per path, not per request. */
const RESOLVED_CACHE_LIMIT = 512;

export function requestIdOf(event: APIGatewayProxyEventV2, context: Context): string {
  return event.requestContext?.requestId ?? context.awsRequestId;
}

export function routeRequest(
  operations: readonly RouteOperation[],
): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const cache = new Map<string, Resolved>();
  return {
    before: ({ event, context }) => {
      const requestId = requestIdOf(event, context);
      logger.setCorrelationId(requestId);
      const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
      const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
      const key = `${method} ${event.routeKey ?? ''} ${path}`;
      let hit = cache.get(key);
      if (!hit) {
        hit = matchOperation(operations, event.routeKey, method, path);
        // Only matches are cached (an error throws above), and only so many: junk paths cannot grow it.
        if (cache.size < RESOLVED_CACHE_LIMIT) cache.set(key, hit);
      }
      const params: Record<string, string> = { ...hit.params };
      for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (v !== undefined) params[k] = v;
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
        if (v !== undefined) query[k] = v;
      event.edge = { requestId, operation: hit.operation, params, query };
    },
  };
}

function matchOperation(
  ops: readonly RouteOperation[],
  routeKey: string | undefined,
  method: string,
  path: string,
): Resolved {
  const fromRouteKey = routeKey?.includes(' ') ? routeKey.split(' ')[1] : undefined;
  // The route API Gateway matched first, then the most specific template (a literal over a parameter).
  const candidates = ops
    .filter((o) => (fromRouteKey && o.path === fromRouteKey) || matchPath(o.path, path))
    .sort(
      (a, b) =>
        Number(b.path === fromRouteKey) - Number(a.path === fromRouteKey) || bySpecificity(a.path, b.path),
    );
  if (candidates.length === 0) {
    // On AWS each model has its own function and routes; a model without them lands here.
    const model = OPERATIONS.map((o) => matchPath(o.path, path)?.model).find((m) => m !== undefined);
    if (model !== undefined) {
      throw new NotFoundError(`Model '${model}' is not deployed here. GET /v1/models lists the models.`);
    }
    throw new NotFoundError(`No route for ${method} ${path}. The routes are listed at GET /openapi.json.`);
  }
  const operation = candidates.find((o) => o.method === method);
  if (!operation)
    throw new MethodNotAllowedError(method, path, [...new Set(candidates.map((o) => o.method))]);
  // A per-model route (ANY /v1/models/iris/predict) carries no {model} parameter: take it from the path.
  return { operation, params: matchPath(operation.path, path) ?? {} };
}
