import { setTimeout as sleep } from 'node:timers/promises';
import { InferaError } from '../errors.ts';
import type { EndpointRef } from '../model/placement.ts';
import type { EndpointInvoker, EndpointReply } from '../ports.ts';

/**
 * Calling heavy models on their endpoints: bounded retries with jittered backoff inside the
 * request's time budget, a circuit breaker per endpoint, and one mapping from what went wrong
 * to the HTTP status a caller sees. Vendor-neutral: adapters translate their errors to faults.
 */

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

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long it stays open before one probe call may test the endpoint. */
  readonly cooldownMs: number;
  readonly now?: () => number;
}

export type Gate =
  | { readonly ok: true; readonly probe: boolean }
  | { readonly ok: false; readonly retryAfterMs: number };

/**
 * A circuit breaker: closed (calls flow, failures counted), open (calls fail fast), half-open
 * (after the cooldown one probe goes through: success closes the circuit, failure reopens it).
 */
export class CircuitBreaker {
  readonly #opts: BreakerOptions;
  readonly #now: () => number;
  #failures = 0;
  #openedAt: number | undefined;
  #probing = false;

  constructor(opts: BreakerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#now() - this.#openedAt >= this.#opts.cooldownMs ? 'half-open' : 'open';
  }

  get failures(): number {
    return this.#failures;
  }

  /** May a call go through now? In half-open, only one at a time (the probe). */
  acquire(): Gate {
    const state = this.state;
    if (state === 'closed') return { ok: true, probe: false };
    if (state === 'half-open' && !this.#probing) {
      this.#probing = true;
      return { ok: true, probe: true };
    }
    const elapsed = this.#now() - (this.#openedAt ?? 0);
    return { ok: false, retryAfterMs: Math.max(this.#opts.cooldownMs - elapsed, 250) };
  }

  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#probing = false;
  }

  failure(probe: boolean): void {
    this.#failures++;
    if (probe || this.#failures >= this.#opts.failureThreshold) this.#openedAt = this.#now();
    if (probe) this.#probing = false;
  }

  /** The call ended without saying anything about the endpoint's health (e.g. throttled). */
  release(probe: boolean): void {
    if (probe) this.#probing = false;
  }
}

export interface RemotePolicy {
  /** Budget for one scoring call, retries included. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly breaker: BreakerOptions;
  readonly random?: () => number;
}

export const DEFAULT_REMOTE_POLICY: RemotePolicy = {
  timeoutMs: 25_000,
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  breaker: { failureThreshold: 5, cooldownMs: 10_000 },
};

/** An attempt needs at least this long to be worth starting. */
const MIN_ATTEMPT_MS = 50;

export interface InvokeOptions<T> {
  readonly body: string;
  readonly contentType: string;
  readonly accept: string;
  /** Epoch ms by which the answer is needed (the Lambda's remaining time); the policy budget caps it. */
  readonly deadline?: number;
  /** Checks and decodes the reply; throw EndpointFault('malformed') when it is not usable. */
  readonly parse: (reply: EndpointReply) => T;
}

export interface Invoked<T> {
  readonly value: T;
  readonly attempts: number;
  readonly variant: string | undefined;
  readonly latencyMs: number;
  /** The execution provider the infera container says it ran (cuda, cpu), when it says. */
  readonly provider: string | undefined;
}

/**
 * The execution provider in the custom attributes an infera container answers with
 * (`infera-provider=cuda`); undefined for other containers. Attributes are `;`-separated `k=v`.
 */
export function providerOf(customAttributes: string | undefined): string | undefined {
  for (const part of (customAttributes ?? '').split(';')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (k === 'infera-provider' && v && /^[a-z0-9-]{1,32}$/.test(v)) return v;
  }
  return undefined;
}

const RETRYABLE: ReadonlySet<FaultKind> = new Set(['unavailable', 'network', 'throttled']);

/** Whether a fault says the endpoint is unhealthy (counts toward opening its circuit). */
function unhealthy(f: EndpointFault): boolean {
  if (f.kind === 'model') return f.originalStatus === undefined || f.originalStatus >= 500;
  return f.kind !== 'invalid' && f.kind !== 'throttled';
}

/** The endpoints this process calls, each with its own breaker. */
export class RemoteEndpoints {
  readonly policy: RemotePolicy;
  readonly #invoker: EndpointInvoker;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #random: () => number;

  constructor(invoker: EndpointInvoker, policy: RemotePolicy = DEFAULT_REMOTE_POLICY) {
    this.#invoker = invoker;
    this.policy = policy;
    this.#random = policy.random ?? Math.random;
  }

  breaker(endpoint: EndpointRef): CircuitBreaker {
    const key = `${endpoint.name}/${endpoint.variant}`;
    let b = this.#breakers.get(key);
    if (!b) {
      b = new CircuitBreaker(this.policy.breaker);
      this.#breakers.set(key, b);
    }
    return b;
  }

  async invoke<T>(endpoint: EndpointRef, opts: InvokeOptions<T>): Promise<Invoked<T>> {
    const started = Date.now();
    const deadline = Math.min(opts.deadline ?? Number.POSITIVE_INFINITY, started + this.policy.timeoutMs);
    const budget = deadline - started;
    const breaker = this.breaker(endpoint);
    let last: EndpointFault | undefined;
    let attempts = 0;
    while (attempts < this.policy.maxAttempts) {
      const remaining = deadline - Date.now();
      if (remaining < MIN_ATTEMPT_MS) break;
      const gate = breaker.acquire();
      if (!gate.ok) {
        throw new EndpointError(
          'circuit-open',
          endpoint.name,
          attempts,
          `Endpoint ${endpoint.name} is unavailable: its circuit is open after ${breaker.failures} consecutive failures${
            last ? ` (last: ${last.message})` : ''
          }; calls fail fast until a probe succeeds, in ${Math.ceil(gate.retryAfterMs / 1000)} s.`,
          {
            status: 503,
            code: 'endpoint_unavailable',
            retryAfterSeconds: Math.ceil(gate.retryAfterMs / 1000),
          },
        );
      }
      attempts++;
      try {
        const reply = await this.#invoker.invoke({
          endpoint: endpoint.name,
          variant: endpoint.variant,
          body: opts.body,
          contentType: opts.contentType,
          accept: opts.accept,
          timeoutMs: remaining,
        });
        let value: T;
        try {
          value = opts.parse(reply);
        } catch (err) {
          throw err instanceof EndpointFault ? err : new EndpointFault('malformed', (err as Error).message);
        }
        breaker.success();
        return {
          value,
          attempts,
          variant: reply.invokedVariant,
          latencyMs: Date.now() - started,
          provider: providerOf(reply.customAttributes),
        };
      } catch (err) {
        const fault =
          err instanceof EndpointFault
            ? err
            : new EndpointFault('network', (err as Error).message ?? String(err), { cause: err });
        if (unhealthy(fault)) breaker.failure(gate.probe);
        else if (fault.kind === 'model' || fault.kind === 'invalid') breaker.success();
        else breaker.release(gate.probe);
        last = fault;
        const throttledByModel = fault.kind === 'model' && fault.originalStatus === 429;
        if (!(RETRYABLE.has(fault.kind) || throttledByModel) || attempts >= this.policy.maxAttempts) break;
        const cap = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempts - 1));
        const delay = this.#random() * cap;
        if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) break;
        await sleep(delay);
      }
    }
    throw toEndpointError(
      endpoint,
      last,
      attempts,
      budget,
      this.policy.breaker.cooldownMs,
      Date.now() - started,
    );
  }
}

function toEndpointError(
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
