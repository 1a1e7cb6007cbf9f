import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.ts';
import type { EndpointRef } from '../model/placement.ts';
import type { EndpointInvoker, EndpointReply } from '../ports.ts';
import { type BreakerOptions, CircuitBreaker } from './breaker.ts';
import { EndpointError, EndpointFault, type FaultKind, toEndpointError } from './faults.ts';

/**
 * Calling heavy models on their endpoints: bounded retries with jittered backoff inside the
 * request's time budget, a circuit breaker per endpoint, and one mapping from what went wrong
 * to the HTTP status a caller sees. Vendor-neutral: adapters translate their errors to faults.
 */

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
          throw err instanceof EndpointFault ? err : new EndpointFault('malformed', messageOf(err));
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
            : new EndpointFault('network', messageOf(err) ?? String(err), { cause: err });
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
