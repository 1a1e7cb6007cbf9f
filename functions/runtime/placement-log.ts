/**
 * What the predict function says once per cold start: where each model version runs and why, the
 * first thing to read when a request lands somewhere surprising.
 */
import type { ModelRegistry } from '#core/model/registry.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import { watchAliases } from './alias-watcher.ts';
import { watchModels } from './model-watcher.ts';
import { logger } from './observability.ts';

/** Above this many versions, a function logs the count per target and each version not run here. */
const PLACEMENTS_LOGGED = 20;

export function logPlacements(registry: ModelRegistry): void {
  const versions = registry.allVersions();
  if (versions.length > PLACEMENTS_LOGGED) {
    const byTarget: Record<string, number> = {};
    for (const mv of versions) byTarget[mv.placement.target] = (byTarget[mv.placement.target] ?? 0) + 1;
    logger.info('routes', { versions: versions.length, ...byTarget, each: 'GET /v1/models/{model}' });
  }
  for (const mv of versions) {
    if (versions.length > PLACEMENTS_LOGGED && mv.placement.target === 'lambda') continue;
    logger.info('route', {
      model: mv.name,
      version: mv.version,
      target: mv.placement.target,
      reason: mv.placement.reason,
      ...(mv.placement.endpoint ? { endpoint: mv.placement.endpoint.name } : {}),
      ...(mv.placement.fallback
        ? { fallback: `${mv.placement.fallback.model}@${mv.placement.fallback.version}` }
        : {}),
    });
  }
}

/**
 * Locally, `infera release/rollback/shadow` rewrite aliases.json, and a model folder may be added,
 * changed or removed: each applies at once, once it passes the start-up checks.
 */
export function followModelsFolder(registry: ModelRegistry, scorer: Scorer): void {
  watchAliases(registry, (model, r) => {
    if (r.problems.length > 0)
      logger.error('aliases.json not applied; the previous traffic policy stays', {
        model,
        problems: r.problems,
      });
    else if (r.changed) logger.info('traffic policy changed', { model, policy: registry.get(model).policy });
  });
  watchModels(registry, scorer, (model, r) => {
    if (r.problems.length > 0)
      logger.error('model folder not applied; the model serves as before', { model, problems: r.problems });
    else if (r.change !== 'unchanged') logger.info(`model ${r.change}`, { model });
  });
}
