import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Owner } from '#core/batch/owner.ts';
import {
  InferaError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '#core/errors.ts';
import { imageFormat } from '#core/image/format.ts';
import { attachBinaryInputs, binaryHeaderLength, type Framing, frameBinary } from '#core/protocol/binary.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { checkJsonDepth } from '#core/protocol/json-depth.ts';
import { jsonErrorWhere } from '#core/protocol/json-error.ts';
import type { InferRequest } from '#core/protocol/schemas.ts';
import { type FunctionName, matchPath, OPERATIONS, type Operation } from '#http/routes.ts';
import { logger, metrics, tracer } from '#runtime/observability.ts';
import { callerOf } from './caller.ts';
import { assertResultFits } from './lambda-payload.ts';

/** What a handler function receives: the matched operation and the validated request. */
export interface ApiRequest {
  readonly operation: Operation;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Request headers, names in lower case (as API Gateway HTTP APIs deliver them). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The JSON body, parsed and validated against the operation's request schema. */
  readonly body: unknown;
  readonly requestId: string;
  /** Epoch ms by which the function must have answered: the invocation's remaining time, less a margin. */
  readonly deadline: number;
  /** Filled in by the handler once known, so errors and metrics can name the model. */
  readonly scope: { model?: string; version?: string; route?: string; endpoint?: string };
  /** How a binary tensor data request was framed; binary answers are framed the same way. */
  readonly framing?: Framing;
  /** A raw body (an image file, plain text) for a `raw` operation; `body` is then undefined. */
  readonly raw?: RawBody;
  /** Who API Gateway says is calling (IAM principal or JWT subject); undefined on an open route. */
  readonly caller?: Owner;
}

export interface RawBody {
  /** The media type, lower case, without parameters: image/png, text/plain... */
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

/** Media types a raw-body operation takes as the input itself rather than as JSON. */
const RAW_TYPES = /^(image\/[a-z0-9.+-]+|application\/octet-stream|text\/plain)$/;

/** An error answer names where the request was routed, as a success does, once the model is known. */
function routeHeaders(scope: ApiRequest['scope']): Record<string, string> {
  return {
    ...(scope.route ? { 'x-infera-route': scope.route } : {}),
    ...(scope.version ? { 'x-model-version': scope.version } : {}),
  };
}

/** The media types a JSON body may come as: JSON itself, text/plain and curl's default form type. */
const JSON_TYPES = /^(application\/(json|[a-z0-9.+-]+\+json|x-www-form-urlencoded)|text\/plain)$/i;

/** The first bytes of a body (at most 64), decoded from base64 when the event is. */
function headOf(raw: string, base64: boolean): Buffer {
  return base64 ? Buffer.from(raw.slice(0, 88), 'base64') : Buffer.from(raw.slice(0, 64), 'latin1');
}

/**
 * Whether this body is raw, and as what: an image or octet stream, plain text that is not a JSON
 * object, or a PNG/JPEG file sent with no type or curl's default form type (`curl --data-binary
 * @photo.png`).
 */
function rawType(type: string | undefined, head: Buffer): string | undefined {
  const media = type?.split(';')[0]?.trim().toLowerCase();
  if (!media || media === 'application/x-www-form-urlencoded')
    return imageFormat(head) ? 'application/octet-stream' : undefined;
  if (!RAW_TYPES.test(media)) return undefined;
  // curl users have sent JSON as text/plain since v1; that still parses as JSON.
  const first = head.toString('latin1').trimStart().charAt(0);
  if (media === 'text/plain' && (first === '{' || first === '[')) return undefined;
  return media;
}

export interface ApiResponse {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Binary tensor data after the JSON body (the body is then its header). */
  readonly binary?: readonly Uint8Array[];
}

type ApiEvent = APIGatewayProxyEventV2 & {
  api?: ApiRequest;
  /** The path and query, once resolved: a body refused afterwards still names its route. */
  resolved?: { params: Record<string, string>; query: Record<string, string> };
};

/** What a function knows of a request from its path alone: the model, and where it routes. */
export type ScopeOf = (
  params: Readonly<Record<string, string>>,
  query: Readonly<Record<string, string>>,
) => ApiRequest['scope'];
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
function binaryResult(
  status: number,
  api: ApiRequest,
  body: unknown,
  chunks: readonly Uint8Array[],
  headers: Record<string, string>,
): Result {
  const framed = frameBinary(body, chunks, api.framing ?? 'header');
  return {
    statusCode: status,
    headers: { ...framed.headers, 'cache-control': 'no-store', 'x-request-id': api.requestId, ...headers },
    body: framed.body.toString('base64'),
    isBase64Encoded: true,
  };
}

function requestIdOf(event: APIGatewayProxyEventV2, context: Context): string {
  return event.requestContext?.requestId ?? context.awsRequestId;
}

/**
 * One ServerErrors data point under the service dimension alone, one under the Lambda version
 * and, once the model is known, one under its model and version too. A handled 5xx is not a
 * Lambda error, so the canary alarm adds the version's count to that version's Errors; the
 * dashboard reads the first; a shared model function's alarm watches each model by the third.
 */
function serverError(scope: ApiRequest['scope']): void {
  const single = metrics.singleMetric();
  single.addMetric('ServerErrors', MetricUnit.Count, 1);
  const byVersion = metrics.singleMetric();
  byVersion.addDimensions({ functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST' });
  byVersion.addMetric('ServerErrors', MetricUnit.Count, 1);
  if (scope.model) {
    const perModel = metrics.singleMetric();
    perModel.addDimensions({ model: scope.model, version: scope.version ?? 'unresolved' });
    perModel.addMetric('ServerErrors', MetricUnit.Count, 1);
  }
}

interface Resolved {
  readonly operation: Operation;
  readonly params: Readonly<Record<string, string>>;
}

/** Paths seen are few (a model's routes), so matching is done once per path, not per request. */
const RESOLVED_CACHE_LIMIT = 512;

/** Finds the operation for this event among those a function serves, or explains 404 / 405. */
function resolveOperation(
  ops: readonly Operation[],
  event: APIGatewayProxyEventV2,
  cache: Map<string, Resolved>,
): { operation: Operation; params: Record<string, string> } {
  const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  const key = `${method} ${event.routeKey ?? ''} ${path}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = matchOperation(ops, event, method, path);
    // Only matches are cached (an error throws above), and only so many: junk paths cannot grow it.
    if (cache.size < RESOLVED_CACHE_LIMIT) cache.set(key, hit);
  }
  return {
    operation: hit.operation,
    params: event.pathParameters
      ? ({ ...hit.params, ...event.pathParameters } as Record<string, string>)
      : { ...hit.params },
  };
}

function matchOperation(
  ops: readonly Operation[],
  event: APIGatewayProxyEventV2,
  method: string,
  path: string,
): Resolved {
  const fromRouteKey = event.routeKey?.includes(' ') ? event.routeKey.split(' ')[1] : undefined;
  const candidates = ops.filter((o) => (fromRouteKey && o.path === fromRouteKey) || matchPath(o.path, path));
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

function setRequest(
  event: ApiEvent,
  context: Context,
  requestId: string,
  operation: Operation,
  params: Record<string, string>,
  query: Record<string, string>,
  body: unknown,
  framing: Framing | undefined,
  raw: RawBody | undefined,
): void {
  tracer.putAnnotation('operation', operation.id);
  const caller = callerOf(event);
  const remaining = context.getRemainingTimeInMillis?.() ?? 30_000;
  const deadline = Date.now() + Math.max(remaining - 1000, Math.min(remaining, 100));
  event.api = {
    operation,
    params,
    query,
    headers: event.headers ?? {},
    body,
    requestId,
    deadline,
    scope: {},
    ...(caller ? { caller } : {}),
    ...(framing ? { framing } : {}),
    ...(raw ? { raw } : {}),
  };
}

/**
 * The HTTP edge, done once for every route: method guard (405), body limit (413), content type
 * (415), JSON parsing and request-schema validation (400), and error mapping. Handlers get typed,
 * validated input and throw InferaErrors; this turns those into `{"error": ...}` responses.
 */
export function httpEdge(opts: {
  operations: readonly Operation[];
  maxBodyBytes: number;
  countInvalid: boolean;
  scopeOf?: ScopeOf;
}): MiddlewareObj<ApiEvent, Result> {
  const resolved = new Map<string, Resolved>();
  return {
    before: (request) => {
      const { event, context } = request;
      const requestId = requestIdOf(event, context);
      logger.setCorrelationId(requestId);
      const { operation, params } = resolveOperation(opts.operations, event, resolved);
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
        if (v !== undefined) query[k] = v;
      event.resolved = { params, query };
      let body: unknown;
      let framing: ApiRequest['framing'];
      if (operation.request) {
        const raw = event.body ?? '';
        const size = Buffer.byteLength(raw, event.isBase64Encoded ? 'base64' : 'utf8');
        if (size > opts.maxBodyBytes) {
          throw new PayloadTooLargeError(
            `Body is ${size} bytes; the limit is ${opts.maxBodyBytes} (MAX_BODY_BYTES). Send fewer instances per request, or use batch scoring for large jobs.`,
          );
        }
        const headers = event.headers ?? {};
        const framed = operation.binary ? binaryHeaderLength(headers, size) : undefined;
        const headerLength = framed?.length;
        // Bytes only when needed (a base64 event, or binary tensors): a JSON text body is parsed as is.
        const bytes =
          event.isBase64Encoded || headerLength !== undefined
            ? Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8')
            : undefined;
        const type = headers['content-type'];
        const encoding = headers['content-encoding']?.trim().toLowerCase();
        if (encoding && encoding !== 'identity') {
          throw new InferaError(
            `Content-Encoding is '${encoding}'; this API takes uncompressed bodies. Send the body without compression (and without a Content-Encoding header).`,
            { status: 415, code: 'unsupported_media_type' },
          );
        }
        const rawMedia =
          operation.raw && headerLength === undefined
            ? rawType(type, headOf(raw, event.isBase64Encoded === true))
            : undefined;
        if (rawMedia) {
          const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
          if (bytes.length === 0)
            throw new ValidationError(`Body is empty; send the ${rawMedia} content as the body.`);
          setRequest(event, context, requestId, operation, params, query, undefined, undefined, {
            contentType: rawMedia,
            bytes,
          });
          return;
        }
        // curl -d sends application/x-www-form-urlencoded by default; a JSON body under it is accepted.
        if (headerLength === undefined && type && !JSON_TYPES.test(type.split(';')[0]?.trim() ?? '')) {
          throw new InferaError(
            `Content-Type is '${type}'; send the body as application/json${operation.binary ? ', or as binary tensor data with an Inference-Header-Content-Length header' : ''}${operation.raw ? ', or as a raw image/png, image/jpeg or text/plain body for a model with an image or text input' : ''}.`,
            { status: 415, code: 'unsupported_media_type' },
          );
        }
        const text = !bytes
          ? raw
          : (headerLength === undefined ? bytes : bytes.subarray(0, headerLength)).toString('utf8');
        if (text.trim() === '')
          throw new ValidationError('Body is empty; send a JSON object, e.g. {"instances": [{...}]}.');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          const hint =
            operation.raw && /x-www-form-urlencoded/i.test(type ?? '')
              ? " It came as application/x-www-form-urlencoded, curl's default for -d and --data-binary: to send an image or text file, add -H 'content-type: image/png' (or image/jpeg, text/plain)."
              : '';
          throw new ValidationError(`Body is not valid JSON (${jsonErrorWhere(err as Error, text)}).${hint}`);
        }
        checkJsonDepth(parsed);
        const checked = operation.request.safeParse(parsed, { reportInput: true });
        if (!checked.success) {
          const details = formatIssues(checked.error, 'body');
          throw new ValidationError(
            details.length === 1
              ? `Invalid request: ${details[0]}`
              : `Invalid request: ${details.length} problems, first: ${details[0]}`,
            details,
          );
        }
        body = checked.data;
        if (headerLength === undefined && operation.binary) {
          const i = (body as InferRequest).inputs.findIndex(
            (x) => x.parameters?.binary_data_size !== undefined,
          );
          if (i >= 0) {
            throw new ValidationError(
              `inputs[${i}] declares parameters.binary_data_size, but the request has no Inference-Header-Content-Length header (or SageMaker's ;json-header-size= in the Content-Type) saying where its JSON ends`,
            );
          }
        }
        if (headerLength !== undefined) {
          body = attachBinaryInputs(body as InferRequest, (bytes as Buffer).subarray(headerLength));
          framing = framed?.framing;
        }
      }
      setRequest(event, context, requestId, operation, params, query, body, framing, undefined);
    },
    onError: (request) => {
      const { event, context, error } = request;
      const requestId = requestIdOf(event, context);
      // Before the handler ran, only the path says where the request would have gone (read here,
      // on the error path, not for every request).
      const scope =
        event.api?.scope ??
        (event.resolved && opts.scopeOf ? opts.scopeOf(event.resolved.params, event.resolved.query) : {});
      if (error instanceof InferaError && error.expose) {
        // Messages name paths and bounds, never payload values, so they are safe to log.
        logger.warn('request rejected', {
          status: error.status,
          code: error.code,
          error: error.message,
          // A 5xx from upstream (an endpoint's container): what it said, for the log only.
          ...(error.status >= 500 && error.cause instanceof Error ? { cause: error.cause.message } : {}),
          ...scope,
        });
        if (opts.countInvalid && error.status >= 500) serverError(scope);
        if (opts.countInvalid && error.status < 500) {
          if (scope.model)
            metrics.addDimensions({ model: scope.model, version: scope.version ?? 'unresolved' });
          metrics.addMetric('InvalidRequests', MetricUnit.Count, 1);
        }
        const headers: Record<string, string> = {
          ...error.headers,
          ...(error instanceof MethodNotAllowedError ? { allow: error.allow.join(', ') } : {}),
          ...routeHeaders(scope),
        };
        request.response = json(
          error.status,
          {
            error: error.message,
            code: error.code,
            ...(error.details.length > 0 ? { details: error.details } : {}),
            requestId,
          },
          requestId,
          headers,
        );
        return;
      }
      logger.error('unhandled error', { error: error as Error, ...scope });
      if (opts.countInvalid) serverError(scope);
      request.response = json(
        500,
        {
          error: `Internal error. Quote request id ${requestId} when reporting it.`,
          code: 'internal_error',
          requestId,
        },
        requestId,
        routeHeaders(scope),
      );
    },
  };
}

