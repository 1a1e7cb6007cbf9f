/**
 * What the edge hands a handler, and what a handler answers. The edge's middlewares fill the
 * request in order (route, limits, body, schema); the handler map gets it typed per operation.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Owner } from '#core/batch/owner.ts';
import { ValidationError } from '#core/errors.ts';
import type { BinaryData } from '#core/protocol/binary.ts';
import type { RawBody } from '#core/protocol/raw.ts';
import type {
  BodyOf,
  FunctionName,
  Operation,
  OperationId,
  OperationIdOf,
  RouteOperation,
} from './routes.ts';

export type { RawBody } from '#core/protocol/raw.ts';

/** Filled in by the handler once known, so errors and metrics can name the model. */
export interface Scope {
  model?: string;
  version?: string;
  route?: string;
  endpoint?: string;
}

/** What a handler receives: the matched operation and the validated request. */
export interface ApiRequest<Id extends OperationId = OperationId> {
  readonly operation: Operation & { readonly id: Id };
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Request headers, names in lower case (as API Gateway HTTP APIs deliver them). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The JSON body, parsed and validated against the operation's request schema. */
  readonly body: BodyOf<Id> | undefined;
  readonly requestId: string;
  /** Epoch ms by which the function must have answered: the invocation's remaining time, less a margin. */
  readonly deadline: number;
  readonly scope: Scope;
  /** A binary tensor data request's tensor bytes, and its framing (binary answers use the same). */
  readonly binary?: BinaryData | undefined;
  /** A raw body (an image file, plain text) for a `raw` operation; `body` is then undefined. */
  readonly raw?: RawBody | undefined;
  /** Who API Gateway says is calling (IAM principal or JWT subject); undefined on an open route. */
  readonly caller?: Owner | undefined;
}

export interface ApiResponse {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Binary tensor data after the JSON body (the body is then its header). */
  readonly binary?: readonly Uint8Array[] | undefined;
}

/** One function's handlers, one per operation it serves, each typed by its route. */
export type Handlers<F extends FunctionName> = {
  readonly [Id in OperationIdOf<F>]: (req: ApiRequest<Id>) => Promise<ApiResponse> | ApiResponse;
};

/** What a function knows of a request from its path alone: the model, and where it routes. */
export type ScopeOf = (
  params: Readonly<Record<string, string>>,
  query: Readonly<Record<string, string>>,
) => Scope;

/** The edge's work so far, carried on the event from one middleware to the next. */
export interface EdgeState {
  readonly requestId: string;
  readonly operation: RouteOperation;
  readonly params: Record<string, string>;
  readonly query: Record<string, string>;
  parsed?: unknown;
  body?: unknown;
  raw?: RawBody;
  binary?: BinaryData;
  api?: ApiRequest;
}

export type ApiEvent = APIGatewayProxyEventV2 & { edge?: EdgeState };

/** A body-taking operation's body: the edge has parsed it, unless the request came raw. */
export function required<T>(body: T | undefined): T {
  if (body === undefined) throw new ValidationError('Body is required; send a JSON object.');
  return body;
}
