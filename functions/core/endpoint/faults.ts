/**
 * What can go wrong calling an endpoint, and the one mapping from it to the status a caller sees:
 * adapters throw EndpointFaults, the retry loop turns the last one into an EndpointError.
 */
import { InferaError } from '../errors.ts';
import type { EndpointRef } from '../model/placement.ts';

export type FaultKind =
  /** The container answered with an error status (SageMaker ModelError). */
  | 'model'
  /** The service rejected the call itself (SageMaker ValidationError). */
  | 'invalid'
  /** No such endpoint. */
  | 'missing'
  /** Not ready, unavailable or failing inside the service. */
  | 'unavailable'
  | 'throttled'
  /** The socket or read timed out. */
  | 'timeout'
  /** Refused, reset or unreachable. */
  | 'network'
  /** The reply is not what the protocol promises. */
  | 'malformed';

export class EndpointFault extends Error {
  readonly kind: FaultKind;
  /** The container's own status, for 'model'. */
  readonly originalStatus: number | undefined;

  constructor(kind: FaultKind, message: string, opts: { originalStatus?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EndpointFault';
    this.kind = kind;
    this.originalStatus = opts.originalStatus;
  }
}

/** The endpoint failed in a way a caller should see, with the status and code that say how. */
export class EndpointError extends InferaError {
  readonly kind: FaultKind | 'circuit-open';
  readonly endpoint: string;
  readonly attempts: number;

  constructor(
    kind: FaultKind | 'circuit-open',
    endpoint: string,
    attempts: number,
    message: string,
    opts: { status: number; code: string; retryAfterSeconds?: number; cause?: unknown },
  ) {
    super(message, {
      status: opts.status,
      code: opts.code,
      expose: true,
      cause: opts.cause,
      ...(opts.retryAfterSeconds !== undefined
        ? { headers: { 'retry-after': String(opts.retryAfterSeconds) } }
        : {}),
    });
    this.kind = kind;
    this.endpoint = endpoint;
    this.attempts = attempts;
  }
}

export function toEndpointError(
  endpoint: EndpointRef,
  fault: EndpointFault | undefined,
  attempts: number,
  budgetMs: number,
  cooldownMs: number,
  elapsedMs: number,
): EndpointError {
  const name = endpoint.name;
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  const retryAfter = Math.max(1, Math.ceil(cooldownMs / 1000));
  if (!fault) {
    return new EndpointError(
      'timeout',
      name,
      attempts,
      `Endpoint ${name}: no time left in the ${budgetMs} ms budget for another attempt.`,
      { status: 504, code: 'endpoint_timeout' },
    );
  }
  const e = (kind: FaultKind, status: number, code: string, message: string, retry?: number) =>
    new EndpointError(kind, name, attempts, message, {
      status,
      code,
      cause: fault,
      ...(retry !== undefined ? { retryAfterSeconds: retry } : {}),
    });
  switch (fault.kind) {
    case 'model':
      if (fault.originalStatus === 429)
        return e('throttled', 429, 'throttled', `Endpoint ${name} is busy (${tries}): ${fault.message}`, 1);
      if (fault.originalStatus !== undefined && fault.originalStatus >= 400 && fault.originalStatus < 500)
        return e(
          'model',
          400,
          'model_rejected_input',
          `The model container on ${name} rejected the input (status ${fault.originalStatus}): ${fault.message}`,
        );
      // Its message stays in the log (the error's cause): a light model's internal error shows
      // the caller a request id only, and so does a heavy model's.
      return e(
        'model',
        502,
        'model_error',
        `The model container on ${name} failed${fault.originalStatus ? ` with status ${fault.originalStatus}` : ''}; its message is in this function's log. Quote the request id when reporting it.`,
      );
    case 'invalid':
      return e('invalid', 400, 'invalid_request', `SageMaker rejected the call to ${name}: ${fault.message}`);
    case 'missing':
      return e(
        'missing',
        502,
        'endpoint_not_found',
        `Endpoint ${name} does not exist in this account and region: deploy it (cdk deploy), or set target.endpointName in the manifest. (${fault.message})`,
      );
    case 'throttled':
      return e(
        'throttled',
        429,
        'throttled',
        `Endpoint ${name} is throttling requests (${tries}); slow down and retry.`,
        1,
      );
    case 'timeout':
      return e(
        'timeout',
        504,
        'endpoint_timeout',
        `Endpoint ${name} timed out: ${tries} in ${elapsedMs} ms, of a ${budgetMs} ms budget (SAGEMAKER_TIMEOUT_MS, kept under API Gateway's 30 s, and the request's own deadline). For long-running inputs use batch scoring.`,
      );
    case 'malformed':
      return e(
        'malformed',
        502,
        'bad_endpoint_response',
        `Endpoint ${name} returned a response infera cannot read: ${fault.message}`,
      );
    default:
      return e(
        fault.kind,
        503,
        'endpoint_unavailable',
        `Endpoint ${name} is unavailable after ${tries}: ${fault.message}`,
        retryAfter,
      );
  }
}