/**
 * Composes a deployed API handler: observability first, then the HTTP edge, then the function.
 * Both API functions are built this way, so every route behaves the same.
 */
export function createApiHandler(
  fn: FunctionName,
  impl: (req: ApiRequest) => Promise<ApiResponse>,
  opts: { maxBodyBytes: number; metrics: boolean; scopeOf?: ScopeOf },
) {
  const operations = OPERATIONS.filter((o) => o.function === fn);
  const h = middy<ApiEvent, Result>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer, { captureResponse: false }));
  if (opts.metrics) h.use(logMetrics(metrics));
  return h
    .use(
      httpEdge({
        operations,
        maxBodyBytes: opts.maxBodyBytes,
        countInvalid: opts.metrics,
        ...(opts.scopeOf ? { scopeOf: opts.scopeOf } : {}),
      }),
    )
    .handler(async (event) => {
      const api = event.api as ApiRequest;
      const res = await impl(api);
      // An answer Lambda could not return becomes a 413 that says why, on AWS and locally alike.
      if (res.binary)
        return assertResultFits(
          binaryResult(res.status ?? 200, api, res.body, res.binary, { ...res.headers }),
        );
      return assertResultFits(json(res.status ?? 200, res.body, api.requestId, { ...res.headers }));
    });
}
