/**
 * Error mapping, last of the edge's steps: every error becomes `{"error": ...}` (errors.ts), is
 * logged without payload values, and is counted: InvalidRequests for the caller's mistakes,
 * ServerErrors for ours.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InferaError } from '#core/errors.ts';
import { functionVersion } from '#runtime/config.ts';
import { logger, metrics } from '#runtime/observability.ts';
import { errorAnswer } from '../errors.ts';
import type { ApiEvent, Scope, ScopeOf } from '../request.ts';
import { json, routeHeaders } from '../responses.ts';
import { requestIdOf } from './route.ts';

/**
 * One ServerErrors data point under the service dimension alone, one under the Lambda version
 * and, once the model is known, one under its model and version too. A handled 5xx is not a
 * Lambda error, so the canary alarm adds the version's count to that version's Errors; the
 * dashboard reads the first; a shared model function's alarm watches each model by the third.
 */
function countServerError(scope: Scope): void {
  const single = metrics.singleMetric();
  single.addMetric('ServerErrors', MetricUnit.Count, 1);
  const byVersion = metrics.singleMetric();
  byVersion.addDimensions({ functionVersion: functionVersion() });
  byVersion.addMetric('ServerErrors', MetricUnit.Count, 1);
  if (scope.model) {
    const perModel = metrics.singleMetric();
    perModel.addDimensions({ model: scope.model, version: scope.version ?? 'unresolved' });
    perModel.addMetric('ServerErrors', MetricUnit.Count, 1);
  }
}

export function errorMapper(opts: {
  readonly countInvalid: boolean;
  readonly scopeOf?: ScopeOf | undefined;
}): MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      const { event, context, error } = request;
      const requestId = event.edge?.requestId ?? requestIdOf(event, context);
      // Before the handler ran, only the path says where the request would have gone (read here,
      // on the error path, not for every request).
      const scope =
        event.edge?.api?.scope ??
        (event.edge && opts.scopeOf ? opts.scopeOf(event.edge.params, event.edge.query) : {});
      const answer = errorAnswer(error, { name: 'requestId', value: requestId, where: 'the API' });
      if (answer.exposed && error instanceof InferaError) {
        // Messages name paths and bounds, never payload values, so they are safe to log.
        logger.warn('request rejected', {
          status: error.status,
          code: error.code,
          error: error.message,
          // A 5xx from upstream (an endpoint's container): what it said, for the log only.
          ...(error.status >= 500 && error.cause instanceof Error ? { cause: error.cause.message } : {}),
          ...scope,
        });
        if (opts.countInvalid && error.status >= 500) countServerError(scope);
        if (opts.countInvalid && error.status < 500) {
          if (scope.model)
            metrics.addDimensions({ model: scope.model, version: scope.version ?? 'unresolved' });
          metrics.addMetric('InvalidRequests', MetricUnit.Count, 1);
        }
      } else {
        logger.error('unhandled error', { error: error ?? undefined, ...scope });
        if (opts.countInvalid) countServerError(scope);
      }
      request.response = json(answer.status, answer.body, requestId, {
        ...answer.headers,
        ...routeHeaders(scope),
      });
    },
  };
}
