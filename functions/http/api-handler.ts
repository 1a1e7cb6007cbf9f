/**
 * Composes a deployed API handler: observability first, then the edge's middlewares, each one job
 * (route, limits, body, schema, errors), then the function's handler for the operation. Every
 * API function is built this way, so every route behaves the same.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { logger, metrics, traceInvocations, tracer } from '#runtime/observability.ts';
import { callerOf } from './caller.ts';
import { assertResultFits } from './lambda-payload.ts';
import { bodyLimits } from './middleware/body-limits.ts';
import { bodyParser } from './middleware/body-parser.ts';
import { errorMapper } from './middleware/error-mapper.ts';
import { routeRequest } from './middleware/route.ts';
import { validateBody } from './middleware/validate.ts';
import type { ApiEvent, ApiRequest, ApiResponse, Handlers, ScopeOf } from './request.ts';
import { binaryResult, json } from './responses.ts';
import { type BodyOf, type FunctionName, OPERATIONS, type OperationId } from './routes.ts';

type Result = APIGatewayProxyStructuredResultV2;

export interface ApiHandlerOptions {
  readonly maxBodyBytes: number;
  /** Record EMF metrics (InvalidRequests, ServerErrors, and the handler's own). */
  readonly metrics: boolean;
  /** Where a request would have gone, for an error raised before the handler knew. */
  readonly scopeOf?: ScopeOf;
  /** Steps around the handler that read its answer, e.g. monitoring; after the edge's own. */
  readonly use?: readonly MiddlewareObj<ApiEvent, Result>[];
}

/** The request a handler gets, from what the edge's middlewares found. */
function apiRequest(event: ApiEvent, context: Context): ApiRequest {
  const edge = event.edge;
  if (!edge) throw new Error('the route middleware did not run before the handler');
  tracer.putAnnotation('operation', edge.operation.id);
  const caller = callerOf(event);
  const remaining = context.getRemainingTimeInMillis?.() ?? 30_000;
  return {
    operation: edge.operation,
    params: edge.params,
    query: edge.query,
    headers: event.headers ?? {},
    // The schema middleware parsed it with this operation's request schema.
    body: edge.body as BodyOf<OperationId>,
    requestId: edge.requestId,
    deadline: Date.now() + Math.max(remaining - 1000, Math.min(remaining, 100)),
    scope: {},
    caller,
    binary: edge.binary,
    raw: edge.raw,
  };
}

export function createApiHandler<F extends FunctionName>(
  fn: F,
  handlers: Handlers<F>,
  opts: ApiHandlerOptions,
) {
  const operations = OPERATIONS.filter((o) => o.function === fn);
  // One lookup from the route table's ids to this function's handlers; the route middleware only
  // ever yields an operation of this function, so every id it yields has an entry.
  const byId = new Map<string, (req: ApiRequest) => Promise<ApiResponse> | ApiResponse>(
    Object.entries(handlers),
  );
  const h = middy<ApiEvent, Result>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(traceInvocations({ captureResponse: false }));
  if (opts.metrics) h.use(logMetrics(metrics));
  h.use(errorMapper({ countInvalid: opts.metrics, scopeOf: opts.scopeOf }))
    .use(routeRequest(operations))
    .use(bodyLimits(opts.maxBodyBytes))
    .use(bodyParser())
    .use(validateBody());
  for (const m of opts.use ?? []) h.use(m);
  return h.handler(async (event, context) => {
    const api = apiRequest(event, context);
    if (event.edge) event.edge.api = api;
    const run = byId.get(api.operation.id);
    if (!run) throw new Error(`the ${fn} function has no handler for ${api.operation.id}`);
    const res = await run(api);
    // An answer Lambda could not return becomes a 413 that says why, on AWS and locally alike.
    if (res.binary)
      return assertResultFits(
        binaryResult(
          res.status ?? 200,
          api.requestId,
          api.binary?.framing ?? 'header',
          res.body,
          res.binary,
          {
            ...res.headers,
          },
        ),
      );
    return assertResultFits(json(res.status ?? 200, res.body, api.requestId, { ...res.headers }));
  });
}
