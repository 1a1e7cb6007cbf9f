import type * as z from 'zod';
import { monitoringReportSchema } from '#core/monitoring/report-schema.ts';
import {
  inferRequestSchema,
  inferResponseSchema,
  livenessSchema,
  modelDetailSchema,
  modelListSchema,
  openApiDocumentSchema,
  predictRequestSchema,
  predictResponseSchema,
  readinessSchema,
  v2ModelMetadataSchema,
  v2ServerMetadataSchema,
} from '#core/protocol/schemas.ts';
import { feedbackRequestSchema, feedbackResponseSchema } from '#core/quality/records.ts';
import { qualityReportSchema } from '#core/quality/report-schema.ts';
import { type FunctionName, type Operation, op } from './operation.ts';
import { BATCH_ROUTES } from './routes/batch.ts';
import { TRITON_ROUTES } from './routes/triton.ts';

export type { FunctionName, Operation } from './operation.ts';

/**
 * The API's single route table. API Gateway routes are `ANY <path>`: the handler, not the gateway,
 * answers a wrong method with 405, so the local platform and AWS behave the same.
 */
const TABLE = [
  op({
    id: 'listModels',
    method: 'GET',
    path: '/v1/models',
    function: 'models',
    tag: 'v1',
    summary: 'List models, their versions and aliases.',
    response: modelListSchema,
  }),
  op({
    id: 'getModel',
    method: 'GET',
    path: '/v1/models/{model}',
    function: 'models',
    tag: 'v1',
    summary: 'Model metadata, including the instance input schema as JSON Schema.',
    response: modelDetailSchema,
    query: { version: 'Version number or alias; default live.' },
  }),
  op({
    id: 'predict',
    method: 'POST',
    path: '/v1/models/{model}/predict',
    function: 'predict',
    tag: 'v1',
    summary:
      'Score instances with the live version, or the one in ?version=. Models with an image or text input also take the raw file or text as the body.',
    request: predictRequestSchema,
    response: predictResponseSchema,
    query: { version: 'Version number or alias; default live.' },
    raw: true,
  }),
  op({
    id: 'getMonitoring',
    method: 'GET',
    path: '/v1/models/{model}/monitoring',
    function: 'predict',
    tag: 'v1',
    summary:
      'Monitoring as seen by the instance that answers: traffic split, per-version rates and latency, per-feature drift, missing and out-of-range rates, score drift, shadow comparisons, recent drift events.',
    response: monitoringReportSchema,
  }),
  op({
    id: 'postFeedback',
    method: 'POST',
    path: '/v1/models/{model}/feedback',
    function: 'models',
    tag: 'v1',
    summary:
      "Ground truth for earlier predictions: [{id, label | value, at?}], the id being the prediction's x-request-id (`<id>#<row>` for a row of a larger request) or the row's quality.idField. Sending the same labels again changes nothing; a later label for an id replaces the earlier one.",
    request: feedbackRequestSchema,
    response: feedbackResponseSchema,
  }),
  op({
    id: 'getQuality',
    method: 'GET',
    path: '/v1/models/{model}/quality',
    function: 'models',
    tag: 'v1',
    summary:
      'Labelled quality per version over the window: accuracy, F1 per label, AUC and calibration for classifiers, MAE and RMSE for regression; labelled counts, label delay, and the alarms of the manifest.',
    response: qualityReportSchema,
    query: { hours: 'The window in hours, from 0.1 to 2160; default the manifest quality.windowHours.' },
  }),
  op({
    id: 'serverMetadata',
    method: 'GET',
    path: '/v2',
    function: 'models',
    tag: 'v2',
    summary: 'Open Inference Protocol server metadata.',
    response: v2ServerMetadataSchema,
  }),
  op({
    id: 'serverLive',
    method: 'GET',
    path: '/v2/health/live',
    function: 'models',
    tag: 'v2',
    summary: 'Liveness.',
    response: livenessSchema,
  }),
  op({
    id: 'serverReady',
    method: 'GET',
    path: '/v2/health/ready',
    function: 'models',
    tag: 'v2',
    summary: 'Readiness: every model session is loaded and every live version can answer.',
    response: readinessSchema,
  }),
  op({
    id: 'modelMetadata',
    method: 'GET',
    path: '/v2/models/{model}',
    function: 'models',
    tag: 'v2',
    summary: 'Model metadata (live version).',
    response: v2ModelMetadataSchema,
  }),
  op({
    id: 'modelVersionMetadata',
    method: 'GET',
    path: '/v2/models/{model}/versions/{version}',
    function: 'models',
    tag: 'v2',
    summary: 'Model version metadata.',
    response: v2ModelMetadataSchema,
  }),
  op({
    id: 'modelReady',
    method: 'GET',
    path: '/v2/models/{model}/ready',
    // The model's own function: it holds the endpoint's circuit breaker.
    function: 'predict',
    tag: 'v2',
    summary: 'Model readiness (live version).',
    response: readinessSchema,
  }),
  op({
    id: 'modelVersionReady',
    method: 'GET',
    path: '/v2/models/{model}/versions/{version}/ready',
    function: 'predict',
    tag: 'v2',
    summary: 'Model version readiness.',
    response: readinessSchema,
  }),
  op({
    id: 'infer',
    method: 'POST',
    path: '/v2/models/{model}/infer',
    function: 'predict',
    tag: 'v2',
    summary: 'Open Inference Protocol infer (live version).',
    request: inferRequestSchema,
    response: inferResponseSchema,
    binary: true,
  }),
  op({
    id: 'inferVersion',
    method: 'POST',
    path: '/v2/models/{model}/versions/{version}/infer',
    function: 'predict',
    tag: 'v2',
    summary: 'Open Inference Protocol infer on a version or alias.',
    request: inferRequestSchema,
    response: inferResponseSchema,
    binary: true,
  }),
  ...TRITON_ROUTES,
  ...BATCH_ROUTES,
  op({
    id: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    function: 'models',
    tag: 'meta',
    summary: 'This API as OpenAPI 3.1, generated from the code.',
    response: openApiDocumentSchema,
  }),
] as const;

