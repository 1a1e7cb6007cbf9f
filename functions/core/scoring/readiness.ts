/**
 * Readiness, per version and for the server: whether this process can answer for a version now,
 * and why not. Strict as Triton's server readiness: every session loaded and every live version
 * (both sides of a canary) able to answer.
 */

import type { RemoteEndpoints } from '../endpoint/remote.ts';
import type { ModelRegistry, ModelVersion } from '../model/registry.ts';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface ServerReadiness {
  ready: boolean;
  reason?: string;
  models: { name: string; version: string; ready: boolean; reason: string }[];
}

/** What readiness reads from the scorer. */
export interface ReadinessSource {
  readonly registry: ModelRegistry;
  readonly remote: RemoteEndpoints | undefined;
  /** True once every in-process version has a session. */
  readonly ready: boolean;
  inProcess(mv: ModelVersion): boolean;
}

const LOADING = 'the models are still loading';

/**
 * Still loading, or the version's endpoint circuit is open (with or without a fallback answering
 * in its place), or ready.
 */
export function versionReadiness(src: ReadinessSource, mv: ModelVersion): Readiness {
  return src.ready ? loadedReadiness(src, mv) : { ready: false, reason: LOADING };
}

/** A version's readiness once every session is loaded: its endpoint's circuit decides. */
function loadedReadiness(src: ReadinessSource, mv: ModelVersion): Readiness {
  if (src.inProcess(mv)) return { ready: true };
  const endpoint = mv.placement.endpoint;
  if (!src.remote || !endpoint) {
    return {
      ready: false,
      reason: `this process has no SageMaker client for ${endpoint?.name ?? 'its endpoint'}`,
    };
  }
  if (src.remote.breaker(endpoint).state !== 'open') return { ready: true };
  // Not ready even with a fallback: the model itself cannot answer. Its predictions are still
  // answered, by the fallback, and the reason says so.
  const fb = mv.placement.fallback;
  if (fb) {
    return {
      ready: false,
      reason: `endpoint ${endpoint.name}'s circuit is open; ${fb.model} answers its predictions in its place`,
    };
  }
  return {
    ready: false,
    reason: `endpoint ${endpoint.name}'s circuit is open and no fallback is configured`,
  };
}

/** Lists the live versions that cannot answer, and why; ready when there are none. */
export function serverReadiness(src: ReadinessSource): ServerReadiness {
  if (!src.ready) return { ready: false, reason: LOADING, models: [] };
  const models = src.registry.list().flatMap((entry) =>
    entry.policy.live.flatMap(({ version }) => {
      const mv = entry.versions.find((v) => v.version === version);
      if (!mv) return [];
      const { ready, reason } = loadedReadiness(src, mv);
      return reason ? [{ name: mv.name, version: mv.version, ready, reason }] : [];
    }),
  );
  return { ready: models.every((m) => m.ready), models };
}
