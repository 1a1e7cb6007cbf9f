/**
 * A circuit breaker per endpoint: after enough failures in a row calls fail fast, until a probe
 * after the cooldown finds the endpoint healthy again.
 */

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