/** An operation of the table, its id one of the API's. */
export type RouteOperation = Operation & { readonly id: OperationId };

/** The route table, each operation seen through the common interface. */
export const OPERATIONS: readonly RouteOperation[] = TABLE;

/** One of the API's operation ids. */
export type OperationId = (typeof TABLE)[number]['id'];

type OperationOf<Id extends OperationId> = Extract<(typeof TABLE)[number], { readonly id: Id }>;

/** The operations one function serves. */
export type OperationIdOf<F extends FunctionName> = Extract<
  (typeof TABLE)[number],
  { readonly function: F }
>['id'];

/** An operation's request body, as its schema parses it; undefined for one that takes none. */
export type BodyOf<Id extends OperationId> = Id extends OperationId
  ? OperationOf<Id> extends { readonly request: infer S extends z.ZodType }
    ? z.output<S>
    : undefined
  : never;

/** Unique paths with the function serving each: what a gateway registers as `ANY <path>` routes. */
export function routePaths(): { path: string; function: FunctionName }[] {
  const seen = new Map<string, FunctionName>();
  for (const o of OPERATIONS) seen.set(o.path, o.function);
  return [...seen]
    .map(([path, fn]) => ({ path, function: fn }))
    .sort((a, b) => bySpecificity(a.path, b.path));
}

/**
 * API Gateway's precedence between two path templates that match one path: the one with a literal
 * segment where the other has a {parameter}, segment by segment, comes first (/v2/models/stats
 * before /v2/models/{model}).
 */
export function bySpecificity(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = sa[i]?.startsWith('{') ?? false;
    const pb = sb[i]?.startsWith('{') ?? false;
    if (pa !== pb) return pa ? 1 : -1;
  }
  return 0;
}

/** Matches a concrete path against a template; returns the path parameters or undefined. */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i] ?? '';
    const val = p[i] ?? '';
    if (seg.startsWith('{') && seg.endsWith('}')) {
      if (!val) return undefined;
      try {
        params[seg.slice(1, -1)] = decodeURIComponent(val);
      } catch {
        params[seg.slice(1, -1)] = val;
      }
    } else if (seg !== val) {
      return undefined;
    }
  }
  return params;
}
