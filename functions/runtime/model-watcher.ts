/**
 * npm start follows models/ while it runs: a model folder added, changed or removed is read again,
 * checked as at start-up (manifest, hashes, fallbacks, the graph against the manifest), and served
 * only once it passes. A folder that fails logs its problems and changes nothing; the other models
 * keep serving. Deployed functions never watch: a version is immutable there.
 */
import { sep } from 'node:path';
import { ModelPackageError, messageOf } from '#core/errors.ts';
import type { ModelChange, ModelRegistry } from '#core/model/registry.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import { watchTree } from './tree-watcher.ts';

/** A folder being copied fires many events: read it once they have been quiet this long. */
const SETTLE_MS = 300;

export type ModelReport = (name: string, change: Pick<ModelChange, 'change' | 'problems'>) => void;

export function watchModels(registry: ModelRegistry, scorer: Scorer, report: ModelReport): () => void {
  const timers = new Map<string, NodeJS.Timeout>();
  const reload = async (name: string) => {
    const before = registry.list().find((e) => e.name === name);
    let r: ModelChange;
    try {
      r = await registry.reloadModel(name);
    } catch (err) {
      report(name, { change: 'unchanged', problems: [messageOf(err)] });
      return;
    }
    const problems = (r.added ?? [])
      .filter((mv) => !scorer.inProcess(mv))
      .map(
        (mv) =>
          `${name} version ${mv.version} runs on SageMaker (${mv.placement.reason}); restart npm start to start its serving container`,
      );
    if (problems.length === 0 && r.added && r.added.length > 0) {
      try {
        await scorer.check(r.added);
      } catch (err) {
        problems.push(...(err instanceof ModelPackageError ? err.details : [messageOf(err)]));
      }
    }
    if (problems.length > 0) {
      registry.restore(name, before);
      report(name, { change: 'unchanged', problems });
      return;
    }
    report(name, { change: r.change, problems: r.problems });
  };
  const stop = watchTree(registry.root, 2, (rel) => {
    const [name, version] = rel.split(sep);
    // A model folder itself, or anything in one of its version folders; not aliases.json or notes.
    if (!name || name.startsWith('.') || name.startsWith('_')) return;
    if (version !== undefined && !/^\d+$/.test(version)) return;
    clearTimeout(timers.get(name));
    timers.set(
      name,
      setTimeout(() => {
        timers.delete(name);
        void reload(name);
      }, SETTLE_MS),
    );
  });
  return () => {
    stop();
    for (const t of timers.values()) clearTimeout(t);
  };
}
