import { sep } from 'node:path';
import type { ModelRegistry } from '#core/model/registry.ts';
import { watchTree } from './tree-watcher.ts';

export type AliasReport = (name: string, result: { changed: boolean; problems: string[] }) => void;

/** Editors and atomic renames fire several events for one save: read once they settle. */
const SETTLE_MS = 25;

/**
 * Watches every model's aliases.json and reloads it on change, so `infera release` and
 * `infera rollback` take effect in a running `npm start` at once, for a model added while it runs
 * too (models/ is watched as a tree). Requests already routed keep their version; the swap is one
 * assignment, so none is dropped or sees half a policy. A deployed version is immutable: only
 * npm start sets WATCH_ALIASES. Returns a function that stops watching.
 */
export function watchAliases(registry: ModelRegistry, report: AliasReport): () => void {
  const timers = new Map<string, NodeJS.Timeout>();
  const stop = watchTree(registry.root, 1, (rel) => {
    const [name, leaf, ...deeper] = rel.split(sep);
    if (!name || leaf !== 'aliases.json' || deeper.length > 0) return;
    if (!registry.list().some((e) => e.name === name)) return;
    clearTimeout(timers.get(name));
    timers.set(
      name,
      setTimeout(() => {
        timers.delete(name);
        registry.reloadAliases(name).then(
          (r) => report(name, r),
          (err: unknown) => report(name, { changed: false, problems: [String(err)] }),
        );
      }, SETTLE_MS),
    );
  });
  return () => {
    stop();
    for (const t of timers.values()) clearTimeout(t);
  };
}
